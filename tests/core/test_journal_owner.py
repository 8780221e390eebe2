"""Owner identity survives a new host name: journal rows belong to this installation's instance id
(kept in the journal's folder, ``FLOYO_INSTANCE_ID`` overriding it), so a container re-created
under a new host name still resumes, reconciles and cancels its own runs; another installation's
rows on another host are still left alone, and rows from before instance ids, written under this
host name, are still ours."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys

import pytest
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.floyo_client.journal_store import MIGRATIONS, SCHEMA_V0, VERSION
from floyo_pack.floyo_client.owner import ENV_INSTANCE_ID, Owner, _start_time


@pytest.fixture
def path(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_INSTANCE_ID, raising=False)
    return tmp_path / "user" / "floyo" / "runs.sqlite3"


def _live_pid() -> tuple[int, str | None]:
    """A process that is running on this host (this test's parent): its pid must not matter when
    the row's host is another one, because pids of another host (container) say nothing here."""
    return os.getppid(), _start_time(os.getppid())


def _rows_of(owner: Owner, path, tag: str) -> None:
    """An old process's rows: a run being watched, a create never answered, a run given up on."""
    old = Journal(path, owner=owner)
    for kind in ("running", "creating", "gave_up"):
        marker = f"m_{tag}_{kind}"
        old.begin(marker, name=f"x [{marker}]", prompt_id="p", node_id="1", api_url="u")
        if kind != "creating":
            old.created(marker, f"run_{tag}_{kind}")
    old.status(f"run_{tag}_gave_up", GAVE_UP, None)


def test_runs_of_this_installation_under_a_new_host_name_are_resumed_and_given_up_ones_cancelled(path):
    first = Journal(path)
    instance = first.owner.instance
    kept = path.parent / "instance_id"
    assert instance and kept.read_text().strip() == instance
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    pid, started = _live_pid()
    _rows_of(Owner("container-0ld", pid, started, instance), path, "ours")  # before the re-creation
    _rows_of(Owner("another-box", pid, started, "someone-else"), path, "theirs")  # a shared folder
    me = Journal(path)  # the re-created container: same user folder, new host name
    assert me.owner.instance == instance and me.owner.host == socket.gethostname() != "container-0ld"
    resume, unknown = me.take_over()
    assert sorted(r.run_id for r in resume) == ["run_ours_gave_up", "run_ours_running"]
    assert [r.status for r in resume if r.run_id == "run_ours_gave_up"] == [GAVE_UP]  # cancelled
    assert [r.marker for r in unknown] == ["m_ours_creating"]
    assert [r.marker for r in me.unknown_runs()] == ["m_ours_creating"]  # reconciled by us
    theirs = {r.marker: r for r in me.list() if "theirs" in r.marker}
    assert {r.owner.host for r in theirs.values()} == {"another-box"}  # left alone
    assert theirs["m_theirs_creating"].state == "creating"


def test_floyo_instance_id_overrides_the_stored_instance_id(path, monkeypatch):
    monkeypatch.setenv(ENV_INSTANCE_ID, "render-box-7")
    pid, started = _live_pid()
    _rows_of(Owner("render-box-7-old-pod", pid, started, "render-box-7"), path, "ours")
    me = Journal(path)
    assert me.owner.instance == "render-box-7"
    assert not (path.parent / "instance_id").exists()
    assert sorted(r.run_id for r in me.recover()) == ["run_ours_gave_up", "run_ours_running"]
    assert {r.owner.instance for r in me.list()} == {"render-box-7"}


def _version_4_journal(path, rows: list[tuple[str, str, int, str | None]]) -> None:
    """A journal as the pack wrote it before instance ids (schema 4): rows owned by host and pid."""
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_V0)
        for step in MIGRATIONS[:4]:
            for statement in step:
                db.execute(statement)
        db.execute("PRAGMA user_version = 4")
        for marker, host, pid, started in rows:
            db.execute("INSERT INTO runs (marker, run_id, state, created_at, updated_at, owner_host,"
                       " owner_pid, owner_started) VALUES (?, ?, 'running', 1, 1, ?, ?, ?)",
                       (marker, f"run_{marker}", host, pid, started))
    db.close()


def test_a_journal_from_before_instance_ids_keeps_this_hosts_rows_ours(path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    here, (pid, started) = socket.gethostname(), _live_pid()
    _version_4_journal(path, [("gone_here", here, child.pid, "1"), ("live_here", here, pid, started),
                              ("elsewhere", "another-box", child.pid, "1")])
    me = Journal(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert "owner_instance" in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    finally:
        db.close()
    assert [r.run_id for r in me.recover()] == ["run_gone_here"]  # this host's, its process gone
    assert me.get("run_gone_here").owner.instance == me.owner.instance  # ... and now ours
    assert me.get("run_live_here").owner.pid == pid  # a live ComfyUI on this host keeps its run
    assert me.get("run_elsewhere").owner.host == "another-box"  # another host, no instance: unknown
