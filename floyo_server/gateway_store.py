"""The gateway's state in SQLite (``<state dir>/gateway.sqlite3``, or in memory without one): its
runs with their owner (``access.owner_of`` their key: never the key itself) and worker prompt id,
the files of each run and each upload with their owner,
and the secret that signs presigned links, so all of it survives a restart.

Rows only: no HTTP, no worker calls. File bytes are never stored here (they stay on the worker).
One connection behind one lock; each call is one short transaction.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..floyo_client import Phase
from .gateway_runs import GatewayRun, StoredFile
from .wire import RunError

DB_NAME = "gateway.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL,
  prompt_id TEXT, phase TEXT NOT NULL, error TEXT, flotime_ms INTEGER, cancel_requested INTEGER NOT NULL,
  requested_at TEXT NOT NULL, finished_at TEXT, outputs_saved INTEGER NOT NULL, titles TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, run_id TEXT, file_name TEXT NOT NULL, mime_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL, input_path TEXT NOT NULL, filename TEXT NOT NULL, subfolder TEXT NOT NULL,
  kind TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_run ON files(run_id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
_FILE_COLUMNS = ("id", "owner", "run_id", "file_name", "mime_type", "size_bytes", "input_path", "filename",
                 "subfolder", "kind", "created_at")
_SAVE_RUN = """
INSERT INTO runs (id, owner, name, prompt_id, phase, error, flotime_ms, cancel_requested, requested_at,
                  finished_at, outputs_saved, titles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET phase=excluded.phase, error=excluded.error, flotime_ms=excluded.flotime_ms,
  cancel_requested=max(runs.cancel_requested, excluded.cancel_requested), finished_at=excluded.finished_at,
  outputs_saved=excluded.outputs_saved
WHERE runs.phase NOT IN ('succeeded', 'failed', 'cancelled')"""
_ADD_FILE = """
INSERT INTO files (id, owner, run_id, file_name, mime_type, size_bytes, input_path, filename, subfolder,
                   kind, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_LIVE_RUNS = "SELECT * FROM runs WHERE phase NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY seq"


def _run_row(run: GatewayRun) -> tuple[Any, ...]:
    error = json.dumps([run.error.type, run.error.message, run.error.node_id]) if run.error else None
    return (run.id, run.owner, run.name, run.prompt_id, run.phase.value, error, run.flotime_ms,
            int(run.cancel_requested), run.requested_at, run.finished_at, int(run.outputs_saved),
            json.dumps(run.titles))


def _run_of(row: sqlite3.Row) -> GatewayRun:
    error = RunError(*json.loads(row["error"])) if row["error"] else None
    return GatewayRun(id=row["id"], name=row["name"], owner=row["owner"], prompt_id=row["prompt_id"],
                      phase=Phase(row["phase"]), error=error, flotime_ms=row["flotime_ms"],
                      cancel_requested=bool(row["cancel_requested"]), requested_at=row["requested_at"],
                      finished_at=row["finished_at"], outputs_saved=bool(row["outputs_saved"]),
                      titles=json.loads(row["titles"]))


class GatewayStore:
    """Runs and files of one gateway. ``state_dir`` None keeps them in memory (tests, embedding)."""

    def __init__(self, state_dir: Path | None) -> None:
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = state_dir / DB_NAME
            path.touch(mode=0o600, exist_ok=True)
            os.chmod(path, 0o600)  # it names every team's runs
        self._db = sqlite3.connect(str(state_dir / DB_NAME) if state_dir else ":memory:",
                                   check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def secret(self) -> bytes:
        """The presigned-link secret, made at first use and kept."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('signer', ?)", (secrets.token_bytes(32),))
            return bytes(self._db.execute("SELECT value FROM meta WHERE name='signer'").fetchone()[0])

    def save_run(self, run: GatewayRun) -> None:
        """Insert the run, or write what changed about it. A finished run is never changed again,
        and a cancel once asked for stays asked for (two requests may save one run at once)."""
        self._write(_SAVE_RUN, _run_row(run))

    def run(self, run_id: str, owner: str | None) -> GatewayRun | None:
        """The run if ``owner``'s (any owner's when None)."""
        rows = self._all("SELECT * FROM runs WHERE id=? AND (? IS NULL OR owner=?)", (run_id, owner, owner))
        return _run_of(rows[0]) if rows else None

    def runs_of(self, owner: str, search: str, limit: int) -> tuple[list[GatewayRun], bool]:
        """The owner's runs whose name contains ``search``, newest first, and whether there are more."""
        rows = self._all("SELECT * FROM runs WHERE owner=? AND instr(lower(name), ?) > 0 "
                         "ORDER BY seq DESC LIMIT ?", (owner, search.lower(), limit + 1))
        return [_run_of(r) for r in rows[:limit]], len(rows) > limit

    def live_runs(self) -> list[GatewayRun]:
        """Every run not yet finished, oldest first."""
        return [_run_of(r) for r in self._all(_LIVE_RUNS)]

    def all_runs(self) -> list[GatewayRun]:
        return [_run_of(r) for r in self._all("SELECT * FROM runs ORDER BY seq")]

    def add_file(self, stored: StoredFile) -> StoredFile:
        values = asdict(stored)
        self._write(_ADD_FILE, tuple(values[c] for c in _FILE_COLUMNS))
        return stored

    def file(self, file_id: str, owner: str | None) -> StoredFile | None:
        """The file if ``owner``'s (any owner's when None: a presigned link was checked instead)."""
        rows = self._all("SELECT * FROM files WHERE id=? AND (? IS NULL OR owner=?)",
                         (file_id, owner, owner))
        return StoredFile(**dict(rows[0])) if rows else None

    def run_files(self, run_id: str) -> list[StoredFile]:
        return [StoredFile(**dict(r)) for r in self._all("SELECT * FROM files WHERE run_id=? ORDER BY rowid",
                                                        (run_id,))]
