"""The journal keeps only columns the pack reads: a version-1 journal on disk (with the
never-read ``workflow_hash`` column) migrates to the current schema keeping every row and field."""

from __future__ import annotations

import sqlite3

from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.journal_store import MIGRATIONS, SCHEMA_V0, VERSION
from floyo_pack.floyo_client.owner import Owner


def _columns(path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    finally:
        db.close()


def test_a_fresh_journal_has_no_workflow_hash_column(tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    Journal(path)
    assert "workflow_hash" not in _columns(path) and {"owner_pid", "paths", "api_url"} <= _columns(path)


def test_a_version_1_journal_drops_workflow_hash_and_keeps_every_row(tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_V0)
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO runs (marker, run_id, state, status, name, prompt_id, node_id, workflow_hash,"
                   " api_url, flotime_ms, paths, detail, created_at, updated_at, owner_host, owner_pid,"
                   " owner_started) VALUES ('m1', 'run_kept1', 'saved', 'done', 'n [m1]', 'p1', '7', 'h',"
                   " 'https://api', 1500, '[\"/o/a.png\"]', 'fine', 10.0, 11.0, 'host', 42, 'x')")
    db.close()
    journal = Journal(path)
    assert "workflow_hash" not in _columns(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION >= 2
    assert ("runs_state",) in db.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()
    db.close()
    expected = {"marker": "m1", "state": "saved", "status": "done", "name": "n [m1]", "prompt_id": "p1",
                "node_id": "7", "api_url": "https://api", "flotime_ms": 1500, "paths": ("/o/a.png",),
                "detail": "fine", "created_at": 10.0, "owner": Owner("host", 42, "x")}
    record = journal.get("run_kept1")
    assert {k: getattr(record, k) for k in expected} == expected
