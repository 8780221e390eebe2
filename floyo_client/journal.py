"""The run journal: one SQLite row per run, written before the create request leaves.

It is how the pack keeps its promises across crashes: a run whose create got no answer is
shown as "unknown" with its marker (never resubmitted), a run left in flight by a restart is
watched and its outputs saved, and saved outputs are served again without a second download.
Safe for concurrent writers (node thread, server thread, resume thread, other ComfyUIs sharing
the user folder): every call opens its own short-lived connection, and each row names its owner
process so one ComfyUI never resumes or reconciles another live one's runs.

A journal problem (a bad file at start, a full disk, a lock held too long) never stops the pack
nor a healthy run: opening sets an unreadable file aside (journal_store.py); a file a live peer
keeps locked at start is left to that peer and this process records nothing in it until it
restarts (``recording`` is False, ``health()`` says why, for the runs tab); a failed write is
logged (at most once a minute) and the run carries on. Rows are owned by an instance id kept in
the journal's folder (owner.py), so a re-created container under a new host name still takes
over its own runs. A row's state changes only along the moves of journal_states.py, every write
of it included (the take-over at start too), and only this module writes the file: the rest of
the pack calls its methods. Rows are read back as ``RunRecord`` (run_record.py), with each saved
file's identity and what Floyo said it is. It also remembers which input files each team already
uploaded (by content). Must not store the API key (only Config.team, a digest of it) or presigned
URLs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .journal_pages import CARD_COLUMNS, PageQuery, page_sql
from .journal_states import FIRST, RESUMABLE, TAKEN_OVER, JournalState, sources
from .journal_store import SCHEMA_V0, JournalLocked, JournalUnavailable, open_store
from .outcome import CancelOutcome
from .owner import Owner, instance_id
from .run_record import GAVE_UP, RunRecord
from .saved_files import SavedFile

log = logging.getLogger(__name__)
SCHEMA = SCHEMA_V0  # the base table; journal_store.MIGRATIONS add to it
__all__ = ["GAVE_UP", "Journal", "JournalState", "RunRecord"]
OPEN_TIMEOUT_S = 5.0  # a lock held longer than this at start: no journal writes until a restart
WRITE_TIMEOUT_S = 5.0  # how long a write waits for another writer's lock
FAILING_TIMEOUT_S = 0.25  # ... once writes are failing: a stuck lock must not stall every poll
WARN_EVERY_S = 60.0


class Journal:
    def __init__(self, path: Path, *, owner: Owner | None = None, open_timeout_s: float = OPEN_TIMEOUT_S,
                 write_timeout_s: float = WRITE_TIMEOUT_S):
        self.path = path
        self.write_timeout_s = write_timeout_s
        self._failing = False
        self._warned_at: float | None = None
        self.recording = True  # False: a peer held the file locked at start; no writes until restart
        self.problem: str | None = None
        try:
            open_store(path, open_timeout_s)
        except JournalLocked as e:
            self._stop_recording(e)
        except JournalUnavailable as e:  # the pack still loads; every write logs the problem
            self._failing = True
            log.error("Floyo: no run journal this session: %s. Runs still work, but are not "
                      "resumed after a restart. Check the folder's permissions and free space.", e)
        self.owner = owner or Owner.current(instance_id(path.parent))

    def _stop_recording(self, cause: JournalLocked) -> None:
        """A live peer (another ComfyUI, a database browser) holds the file: moving it aside would
        make that peer write into a fresh empty file and lose its runs, and writing into it now
        would take over rows without the start-up checks. So this process keeps its hands off."""
        self.recording = False
        self.problem = ("The run journal is locked by another program (another ComfyUI sharing this "
                        "user folder, or a database browser holding a write lock), so this ComfyUI "
                        "records no runs in it until it restarts: runs still work, but runs started "
                        "now are not resumed after a crash, not reused and not shown here. Close the "
                        "other program and restart ComfyUI.")
        log.error("Floyo: %s (%s) The file was left as it is.", self.problem, cause)

    def health(self) -> dict[str, Any]:
        """Whether runs are being recorded, and if not, why (shown by the runs tab)."""
        return {"recording": self.recording, "problem": self.problem}

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        timeout = FAILING_TIMEOUT_S if self._failing or not self.recording else self.write_timeout_s
        db = sqlite3.connect(self.path, timeout=timeout)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def _failed(self, action: str, error: Exception) -> None:
        """Log a journal error at most once a minute; the caller carries on."""
        self._failing = True
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("Floyo: could not %s the run journal %s (%s). Runs carry on, but what "
                        "happens to them may be missing after a restart: check free disk space, the "
                        "file's permissions, or a program holding it open.", action, self.path, error)

    def _write(self, sql: str, params: tuple | list) -> None:
        self._writing(lambda db: db.execute(sql, params))

    def _writing(self, change: Callable[[sqlite3.Connection], object]) -> None:
        """Run ``change`` in one transaction; a failure is logged (``_failed``), never raised."""
        if not self.recording:
            return
        try:
            with self._db() as db:
                change(db)
        except (sqlite3.Error, OSError) as e:
            self._failed("write", e)
        else:
            self._failing = False

    def _read(self, sql: str, params: tuple | list) -> list[sqlite3.Row]:
        try:
            with self._db() as db:
                return db.execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as e:
            self._failed("read", e)
            return []

    def _update(self, where: str, key: str, **fields: Any) -> None:
        """Change a row's details, not its state."""
        fields["updated_at"] = time.time()
        sets = ", ".join(f"{name} = ?" for name in fields)
        self._write(f"UPDATE runs SET {sets} WHERE {where} = ?", [*fields.values(), key])  # noqa: S608

    def _move(self, where: str, key: str, state: JournalState, **fields: Any) -> None:
        """Move a row to ``state`` if journal_states allows it from the state it is in, checked in
        the same statement as the write; a refused move is logged and writes nothing."""
        self._writing(lambda db: _moved(db, where, key, state, **fields))

    def begin(self, marker: str, *, name: str, prompt_id: str | None, node_id: str | None,
              api_url: str, resolved_hash: str | None = None, team: str | None = None,
              shape_hash: str | None = None,
              kept: tuple[bytes | None, bytes | None] = (None, None)) -> None:
        """Record a run about to be created (before the request leaves), owned by this process,
        with the hash of the workflow it sends and the team paying for it (what reuse looks for),
        its shape (what the spend estimate looks for), and what it sends and came from (``kept``:
        kept.keep's scrubbed, compressed workflows)."""
        now, o = time.time(), self.owner

        def insert(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO runs (marker, state, name, prompt_id, node_id, api_url, owner_host,"
                       " owner_pid, owner_started, owner_instance, created_at, updated_at,"
                       " resolved_hash, team, shape_hash)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (marker, FIRST.value, name, prompt_id, node_id, api_url, o.host, o.pid, o.started,
                        o.instance, now, now, resolved_hash, team, shape_hash))
            if any(kept):
                db.execute("INSERT OR REPLACE INTO kept_workflows (marker, sent, ui) VALUES (?, ?, ?)",
                           (marker, *kept))

        self._writing(insert)

    def created(self, marker: str, run_id: str) -> None:
        self._move("marker", marker, JournalState.RUNNING, run_id=run_id, status="queued")

    def create_unknown(self, marker: str, detail: str) -> None:
        self._move("marker", marker, JournalState.UNKNOWN, detail=detail[:1000])

    def gave_up(self, marker: str, detail: str) -> None:
        """A create that may have reached Floyo, whose node gave up on it: if the run turns up
        (by its marker), it is cancelled, never watched."""
        self._move("marker", marker, JournalState.UNKNOWN, status=GAVE_UP, detail=detail[:1000])

    def not_created(self, marker: str, detail: str) -> None:
        self._move("marker", marker, JournalState.NOT_CREATED, detail=detail[:1000])

    def status(self, run_id: str, status: str, flotime_ms: int | None) -> None:
        self._update("run_id", run_id, status=status, flotime_ms=flotime_ms)

    def finished(self, run_id: str, state: JournalState, detail: str | None = None,
                 cancel: CancelOutcome | None = None) -> None:
        """Set a final state, unless the outputs were already saved (saved is final), with the
        outcome of the remote cancel that ended the watch, if one was sent."""
        self._move("run_id", run_id, state, detail=(detail or "")[:1000] or None,
                   cancel_result=cancel.result.value if cancel is not None else None)

    def saved(self, run_id: str, saved: Sequence[str | SavedFile]) -> None:
        """The run's outputs are on disk; with each file's size and sha256 when given as SavedFile
        (only then can reuse tell the file is still the one paid for), and what Floyo said each
        file is (name, MIME type, kind: so it decodes from here as it did fresh)."""
        files = [f for f in saved if isinstance(f, SavedFile)]
        paths = [f.path if isinstance(f, SavedFile) else f for f in saved]
        whole = len(files) == len(paths)
        self._move("run_id", run_id, JournalState.SAVED, paths=json.dumps(paths),
                   files=json.dumps([f.to_json() for f in files]) if whole else None,
                   outputs=json.dumps([f.described() for f in files]) if whole else None)

    def cost(self, run_id: str, flotime_ms: int | None, partner_cost_usd: float | None) -> None:
        """The finished run's FloTime and partner-API cost, as Floyo reported them."""
        self._update("run_id", run_id, flotime_ms=flotime_ms, partner_cost_usd=partner_cost_usd)

    def reusable(self, resolved_hash: str, api_url: str, team: str) -> RunRecord | None:
        """The newest run of the same resolved workflow on the same Floyo, paid for by the same team,
        whose outputs were saved (rows from before teams were journaled never match)."""
        # +state: look it up by the hash's index, never by the state's (every saved run matches that)
        rows = self._read("SELECT * FROM runs WHERE resolved_hash = ? AND api_url = ? AND team = ?"
                          " AND +state = 'saved' ORDER BY updated_at DESC LIMIT 1",
                          (resolved_hash, api_url, team))
        return _first(rows)

    def forget_reuse(self, run_id: str) -> None:
        """Floyo no longer has this run's outputs: never offer it for reuse again."""
        self._update("run_id", run_id, resolved_hash=None)

    def known_upload(self, team: str, cdn_url: str, folder: str,
                     sha256: str | None = None) -> dict[str, Any] | None:
        """The team's upload of these bytes into ``folder`` (any upload there, newest first, when
        ``sha256`` is None), as ``remember_upload`` recorded it."""
        rows = self._read("SELECT * FROM uploads WHERE team = ? AND cdn_url = ? AND folder = ?"
                          " AND sha256 = COALESCE(?, sha256) ORDER BY created_at DESC LIMIT 1",
                          (team, cdn_url, folder, sha256))
        return dict(rows[0]) if rows else None

    def remember_upload(self, team: str, cdn_url: str, folder: str, sha256: str, input_path: str,
                        file_id: str | None) -> None:
        self._write("INSERT OR REPLACE INTO uploads (team, cdn_url, folder, sha256, input_path, file_id,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (team, cdn_url, folder, sha256, input_path, file_id, time.time()))

    def totals(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """FloTime and partner-API cost of the runs created today (local time) and in the last 7 days."""
        now = time.time() if now is None else now
        day = time.localtime(now)
        midnight = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, -1))
        return {"today": self._total(midnight), "last_7_days": self._total(now - 7 * 86400)}

    def _total(self, since: float) -> dict[str, Any]:
        rows = self._read("SELECT COUNT(run_id), COALESCE(SUM(flotime_ms), 0), SUM(partner_cost_usd) "
                          "FROM runs WHERE created_at >= ? AND run_id IS NOT NULL", (since,))
        runs, flotime, cost = tuple(rows[0]) if rows else (0, 0, None)
        return {"runs": runs, "flotime_ms": flotime, "partner_cost_usd": cost}

    def get(self, run_id: str) -> RunRecord | None:
        return _first(self._read(f"SELECT {CARD_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)))  # noqa: S608

    def list(self, limit: int = 200) -> list[RunRecord]:
        return self.page(PageQuery(limit=limit))[0]

    def page(self, query: PageQuery) -> tuple[list[RunRecord], bool]:
        """One page of the runs tab (journal_pages.py), and whether another page follows."""
        records = _records(self._read(*page_sql(query)))
        return records[:query.limit], len(records) > query.limit

    def kept_workflow(self, run_id: str) -> tuple[bytes | None, bytes | None] | None:
        """The run's kept workflows as stored (sent, UI; kept.unpack reads them); None: no such run."""
        rows = self._read("SELECT k.sent, k.ui FROM runs r LEFT JOIN kept_workflows k ON k.marker = r.marker"
                          " WHERE r.run_id = ?", (run_id,))
        return (rows[0]["sent"], rows[0]["ui"]) if rows else None

    def recover(self) -> list[RunRecord]:
        """``take_over``'s runs to resume."""
        return self.take_over()[0]

    def take_over(self) -> tuple[list[RunRecord], list[RunRecord]]:
        """At start: take over the rows of owners that are gone (another live ComfyUI's rows, and
        rows this process already took, are left alone). Their unanswered creates become
        'unknown'. Returns the runs taken over now: (to resume, unknown creates to reconcile).
        Not recording (a peer holds the file): nothing is taken over, that peer may own the rows."""
        if not self.recording:
            return [], []
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")  # two ComfyUIs starting together claim each row once
                rows = db.execute(f"SELECT marker, state, {_OWNER} FROM runs "  # noqa: S608 (constants)
                                  f"WHERE state IN ({_TAKEN})", TAKEN_OVER).fetchall()
                orphans = {r["marker"]: r["state"] for r in rows if self._orphaned(r)}
                self._claim(db, orphans)
                taken = [r for r in _records(db.execute(f"SELECT * FROM runs WHERE state IN ({_TAKEN})",  # noqa: S608
                                                        TAKEN_OVER)) if r.marker in orphans]
        except (sqlite3.Error, OSError) as e:
            self._failed("recover runs from", e)
            return [], []
        if len(orphans) < len(rows):
            log.info("Floyo: %d run(s) in the journal belong to another running ComfyUI sharing this "
                     "folder; leaving them to it.", len(rows) - len(orphans))
        resume = [r for r in taken if r.state in RESUMABLE and r.run_id is not None]
        return resume, [r for r in taken if r.state is JournalState.UNKNOWN]

    def unknown_runs(self) -> list[RunRecord]:
        """Runs whose create may have reached Floyo, owned by this process (after ``recover``,
        that includes those taken over from a process that is gone): the ones to reconcile."""
        return _records(self._read(f"SELECT * FROM runs WHERE state = ? AND {_MINE}",  # noqa: S608
                                   (JournalState.UNKNOWN.value, *self._me())))

    def _me(self) -> tuple[str, int, str | None, str | None]:
        return (self.owner.host, self.owner.pid, self.owner.started, self.owner.instance)

    def _orphaned(self, row: sqlite3.Row) -> bool:
        """A row nobody alive owns: written before owners were recorded, or by a process gone
        (one of this installation under an older host name included, owner.py)."""
        if row["owner_pid"] is None:
            return True
        owner = Owner(row["owner_host"], row["owner_pid"], row["owner_started"], row["owner_instance"])
        return owner.gone(self.owner)

    def _claim(self, db: sqlite3.Connection, orphans: dict[str, str]) -> None:
        """Make this process the owner of ``orphans`` (marker: state); their unanswered creates
        become unknown, through the state table like every other move."""
        o = self.owner
        for marker, state in orphans.items():
            if state == JournalState.CREATING:
                _moved(db, "marker", marker, JournalState.UNKNOWN,
                       detail="ComfyUI stopped before Floyo answered the create request.")
            db.execute("UPDATE runs SET owner_host = ?, owner_pid = ?, owner_started = ?, owner_instance = ? "
                       "WHERE marker = ?", (o.host, o.pid, o.started, o.instance, marker))


_OWNER = "owner_host, owner_pid, owner_started, owner_instance"
_MINE = "owner_host = ? AND owner_pid = ? AND owner_started IS ? AND owner_instance IS ?"
_TAKEN = ", ".join("?" * len(TAKEN_OVER))


def _moved(db: sqlite3.Connection, where: str, key: str, state: JournalState, **fields: Any) -> None:
    """Inside the caller's transaction: move the row to ``state`` if journal_states allows it from
    the state it is in (checked in the same statement), else log why nothing was written."""
    state = JournalState(state)  # a stored word is accepted too; anything else raises here
    fields.update(state=state.value, updated_at=time.time())
    sets = ", ".join(f"{name} = ?" for name in fields)
    froms = sources(state)
    sql = (f"UPDATE runs SET {sets} WHERE {where} = ? "  # noqa: S608 (names are ours)
           f"AND state IN ({', '.join('?' * len(froms))})")
    if db.execute(sql, [*fields.values(), key, *froms]).rowcount:
        return
    row = db.execute(f"SELECT state FROM runs WHERE {where} = ?", (key,)).fetchone()  # noqa: S608
    if row is None:
        return
    if row["state"] == JournalState.SAVED:  # saved is final; a failure after saving (decoding) leaves it so
        log.debug("Floyo journal: run %s stays saved (not %s)", key, state)
    else:
        log.warning("Floyo journal: refused to move run %s from %s to %s (not a step of a run's "
                    "lifecycle, floyo_client/journal_states.py); the row is left as it was.",
                    key, row["state"], state)


def _records(rows: Iterable[sqlite3.Row]) -> list[RunRecord]:
    return [r for r in map(RunRecord.from_row, rows) if r is not None]


def _first(rows: list[sqlite3.Row]) -> RunRecord | None:
    records = _records(rows[:1])
    return records[0] if records else None
