"""Reuse returns only what was paid for, and only to whoever paid: the journal keeps each saved
file's size and sha256 and the team (a digest of the key, never the key) whose key created the
run; a file changed on disk is not the run's result, another team's key never finds the run, and
journals from before this migrate keeping their rows, which are then never reused."""

from __future__ import annotations

import sqlite3

from floyo_pack.floyo_client import Config, Journal, fingerprint, intact
from floyo_pack.floyo_client.journal_store import MIGRATIONS, SCHEMA_V0, VERSION

from .conftest import KEY


def _saved(journal: Journal, team: str, paths: list) -> None:
    journal.begin("m1", name="n [m1]", prompt_id="p", node_id="7", api_url="https://api", resolved_hash="h1",
                  team=team)
    journal.created("m1", "run_paid")
    journal.saved("run_paid", fingerprint(paths))


def test_another_teams_key_never_finds_the_first_teams_run_and_the_key_is_never_stored(tmp_path):
    journal = Journal(tmp_path / "floyo" / "runs.sqlite3")
    ours, theirs = Config(api_key=KEY).team, Config(api_key="flo_another_team_key").team
    out = tmp_path / "a.png"
    out.write_bytes(b"paid pixels")
    _saved(journal, ours, [out])
    assert journal.reusable("h1", "https://api", ours).run_id == "run_paid"
    assert journal.reusable("h1", "https://api", theirs) is None
    assert KEY not in ours and KEY.encode() not in journal.path.read_bytes()


def test_an_edited_truncated_replaced_or_missing_saved_file_is_not_the_runs_result(tmp_path):
    journal = Journal(tmp_path / "floyo" / "runs.sqlite3")
    files = [tmp_path / f"{n}.png" for n in "abcd"]
    for f in files:
        f.write_bytes(b"the paid bytes of " + f.name.encode())
    _saved(journal, "t", files)
    record = journal.get("run_paid")
    assert [f.size for f in record.files] == [f.stat().st_size for f in files]
    assert intact(record.paths, record.files)
    edits = {"a": lambda f: f.write_bytes(f.read_bytes().replace(b"paid", b"PAID")),  # same size
             "b": lambda f: f.write_bytes(f.read_bytes()[:5]),
             "c": lambda f: f.write_bytes(b"something else entirely"),
             "d": lambda f: f.unlink()}
    for f in files:
        original = f.read_bytes()
        edits[f.stem](f)
        assert not intact(record.paths, record.files), f"{f.name} changed yet served"
        f.write_bytes(original)
    assert intact(record.paths, record.files)


def test_a_file_saved_without_its_size_and_sha256_is_never_served_as_intact(tmp_path):
    journal = Journal(tmp_path / "floyo" / "runs.sqlite3")
    out = tmp_path / "a.png"
    out.write_bytes(b"pixels")
    journal.begin("m1", name="n", prompt_id="p", node_id="7", api_url="https://api", team="t")
    journal.created("m1", "run_paid")
    journal.saved("run_paid", [str(out)])  # paths only: what the run was cannot be checked
    record = journal.get("run_paid")
    assert record.files is None and not intact(record.paths, record.files)


def test_a_version_4_journal_migrates_keeping_its_rows_which_are_then_never_reused(tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_V0)
        for step in MIGRATIONS[:4]:
            for statement in step:
                db.execute(statement)
        db.execute("PRAGMA user_version = 4")
        db.execute("INSERT INTO runs (marker, run_id, state, api_url, paths, created_at, updated_at,"
                   " resolved_hash, cancel_result) VALUES ('m1', 'run_old', 'saved', 'https://api',"
                   " '[\"/o/a.png\"]', 1.0, 2.0, 'h1', NULL)")
    db.close()
    journal = Journal(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION >= 5
    db.close()
    record = journal.get("run_old")
    assert (record.paths, record.resolved_hash, record.team, record.files) == (
        ("/o/a.png",), "h1", None, None)
    assert journal.reusable("h1", "https://api", Config(api_key=KEY).team) is None, "who paid is unknown"
    assert journal.known_upload("t", "https://cdn", "/comfyui") is None  # the uploads table exists
