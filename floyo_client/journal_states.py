"""The journal's states and the moves between them: the one place a run's lifecycle is written down.

``JournalState`` names every state a run's row can be in; its values are the words stored in the
journal's ``state`` column (journals already on disk keep them, so they never change). ``Journal``
moves a row only along ``MOVES`` (checked inside the write, so two writers cannot race past it);
any other move is refused and logged, never written. A move to the state a row is already in is
allowed (it updates the row's details). Pure data: no I/O, no SQL.
"""

from __future__ import annotations

import enum


class JournalState(str, enum.Enum):
    """A run's state in the journal (the ``str`` values are stored as they are)."""

    CREATING = "creating"  # row written, create not answered yet (a crash: 'unknown' at next start)
    UNKNOWN = "unknown"  # the create may have reached Floyo; look for the marker — never resubmitted
    NOT_CREATED = "not_created"  # Floyo provably has no such run
    RUNNING = "running"  # Floyo has the run; we are (or were) watching it
    SUCCEEDED = "succeeded"  # finished successfully, outputs not saved yet
    SAVED = "saved"  # outputs saved locally (paths)
    FAILED = "failed"  # terminal, nothing to save
    CANCELLED = "cancelled"  # terminal, nothing to save

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: object) -> JournalState | None:
        """The state a stored word names; None for a word this version does not know."""
        try:
            return cls(text)
        except ValueError:
            return None


S = JournalState
STATES = tuple(JournalState)
FIRST = S.CREATING
MOVES: dict[JournalState, frozenset[JournalState]] = {
    S.CREATING: frozenset({S.RUNNING, S.UNKNOWN, S.NOT_CREATED}),
    S.UNKNOWN: frozenset({S.RUNNING}),  # found by its marker
    S.RUNNING: frozenset({S.SUCCEEDED, S.SAVED, S.FAILED, S.CANCELLED}),
    # a watch given up before its outputs were saved, with a cancel that could not be confirmed
    S.SUCCEEDED: frozenset({S.SAVED, S.RUNNING, S.FAILED, S.CANCELLED}),
    S.SAVED: frozenset(),  # final: a later failure never overwrites saved files
    S.NOT_CREATED: frozenset(), S.FAILED: frozenset(), S.CANCELLED: frozenset(),
}
RESUMABLE = (S.RUNNING, S.SUCCEEDED)
TAKEN_OVER = (S.CREATING, S.UNKNOWN, S.RUNNING, S.SUCCEEDED)  # rows a gone owner's successor takes


def allowed(current: JournalState | str, target: JournalState | str) -> bool:
    return current == target or target in MOVES.get(JournalState(current), frozenset())


def sources(target: JournalState) -> tuple[str, ...]:
    """The stored words of the states a row may be in to move to ``target`` (itself included)."""
    return tuple(s.value for s in STATES if allowed(s, target))
