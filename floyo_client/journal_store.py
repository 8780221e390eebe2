"""Opening the journal's SQLite file: private permissions, versioned schema, and a bad file set aside.

The journal must never stop the pack from loading. Only a file that is truly unreadable (SQLite
says it is not a database or is malformed, or it fails its integrity check) is renamed to
``runs.sqlite3.corrupt-<time>`` (with its -wal/-shm/-journal files), one line says so, and a
fresh journal starts. A file another connection keeps locked past the wait is *not* corrupt: it
belongs to a live peer (another ComfyUI, a database browser) that goes on writing into it, so it
is left exactly where it is and ``JournalLocked`` is raised; any other error (permissions, a full
disk) raises ``JournalUnavailable`` and leaves the file alone too. The schema carries
``PRAGMA user_version``; each migration moves it one step. Holds no run logic and never deletes
a user's file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Version 0: the schema before versioning (kept verbatim: old files start from it).
SCHEMA_V0 = """
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
_V2_COLUMNS = ("marker, run_id, state, status, name, prompt_id, node_id, api_url, flotime_ms, paths, detail,"
               " created_at, updated_at, owner_host, owner_pid, owner_started")
# MIGRATIONS[n] takes the schema from version n to n + 1.
MIGRATIONS = (
    # 1: each row names the process that owns it (ComfyUIs sharing a user folder, owner.py)
    ("ALTER TABLE runs ADD COLUMN owner_host TEXT",
     "ALTER TABLE runs ADD COLUMN owner_pid INTEGER",
     "ALTER TABLE runs ADD COLUMN owner_started TEXT"),
    # 2: drop workflow_hash (written, never read). A table rebuild, not DROP COLUMN, so SQLite
    # older than 3.35 migrates too.
    ("CREATE TABLE runs_v2 (marker TEXT PRIMARY KEY, run_id TEXT UNIQUE, state TEXT NOT NULL, status TEXT,"
     " name TEXT, prompt_id TEXT, node_id TEXT, api_url TEXT, flotime_ms INTEGER,"
     " paths TEXT NOT NULL DEFAULT '[]', detail TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
     " owner_host TEXT, owner_pid INTEGER, owner_started TEXT)",
     f"INSERT INTO runs_v2 ({_V2_COLUMNS}) SELECT {_V2_COLUMNS} FROM runs",  # noqa: S608 (constants)
     "DROP TABLE runs",
     "ALTER TABLE runs_v2 RENAME TO runs",
     "CREATE INDEX IF NOT EXISTS runs_state ON runs(state)"),
    # 3: reuse and cost. resolved_hash: the hash of the workflow as sent (after overrides and
    # upload paths), read to reuse an identical run's saved outputs; partner_cost_usd: what Floyo
    # reports the run's partner-API nodes cost, kept with its FloTime for the totals.
    ("ALTER TABLE runs ADD COLUMN resolved_hash TEXT",
     "ALTER TABLE runs ADD COLUMN partner_cost_usd REAL",
     "CREATE INDEX IF NOT EXISTS runs_resolved_hash ON runs(resolved_hash)"),
    # 4: the remote cancel's outcome when the pack gave up on the run (outcome.CancelResult's value)
    ("ALTER TABLE runs ADD COLUMN cancel_result TEXT",),
    # 5: reuse returns only what was paid for, and only to whoever paid. team: a digest of the key
    # (config.Config.team); files: each saved file's path, size and sha256 (saved_files.py). Rows
    # from before keep NULL in both and are never reused (who paid, and what, is not known).
    # uploads: input files already on Floyo, by content, so a restart never sends them again.
    ("ALTER TABLE runs ADD COLUMN team TEXT",
     "ALTER TABLE runs ADD COLUMN files TEXT",
     "CREATE TABLE IF NOT EXISTS uploads (team TEXT NOT NULL, cdn_url TEXT NOT NULL, folder TEXT NOT NULL,"
     " sha256 TEXT NOT NULL, input_path TEXT NOT NULL, file_id TEXT, created_at REAL NOT NULL,"
     " PRIMARY KEY (team, cdn_url, folder, sha256))"),
    # 6: the owner's instance id (owner.py), so a new host name does not orphan this installation's rows
    ("ALTER TABLE runs ADD COLUMN owner_instance TEXT",),
    # 7: what Floyo said each saved file is (saved_files.SavedFile.described: name, mime_type, kind,
    # input_path; a JSON list in the order of paths), so a file served from the journal is decoded
    # and routed as it was fresh (an image known only by its MIME type stays an image). Rows from
    # before keep NULL: their files are known by their local names, as they were.
    ("ALTER TABLE runs ADD COLUMN outputs TEXT",),
    # spend guard: the workflow's shape (spend.shape_hash: seeds and texts masked), so a new
    # prompt's cost is estimated from the FloTime of earlier runs of the same graph. Rows from
    # before keep NULL and count for no estimate.
    ("ALTER TABLE runs ADD COLUMN shape_hash TEXT",
     "CREATE INDEX IF NOT EXISTS runs_shape_hash ON runs(shape_hash)"),
    # #23: what ran, kept: the exact workflow sent and the UI workflow it came from, each as
    # zlib-compressed JSON with credentials scrubbed (kept.py), in a table of their own so the runs
    # table's rows stay small to scan; and the indexes a runs-tab page reads by (newest first, by
    # state; name, run id and marker inside the index, so a search walks it without the rows).
    ("CREATE TABLE IF NOT EXISTS kept_workflows (marker TEXT PRIMARY KEY, sent BLOB, ui BLOB)",
     "CREATE INDEX IF NOT EXISTS runs_newest ON runs(created_at, name, run_id, marker)",
     "CREATE INDEX IF NOT EXISTS runs_state_newest ON runs(state, created_at)"),
)
VERSION = len(MIGRATIONS)
SIDECARS = ("-wal", "-shm", "-journal")


class JournalUnavailable(Exception):
    """The journal file could not be opened nor replaced by a fresh one."""


class JournalLocked(JournalUnavailable):
    """Another connection held the journal's write lock for the whole wait: the file is healthy
    and in use, so it was left untouched."""


_LOCKED_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_UNREADABLE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_LOCKED_WORDS = ("database is locked", "database table is locked", "busy")
_UNREADABLE_WORDS = ("not a database", "malformed", "integrity check failed")


def _kind(error: sqlite3.Error) -> str:
    """'locked', 'corrupt' (truly unreadable: the only kind ever set aside) or 'other'."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF  # an extended result code keeps its primary code in the low byte
        if code in _LOCKED_CODES:
            return "locked"
        if code in _UNREADABLE_CODES:
            return "corrupt"
    text = str(error).lower()  # our own integrity error carries no code
    if any(word in text for word in _LOCKED_WORDS):
        return "locked"
    return "corrupt" if any(word in text for word in _UNREADABLE_WORDS) else "other"


def private_file(path: Path) -> None:
    """Folder 0700, file and its SQLite sidecars 0600. SQLite gives the -wal/-shm/-journal files
    it creates the database file's mode, so creating the file 0600 first covers them too."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))
    for file in (path, *(Path(f"{path}{s}") for s in SIDECARS)):
        if file.exists():
            os.chmod(file, 0o600)


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to VERSION inside the caller's write transaction; returns the old version."""
    old = db.execute("PRAGMA user_version").fetchone()[0]
    if old > VERSION:
        log.warning("Floyo: the run journal was written by a newer version of the pack (schema %d, "
                    "this one knows %d); using it as it is.", old, VERSION)
        return old
    if old == 0:
        for statement in filter(str.strip, SCHEMA_V0.split(";")):
            db.execute(statement)
    for step in MIGRATIONS[old:]:
        for statement in step:
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {VERSION}")
    return old


# The tables whose rows the pack's lifecycle needs, checked at every start. The kept workflows
# (schema 8, 70% of a heavy user's file) are not: checking them would add ~300 ms per 100,000 runs
# to every start (bench/p8_journal_scale.py), and a bad page there only loses a kept copy (its read
# is logged and answered "not kept"), never a run.
_CHECKED = ("runs", "uploads")


def _quick_checks(db: sqlite3.Connection) -> list[str]:
    """PRAGMA quick_check per lifecycle table (SQLite 3.33+ takes a table), else of the whole file."""
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if sqlite3.sqlite_version_info < (3, 33, 0) or not have:
        return ["PRAGMA quick_check(1)"]
    return [f"PRAGMA quick_check({t})" for t in _CHECKED if t in have]


def _check(path: Path, timeout_s: float) -> None:
    """Open, take the write lock, check integrity and migrate; raises sqlite3.Error if it can't."""
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; stays set in the file
        db.execute("BEGIN IMMEDIATE")  # a file another connection keeps locked fails here
        for check in _quick_checks(db):
            result = db.execute(check).fetchone()[0]
            if result != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {result}")
        migrate(db)
        db.execute("COMMIT")
    finally:
        db.close()


def _set_aside(path: Path, reason: str) -> Path:
    aside = path.with_name(f"{path.name}.{reason}-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", *SIDECARS):  # the sidecars keep the aside copy openable with sqlite3
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{aside}{suffix}")
    return aside


def open_store(path: Path, timeout_s: float) -> None:
    """Make ``path`` a usable journal at the current schema, setting an unreadable file aside once.
    Raises JournalLocked when a peer kept it locked for ``timeout_s`` (the file is left alone), and
    JournalUnavailable when it can't be opened for another reason."""
    try:
        private_file(path)
        _check(path, timeout_s)
        return
    except sqlite3.Error as e:
        kind, cause = _kind(e), e
    except OSError as e:
        raise JournalUnavailable(f"cannot create {path}: {e}") from e
    if kind == "locked":
        raise JournalLocked(f"{path} stayed locked by another connection for {timeout_s:g} s ({cause})")
    if kind != "corrupt":
        raise JournalUnavailable(f"cannot open {path}: {cause}")
    try:
        aside = _set_aside(path, "corrupt")
        private_file(path)
        _check(path, timeout_s)
    except (sqlite3.Error, OSError) as e:
        raise JournalUnavailable(f"{path} is unreadable ({cause}) and no fresh journal could be "
                                 f"started beside it: {e}") from e
    log.error("Floyo: the run journal %s was unreadable (%s); moved it aside to %s and started a "
              "fresh journal. Runs recorded only there are not resumed: open that file with sqlite3 "
              "to see them.", path, cause, aside)
