"""The journal's states and the moves between them: the one place a run's lifecycle is written down.

``Journal`` moves a row only along ``MOVES`` (checked inside the write, so two writers cannot race
past it); any other move is refused and logged, never written. A move to the state a row is
already in is allowed (it updates the row's details). Pure data: no I/O, no SQL.
"""

from __future__ import annotations

# creating: row written, create not answered yet (a crash here leaves it 'unknown' at next start)
# unknown: the create may have reached Floyo; look for the marker by hand — never resubmitted
# not_created: Floyo provably has no such run
# running: Floyo has the run; we are (or were) watching it
# succeeded: finished successfully, outputs not saved yet
# saved: outputs saved locally (paths); failed / cancelled: terminal, nothing to save
STATES = ("creating", "unknown", "not_created", "running", "succeeded", "saved", "failed", "cancelled")
FIRST = "creating"
MOVES: dict[str, frozenset[str]] = {
    "creating": frozenset({"running", "unknown", "not_created"}),
    "unknown": frozenset({"running"}),  # found by its marker
    "running": frozenset({"succeeded", "saved", "failed", "cancelled"}),
    # a watch given up before its outputs were saved, with a cancel that could not be confirmed
    "succeeded": frozenset({"saved", "running", "failed", "cancelled"}),
    "saved": frozenset(),  # final: a later failure never overwrites saved files
    "not_created": frozenset(), "failed": frozenset(), "cancelled": frozenset(),
}
RESUMABLE = ("running", "succeeded")


def allowed(current: str, target: str) -> bool:
    return current == target or target in MOVES.get(current, frozenset())


def sources(target: str) -> tuple[str, ...]:
    """The states a row may be in to move to ``target`` (itself included)."""
    return tuple(s for s in STATES if allowed(s, target))
