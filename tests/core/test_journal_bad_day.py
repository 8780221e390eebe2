"""The journal survives a bad day: a corrupt or locked file never stops the pack (it is set aside
and a fresh journal starts), a write error never aborts a healthy run, an old file is migrated
with its rows, its files are private, and a second ComfyUI sharing the user folder never takes
over a live one's runs."""

from __future__ import annotations

import logging
import socket
import sqlite3
import stat
import subprocess
import sys

import pytest
from floyo_pack.floyo_client import Hooks
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.journal_store import VERSION
from floyo_pack.floyo_client.owner import Owner
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Step

from .conftest import WORKFLOW

# The schema before versioning, verbatim (user_version 0): what existing users have on disk.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    marker TEXT PRIMARY KEY,
    run_id TEXT UNIQUE,
    state TEXT NOT NULL,
    status TEXT,
    name TEXT,
    prompt_id TEXT,
    node_id TEXT,
    workflow_hash TEXT,
    api_url TEXT,
    flotime_ms INTEGER,
    paths TEXT NOT NULL DEFAULT '[]',
    detail TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
"""
LOCKER = ("import sqlite3, sys\n"
          "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
          "db.execute('BEGIN EXCLUSIVE')\n"
          "print('locked', flush=True)\n"
          "sys.stdin.read()\n")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "user" / "floyo" / "runs.sqlite3"


def _begin(journal: Journal, marker: str, run_id: str | None = None) -> None:
    journal.begin(marker, name=f"x [{marker}]", prompt_id="p", node_id="1", api_url="u")
    if run_id:
        journal.created(marker, run_id)


def _aside(path, reason):
    return sorted(p.name for p in path.parent.iterdir()
                  if p.name.startswith(f"{path.name}.{reason}-") and not p.name.endswith(("-wal", "-shm")))


def _journal_errors(caplog):
    return [r for r in caplog.records if r.name.endswith(("journal", "journal_store"))
            and r.levelno >= logging.WARNING]


def test_a_garbage_journal_file_is_set_aside_and_a_fresh_journal_starts(path, caplog):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not a database\xff" * 500)
    journal = Journal(path)
    (aside,) = _aside(path, "corrupt")
    assert (path.parent / aside).read_bytes().startswith(b"\x00garbage")  # kept for the user
    (line,) = _journal_errors(caplog)
    assert "moved it aside" in line.getMessage() and aside in line.getMessage()
    _begin(journal, "m1", "run_fresh")
    assert journal.get("run_fresh").state == "running"


def _locked_by_a_peer(path):
    """A real second SQLite connection, in another process, holding BEGIN EXCLUSIVE on ``path``."""
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline().strip() == "locked"
    return locker


def _release(locker) -> None:
    locker.stdin.close()
    locker.wait(10)


def test_a_journal_a_live_peer_keeps_locked_is_left_in_place_and_not_written_until_restart(path, caplog):
    peer = Journal(path, owner=_other_live_owner())  # another ComfyUI sharing the folder, mid-run
    _begin(peer, "m_peer", "run_peer")
    locker = _locked_by_a_peer(path)
    try:
        journal = Journal(path, open_timeout_s=0.5)
        assert journal.recording is False and "locked by another program" in journal.health()["problem"]
        assert journal.take_over() == ([], [])  # the peer's rows are not ours to take
        _begin(journal, "m_while_locked", "run_while_locked")
    finally:
        _release(locker)
    assert _aside(path, "locked") == [] and _aside(path, "corrupt") == []  # the live file stays put
    (line,) = _journal_errors(caplog)
    assert "records no runs in it until it restarts" in line.getMessage()
    assert "left as it is" in line.getMessage()
    peer.saved("run_peer", ["/out.png"])  # the peer goes on writing into the same file
    _begin(journal, "m_after", "run_after")  # the lock is gone, but this process stays hands off
    restarted = Journal(path)
    assert restarted.recording is True and restarted.health() == {"recording": True, "problem": None}
    assert {r.marker: r.state for r in restarted.list()} == {"m_peer": "saved"}


def test_only_an_unreadable_journal_is_set_aside_not_one_that_fails_otherwise(path, caplog):
    path.mkdir(parents=True)  # SQLite cannot open it ("unable to open"), yet it is not corrupt
    journal = Journal(path)
    assert path.is_dir() and _aside(path, "corrupt") == []
    assert journal.recording is True  # not a peer's lock: writes are tried (and logged) as before
    assert any("no run journal this session" in r.getMessage() for r in _journal_errors(caplog))


def test_an_unversioned_journal_is_migrated_keeping_its_rows(path):
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO runs (marker, run_id, state, status, created_at, updated_at, paths) "
                   "VALUES ('m_saved', 'run_saved', 'saved', 'done', 1, 1, '[\"/a.png\"]'), "
                   "('m_live', 'run_live', 'running', 'processing', 2, 2, '[]')")
    db.close()
    journal = Journal(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    db.close()
    assert {"owner_host", "owner_pid", "owner_started"} <= columns
    assert journal.get("run_saved").paths == ("/a.png",)
    assert [r.run_id for r in journal.recover()] == ["run_live"]  # rows without owner: resumable
    assert journal.get("run_live").owner.pid == journal.owner.pid  # ... and now ours
    Journal(path)  # opening again at the current version changes nothing
    assert {r.marker for r in journal.list()} == {"m_saved", "m_live"}


def test_journal_files_are_private_in_a_private_folder(path):
    path.parent.mkdir(parents=True, mode=0o755)
    path.write_bytes(b"")
    path.chmod(0o644)  # as an older version left it
    journal = Journal(path)
    reader = sqlite3.connect(path)  # keeps the -wal and -shm files in place while it is open
    try:
        reader.execute("SELECT count(*) FROM runs").fetchone()
        _begin(journal, "m1", "run_one")
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        files = [p for p in path.parent.iterdir() if p.name.startswith("runs.sqlite3")]
        assert {p.name for p in files} == {"runs.sqlite3", "runs.sqlite3-wal", "runs.sqlite3-shm"}
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
    finally:
        reader.close()


def _other_live_owner() -> Owner:
    """A ComfyUI on this host that is still running (here: the parent of this test process)."""
    import os

    from floyo_pack.floyo_client.owner import _start_time

    return Owner(socket.gethostname(), os.getppid(), _start_time(os.getppid()))


def test_a_second_comfyui_sharing_the_folder_leaves_a_live_ones_runs_alone(path):
    first = Journal(path, owner=_other_live_owner())
    _begin(first, "m_creating")
    _begin(first, "m_running", "run_running")
    _begin(first, "m_unknown")
    first.create_unknown("m_unknown", "no answer")
    second = Journal(path)
    assert second.recover() == [] and second.unknown_runs() == []
    rows = {r.marker: r for r in second.list()}
    assert {m: r.state for m, r in rows.items()} == {
        "m_creating": "creating", "m_running": "running", "m_unknown": "unknown"}
    assert {r.owner.pid for r in rows.values()} == {first.owner.pid}


def test_runs_of_a_comfyui_that_is_gone_are_taken_over_once(path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = Owner(socket.gethostname(), child.pid, "12345")
    reused = Owner(socket.gethostname(), Owner.current().pid, "not-this-start")  # pid reused since
    for owner, n in ((gone, 1), (reused, 2)):
        before = Journal(path, owner=owner)
        _begin(before, f"m_run{n}", f"run_{n}")
        _begin(before, f"m_lost{n}")
    me = Journal(path)
    assert sorted(r.run_id for r in me.recover()) == ["run_1", "run_2"]
    assert sorted(r.marker for r in me.unknown_runs()) == ["m_lost1", "m_lost2"]
    assert Journal(path, owner=gone).recover() == []  # we are alive: nobody takes them from us


async def _tracked(client, journal, fake_time, on_created):
    async def finish(handle, run):
        journal.saved(run.id, ["/out.png"])
        return run.status

    hooks = Hooks(sleep=fake_time.sleep, clock=fake_time.clock)
    return await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="j", node_id="5"),
                             hooks=hooks, limits=None, finish=finish, on_created=on_created)


async def test_a_journal_locked_mid_run_never_aborts_a_healthy_run(floyo, client, path, fake_time, caplog):
    floyo.scenario.steps = [Step("queued", polls=1), Step("processing", polls=3), Step("done")]
    journal = Journal(path, write_timeout_s=0.3)
    blocker = sqlite3.connect(path, isolation_level=None)
    lock = lambda handle: blocker.execute("BEGIN IMMEDIATE")  # noqa: E731 — another writer, stuck
    try:
        assert await _tracked(client, journal, fake_time, lock) == "done"
    finally:
        blocker.close()
    assert len(_journal_errors(caplog)) == 1, "logged once, not for every failed write"
    assert journal.get(floyo.last_run.id).state == "running"  # lost updates, nothing worse
    journal.saved(floyo.last_run.id, ["/out.png"])  # writes work again once the lock is gone
    assert journal.get(floyo.last_run.id).state == "saved"


async def test_a_journal_corrupted_mid_run_never_aborts_a_healthy_run(floyo, client, path, fake_time, caplog):
    floyo.scenario.steps = [Step("queued", polls=1), Step("processing", polls=3), Step("done")]
    journal = Journal(path)

    def corrupt(handle):
        with open(path, "r+b") as f:
            f.write(b"\xde\xad" * 2048)

    assert await _tracked(client, journal, fake_time, corrupt) == "done"
    assert len(_journal_errors(caplog)) == 1
