"""One run's row of the journal, typed: what ``Journal`` hands out instead of a bare dict.

``RunRecord.from_row`` reads a ``runs`` row whatever schema version wrote it: columns a row does
not have yet are None, the JSON columns (``paths``, ``files``, ``outputs``) are parsed leniently
(a hand-edited journal gives fewer files, never an exception) and the stored state word becomes a
``JournalState``. Pure data: no SQL, no I/O.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .journal_states import JournalState
from .models import RunOutput
from .outcome import CancelResult
from .owner import Owner
from .saved_files import SavedFile

log = logging.getLogger(__name__)
GAVE_UP = "gave_up"  # the status of an unknown row whose node gave up: cancel it if it turns up


@dataclass(frozen=True)
class RunRecord:
    marker: str
    state: JournalState
    created_at: float
    updated_at: float
    run_id: str | None = None
    status: str | None = None
    name: str | None = None
    prompt_id: str | None = None
    node_id: str | None = None
    api_url: str | None = None
    detail: str | None = None
    flotime_ms: int | None = None
    partner_cost_usd: float | None = None
    cancel_result: CancelResult | None = None
    resolved_hash: str | None = None
    team: str | None = None  # a digest of the key that paid for it (Config.team)
    owner: Owner | None = None  # None on rows from before owners were recorded
    paths: tuple[str, ...] = ()
    files: tuple[SavedFile, ...] | None = None  # None: no identity recorded, never served from disk
    kept: bool | None = None  # whether the sent workflow is kept (a runs tab page says; None: not read)

    @property
    def gave_up(self) -> bool:
        """Its node gave up on it: cancel the run when it turns up, never watch it."""
        return self.status == GAVE_UP

    @property
    def hint(self) -> str | None:
        """What the user can do about an unknown create."""
        if self.state is not JournalState.UNKNOWN:
            return None
        return f"unknown — check Floyo for a run named with marker {self.marker}"

    def outputs(self) -> list[RunOutput]:
        """The saved files as Floyo described them, in order, to decode and route them exactly as
        when they were fresh (by their local names only in rows from before schema 7)."""
        by_path = {f.path: f for f in self.files or ()}
        return [by_path[p].as_output() if p in by_path else RunOutput(id="", file_name=_name(p))
                for p in self.paths]

    def with_run_id(self, run_id: str) -> RunRecord:
        return replace(self, run_id=run_id)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord | None:
        """The record of a ``runs`` row; None for a state word this version does not know."""
        state = JournalState.parse(row["state"])
        if state is None:
            log.debug("Floyo journal: row %s has a state this version does not know (%r); skipped",
                      row["marker"], row["state"])
            return None
        columns = set(row.keys())
        get = (lambda k: row[k] if k in columns else None)  # noqa: E731 (a column a row lacks is None)
        paths = tuple(p for p in _json(get("paths")) or () if isinstance(p, str))
        plain = {k: get(k) for k in _PLAIN}
        return cls(marker=row["marker"], state=state, created_at=row["created_at"],
                   updated_at=row["updated_at"], cancel_result=_cancel(get("cancel_result")),
                   owner=_owner(get), paths=paths, **plain,
                   files=_files(_json(get("files")), _json(get("outputs")), len(paths)))


_PLAIN = ("run_id", "status", "name", "prompt_id", "node_id", "api_url", "detail", "flotime_ms",
          "partner_cost_usd", "resolved_hash", "team", "kept")


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def _cancel(value: Any) -> CancelResult | None:
    try:
        return CancelResult(value) if value is not None else None
    except ValueError:
        return None


def _owner(get: Any) -> Owner | None:
    if get("owner_pid") is None:
        return None
    return Owner(get("owner_host") or "", get("owner_pid"), get("owner_started"), get("owner_instance"))


def _files(files: Any, outputs: Any, count: int) -> tuple[SavedFile, ...] | None:
    """Each file's identity (``files``) with what Floyo said of it (``outputs``, schema 7, in the
    order of ``paths``); None when the identities are not all there."""
    if not isinstance(files, list):
        return None
    known = [f for f in (SavedFile.from_json(x) for x in files) if f is not None]
    if len(known) != count:
        return None
    described = outputs if isinstance(outputs, list) and len(outputs) == count else [None] * count
    return tuple(_described(f, d) for f, d in zip(known, described, strict=True))


def _described(file: SavedFile, about: Any) -> SavedFile:
    if not isinstance(about, dict):
        return file
    text = {k: v if isinstance(v, str) else None for k, v in about.items()}
    return replace(file, name=text.get("name"), mime_type=text.get("mime_type"), kind=text.get("kind"),
                   input_path=text.get("input_path"))
