"""What the pack's GET routes show of the journal: the fields the runs tab (web/floyo.js) uses.

``GET /floyo/runs`` is open to the LAN when ComfyUI listens beyond loopback, so a journal row is
never returned whole: no owner (host name, pid), no API URL, no workflow hash, and saved files
as paths relative to ComfyUI's ``output/`` folder (an absolute path names the home directory and
the user). A field is shown only when it is listed here, so a column added to the journal later
stays private until someone decides the tab needs it. Must not read or write anything itself.
"""

from __future__ import annotations

import enum
from pathlib import Path, PurePath
from typing import Any

from ...floyo_client import JournalState, Phase, RunRecord, classify_status

# run card: id (copy), marker and hint (an unknown create), state and status, name, FloTime and
# partner cost, when, why it ended (detail), saved outputs (links through ComfyUI's /view)
SHOWN = ("run_id", "marker", "hint", "state", "status", "name", "flotime_ms", "partner_cost_usd",
         "created_at", "updated_at", "detail")


def relative_output(path: str, output_dir: Path) -> str:
    """``path`` relative to ``output_dir`` with forward slashes (``floyo/run_x/a.png``); a path
    outside it (never written by the pack) is shown by its file name only."""
    try:
        return PurePath(path).relative_to(output_dir).as_posix()
    except ValueError:
        return PurePath(path).name


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value  # JournalState: its stored word


# Journal states whose run may have outputs to fetch again: saved (again), succeeded (its saving
# failed), unknown (a lost create, found later); running only once Floyo's status says it is done.
_FETCHABLE = {JournalState.SAVED, JournalState.SUCCEEDED, JournalState.UNKNOWN}


def fetchable(record: RunRecord, live: bool) -> bool:
    """Whether the runs tab offers Fetch: a run no node waits on, that may have outputs."""
    if live or not record.run_id:
        return False
    done = record.status is not None and classify_status(record.status) is Phase.SUCCEEDED
    return record.state in _FETCHABLE or (record.state is JournalState.RUNNING and done)


def public_run(record: RunRecord, output_dir: Path, live: bool = False) -> dict[str, Any]:
    """One run card's fields: what the journal shows, its Floyo ``phase``, whether it can be
    fetched, and each saved output's path (relative) and ``kind``, so the tab keeps no vocabulary."""
    shown = {k: _plain(getattr(record, k)) for k in SHOWN}
    if shown["hint"] is None:  # only an unknown create has one
        del shown["hint"]
    shown["phase"] = classify_status(record.status).value if record.status else None
    shown["fetchable"] = fetchable(record, live)
    shown["kept"] = bool(record.kept)  # "Open what ran" and "Run again" (GET /floyo/runs/<id>/workflow)
    # how long it ran: until its last change once it has ended, until now while it is live
    shown["elapsed_s"] = None if live else round(record.updated_at - record.created_at, 1)
    paths = [relative_output(p, output_dir) for p in record.paths]
    shown["paths"] = paths
    shown["outputs"] = [{"path": p, "kind": o.kind} for p, o in zip(paths, record.outputs(), strict=True)]
    return shown
