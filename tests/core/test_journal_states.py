"""The journal moves a run only along its lifecycle (floyo_client/journal_states.py): every legal
path lands, and a move the lifecycle does not have is refused, logged, and leaves the row as it was."""

from __future__ import annotations

import logging

import pytest
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.floyo_client.journal_states import MOVES, STATES, allowed
from floyo_pack.floyo_client.outcome import CancelOutcome, CancelResult


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "floyo" / "runs.sqlite3")


def _begin(journal: Journal, marker: str) -> None:
    journal.begin(marker, name=f"n [{marker}]", prompt_id="p", node_id="5", api_url="https://api")


def _state(journal: Journal, marker: str) -> str:
    return next(r.state for r in journal.list() if r.marker == marker)


def test_the_lifecycle_table_names_every_state_and_only_known_ones():
    assert set(MOVES) == set(STATES)
    assert all(targets <= set(STATES) for targets in MOVES.values())
    assert not MOVES["saved"] and not MOVES["not_created"], "final states have no way out"


def test_every_legal_path_of_a_run_lands_in_the_journal(journal, caplog):
    paths = {
        "m-saved": ["running", "succeeded", "saved"],
        "m-failed": ["running", "failed"],
        "m-lost-found": ["unknown", "unknown", "running", "cancelled"],  # unknown, given up, found
        "m-refused": ["not_created"],
        "m-unconfirmed": ["running", "running", "saved"],  # a cancel not confirmed, resumed later
    }
    with caplog.at_level(logging.WARNING):
        for marker, states in paths.items():
            _begin(journal, marker)
            assert _state(journal, marker) == "creating"
            run_id = f"run_{marker[2:].replace('-', '')}"
            for state in states:
                _step(journal, marker, run_id, state)
                assert _state(journal, marker) == state, (marker, state)
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def _step(journal: Journal, marker: str, run_id: str, state: str) -> None:
    current = _state(journal, marker)
    if state == "running" and current in ("creating", "unknown", "not_created"):  # by marker
        journal.created(marker, run_id)
    elif state == "unknown":
        (journal.create_unknown if current == "creating" else journal.gave_up)(marker, "no answer")
    elif state == "not_created":
        journal.not_created(marker, "refused")
    elif state == "saved":
        journal.saved(run_id, ["/out/a.png"])
    else:
        journal.finished(run_id, state, "detail", CancelOutcome(CancelResult.UNCONFIRMED))


@pytest.mark.parametrize(("path", "illegal"), [
    (["not_created"], "running"),  # a create Floyo refused never becomes a run
    (["running", "failed"], "succeeded"),  # terminal
    (["running", "cancelled"], "running"),
    (["unknown"], "not_created"),  # a create that may have reached Floyo is never declared unsent
])
def test_a_move_outside_the_lifecycle_is_refused_logged_and_not_written(journal, caplog, path, illegal):
    _begin(journal, "m1")
    for state in path:
        _step(journal, "m1", "run_1", state)
    before = journal.list()[0]
    assert not allowed(before.state, illegal)
    with caplog.at_level(logging.WARNING):
        _step(journal, "m1", "run_1", illegal)
    assert journal.list()[0] == before
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert f"from {before.state} to {illegal}" in record.getMessage()


def test_saved_stays_saved_quietly_when_a_later_step_fails(journal, caplog):
    _begin(journal, "m1")
    journal.created("m1", "run_1")
    journal.saved("run_1", ["/out/a.png"])
    with caplog.at_level(logging.WARNING):
        journal.finished("run_1", "succeeded", "decoding failed after saving")
    row = journal.get("run_1")
    assert row.state == "saved" and row.paths == ("/out/a.png",) and row.detail is None
    assert not caplog.records


def test_given_up_status_is_kept_on_an_unknown_row(journal):
    _begin(journal, "m1")
    journal.gave_up("m1", "stopped while in flight")
    (row,) = journal.list()
    assert row.state == "unknown" and row.status == GAVE_UP


def test_every_state_write_goes_through_the_state_table_the_take_over_included():
    """No SQL in the journal sets a state itself: only ``_moved`` does, checking the move."""
    import ast
    import re
    from pathlib import Path

    from floyo_pack.floyo_client import journal as module

    tree = ast.parse(Path(module.__file__).read_text())
    raw = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
           and re.search(r"UPDATE\s+runs\s+SET\b.*\bstate\s*=", n.value, re.IGNORECASE | re.DOTALL)]
    assert raw == [], f"journal.py sets a state outside the state table at line(s) {raw}"

