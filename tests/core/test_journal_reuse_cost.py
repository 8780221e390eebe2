"""The journal records, for every run, the hash of the workflow it sent, where its outputs were
saved and what it cost (FloTime and partner-API cost), and answers reuse and totals from them; a
version-2 journal on disk migrates keeping its rows."""

from __future__ import annotations

import sqlite3
import time

from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.journal_store import MIGRATIONS, SCHEMA_V0, VERSION

TEAM = "team-digest"


def _journal(tmp_path) -> Journal:
    return Journal(tmp_path / "floyo" / "runs.sqlite3")


def _saved_run(journal: Journal, marker: str, run_id: str, digest: str, api: str = "https://api") -> None:
    journal.begin(marker, name=f"n [{marker}]", prompt_id="p", node_id="7", api_url=api, resolved_hash=digest,
                  team=TEAM)
    journal.created(marker, run_id)
    journal.saved(run_id, [f"/out/{run_id}/a.png"])


def test_a_saved_run_is_found_by_the_hash_of_its_resolved_workflow(tmp_path):
    journal = _journal(tmp_path)
    _saved_run(journal, "m1", "run_aaa", "h1")
    _saved_run(journal, "m2", "run_bbb", "h2")
    found = journal.reusable("h1", "https://api", TEAM)
    assert found.run_id == "run_aaa" and found.paths == ("/out/run_aaa/a.png",)
    assert journal.reusable("h3", "https://api", TEAM) is None
    assert journal.reusable("h1", "https://other-floyo", TEAM) is None, "another Floyo has other runs"


def test_only_saved_runs_are_reused_and_a_forgotten_one_never_again(tmp_path):
    journal = _journal(tmp_path)
    journal.begin("m1", name="n", prompt_id="p", node_id="7", api_url="https://api", resolved_hash="h1",
                  team=TEAM)
    journal.created("m1", "run_live")
    assert journal.reusable("h1", "https://api", TEAM) is None, "still running: nothing to reuse"
    journal.finished("run_live", "failed", "boom")
    assert journal.reusable("h1", "https://api", TEAM) is None
    _saved_run(journal, "m2", "run_ok", "h1")
    journal.forget_reuse("run_ok")
    assert journal.reusable("h1", "https://api", TEAM) is None


def test_reuse_survives_reopening_the_journal(tmp_path):
    _saved_run(_journal(tmp_path), "m1", "run_aaa", "h1")
    assert _journal(tmp_path).reusable("h1", "https://api", TEAM).run_id == "run_aaa"


def test_cost_is_kept_and_totalled_for_today_and_the_last_7_days(tmp_path):
    journal = _journal(tmp_path)
    _saved_run(journal, "m1", "run_aaa", "h1")
    journal.cost("run_aaa", 1500, 0.25)
    _saved_run(journal, "m2", "run_bbb", "h2")
    journal.cost("run_bbb", 500, None)
    _saved_run(journal, "m3", "run_old", "h3")
    journal.cost("run_old", 9000, 1.0)
    db = sqlite3.connect(journal.path)
    with db:
        db.execute("UPDATE runs SET created_at = ? WHERE run_id = 'run_old'", (time.time() - 3 * 86400,))
    db.close()
    record = journal.get("run_aaa")
    assert (record.flotime_ms, record.partner_cost_usd) == (1500, 0.25)
    totals = journal.totals()
    assert totals["today"] == {"runs": 2, "flotime_ms": 2000, "partner_cost_usd": 0.25}
    assert totals["last_7_days"] == {"runs": 3, "flotime_ms": 11000, "partner_cost_usd": 1.25}


def test_a_version_2_journal_migrates_to_reuse_and_cost_keeping_its_rows(tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_V0)
        for step in MIGRATIONS[:2]:
            for statement in step:
                db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO runs (marker, run_id, state, api_url, flotime_ms, paths, created_at,"
                   " updated_at) VALUES ('m1', 'run_kept', 'saved', 'https://api', 700, '[]', 1.0, 2.0)")
    db.close()
    journal = Journal(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION >= 3
    db.close()
    record = journal.get("run_kept")
    assert record.flotime_ms == 700
    assert record.resolved_hash is None and record.partner_cost_usd is None
