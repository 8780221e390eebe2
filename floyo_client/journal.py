"""The run journal: one SQLite row per run, written before the create request leaves.

It is how the pack keeps its promises across crashes: a run whose create got no answer is
shown as "unknown" with its marker (never resubmitted), a run left in flight by a restart is
watched and its outputs saved, and saved outputs are served again without a second download.
Safe for concurrent writers (node thread, server thread, resume thread): every call opens its
own short-lived connection. Must not store the API key or presigned URLs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
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
# creating: row written, create not answered yet (a crash here leaves it 'unknown' at next start)
# unknown: the create may have reached Floyo; look for the marker by hand — never resubmitted
# not_created: Floyo provably has no such run
# running: Floyo has the run; we are (or were) watching it
# succeeded: finished successfully, outputs not saved yet
# saved: outputs saved locally (paths); failed / cancelled: terminal, nothing to save
STATES = ("creating", "unknown", "not_created", "running", "succeeded", "saved", "failed", "cancelled")
RESUMABLE = ("running", "succeeded")


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=15.0)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            with db:
                yield db
        finally:
            db.close()

    def _update(self, where: str, key: str, **fields: Any) -> None:
        fields["updated_at"] = time.time()
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self._db() as db:
            db.execute(f"UPDATE runs SET {sets} WHERE {where} = ?", [*fields.values(), key])  # noqa: S608

    def begin(self, marker: str, *, name: str, prompt_id: str | None, node_id: str | None,
              workflow_hash: str, api_url: str) -> None:
        """Record a run about to be created (before the request leaves)."""
        now = time.time()
        with self._db() as db:
            db.execute("INSERT INTO runs (marker, state, name, prompt_id, node_id, workflow_hash, api_url,"
                       " created_at, updated_at) VALUES (?, 'creating', ?, ?, ?, ?, ?, ?, ?)",
                       (marker, name, prompt_id, node_id, workflow_hash, api_url, now, now))

    def created(self, marker: str, run_id: str) -> None:
        self._update("marker", marker, run_id=run_id, state="running", status="queued")

    def create_unknown(self, marker: str, detail: str) -> None:
        self._update("marker", marker, state="unknown", detail=detail[:1000])

    def not_created(self, marker: str, detail: str) -> None:
        self._update("marker", marker, state="not_created", detail=detail[:1000])

    def status(self, run_id: str, status: str, flotime_ms: int | None) -> None:
        self._update("run_id", run_id, status=status, flotime_ms=flotime_ms)

    def finished(self, run_id: str, state: str, detail: str | None = None) -> None:
        """Set a final state, unless the outputs were already saved (saved is final)."""
        with self._db() as db:
            db.execute("UPDATE runs SET state = ?, detail = ?, updated_at = ? WHERE run_id = ? "
                       "AND state != 'saved'", (state, (detail or "")[:1000] or None, time.time(), run_id))

    def saved(self, run_id: str, paths: list[str]) -> None:
        self._update("run_id", run_id, state="saved", paths=json.dumps(paths))

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _as_dict(row) if row else None

    def list(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [_as_dict(r) for r in rows]

    def recover(self) -> list[dict[str, Any]]:
        """At start: creates that never got an answer become 'unknown'; returns runs to resume."""
        with self._db() as db:
            db.execute("UPDATE runs SET state = 'unknown', updated_at = ?, detail = ? "
                       "WHERE state = 'creating'",
                       (time.time(), "ComfyUI stopped before Floyo answered the create request."))
            rows = db.execute("SELECT * FROM runs WHERE state IN (?, ?) AND run_id IS NOT NULL",
                              RESUMABLE).fetchall()
        return [_as_dict(r) for r in rows]


def _as_dict(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["paths"] = json.loads(record.get("paths") or "[]")
    if record["state"] == "unknown":
        record["hint"] = f"unknown — check Floyo for a run named with marker {record['marker']}"
    return record
