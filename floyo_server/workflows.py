"""Workflows a local server keeps: ``GET /workflows`` (search, sort, scope, status, model_type,
tags, limit, cursor, as Floyo documents them) and ``GET /workflows/{id}`` with the API-format
graph, and the gateway's folder of API-format files (``--workflows DIR``).

Shared by the gateway and the scripted test server (tests/floyo_scripted/workflows.py keeps its
workflows in memory and scripts the envelope). The envelope is a guess (docs/floyo-api.md,
"Workflows"): a page is ``{"object": "list", "data": [...], "next_cursor", "has_more"}``, a
workflow ``{"data": {..., "prompt": {...}}}``. Must not run a workflow, nor read a file outside
its folder.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .origin import validation_error
from .wire import json_error

log = logging.getLogger(__name__)
CHOICES = {"sort": ("recent", "views", "likes"), "scope": ("all", "team", "public"),
           "status": ("verified", "unverified", "all"), "model_type": ("all", "opensource", "3rd_party")}
DEFAULTS = {"sort": "recent", "scope": "all", "status": "verified", "model_type": "all"}
EVERY_KEY = "*"  # an entry's team: every key this server accepts (the gateway's one team)


class Invalid(ValueError):
    pass


@dataclass
class Entry:
    """One workflow. ``team``: the key whose team owns it, EVERY_KEY, or None (public)."""

    id: str
    name: str
    graph: Any
    team: str | None = EVERY_KEY
    description: str = ""
    tags: tuple[str, ...] = ()
    version: int | str = 1
    views: int = 0
    likes: int = 0
    status: str = "verified"
    model_type: str = "opensource"
    updated_at: str = "2026-01-01T00:00:00Z"

    def owned_by(self, key: str | None) -> bool:
        return self.team == EVERY_KEY or (self.team is not None and self.team == key)


@dataclass
class Library:
    """A server's workflows and how it writes them (the scripted server changes the keys)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    list_key: str = "data"
    graph_key: str | None = "prompt"

    def all(self) -> list[Entry]:
        return list(self.entries.values())


def parse_query(query: Any) -> dict[str, Any]:
    """The list's parameters, checked as Floyo documents them; Invalid names the bad one."""
    q: dict[str, Any] = {k: query.get(k, d) for k, d in DEFAULTS.items()}
    for name, choices in CHOICES.items():
        if q[name] not in choices:
            raise Invalid(f"{name} must be one of {', '.join(choices)}")
    try:
        q["limit"] = int(query.get("limit", "25"))
    except ValueError:
        raise Invalid("limit must be an integer") from None
    if not 10 <= q["limit"] <= 50:
        raise Invalid("limit must be between 10 and 50")
    tags = [t.strip().lower() for t in query.get("tags", "").split(",") if t.strip()]
    if len(tags) > 10:
        raise Invalid("tags allows at most 10 values")
    q["tags"], q["search"] = tags, query.get("search", "").strip().lower()
    return q


def _visible(entry: Entry, q: dict[str, Any], key: str | None) -> bool:
    team = entry.owned_by(key)
    if not team and entry.team is not None:
        return False  # another team's
    if (q["scope"] == "team" and not team) or (q["scope"] == "public" and entry.team is not None):
        return False
    if q["status"] != "all" and entry.status != q["status"]:
        return False
    if q["model_type"] != "all" and entry.model_type != q["model_type"]:
        return False
    if q["tags"] and not set(q["tags"]) & {t.lower() for t in entry.tags}:
        return False
    types = " ".join(str(n.get("class_type")) for n in entry.graph.values() if isinstance(n, dict)) \
        if isinstance(entry.graph, dict) else ""
    return not q["search"] or q["search"] in " ".join([entry.name, entry.description, *entry.tags,
                                                       types]).lower()


def _filters(q: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({k: v for k, v in q.items() if k != "limit"},
                                     sort_keys=True).encode()).hexdigest()[:12]


def _offset(cursor: str | None, q: dict[str, Any]) -> int:
    if not cursor:
        return 0
    try:
        offset, filters = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if filters == _filters(q):
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise Invalid("cursor is invalid, or was made with other filters")


def summary(entry: Entry, key: str | None) -> dict[str, Any]:
    return {"id": entry.id, "object": "workflow", "name": entry.name, "description": entry.description,
            "tags": list(entry.tags), "scope": "team" if entry.owned_by(key) else "public",
            "version": entry.version, "updated_at": entry.updated_at, "views": entry.views,
            "likes": entry.likes, "status": entry.status, "model_type": entry.model_type}


def page(library: Library, query: Any, key: str | None) -> dict[str, Any]:
    """One page of the list, newest (or most viewed, liked) first."""
    q = parse_query(query)
    found = [e for e in library.all() if _visible(e, q, key)]
    order = {"recent": lambda e: e.updated_at, "views": lambda e: e.views, "likes": lambda e: e.likes}
    found.sort(key=order[q["sort"]], reverse=True)
    start = _offset(query.get("cursor"), q)
    items, more = found[start:start + q["limit"]], len(found) > start + q["limit"]
    after = f"{start + q['limit']}:{_filters(q)}"
    cursor = base64.urlsafe_b64encode(after.encode()).decode() if more else None
    return {"object": "list", library.list_key: [summary(e, key) for e in items], "next_cursor": cursor,
            "has_more": more}


async def list_workflows(request: web.Request) -> web.StreamResponse:
    try:
        return web.json_response(page(request.app[LIBRARY](), request.query, request.app[CALLER](request)))
    except Invalid as e:
        return validation_error(str(e))


async def get_workflow(request: web.Request) -> web.StreamResponse:
    library = request.app[LIBRARY]()
    entry = library.entries.get(request.match_info["workflow_id"])
    if entry is None:
        return json_error(404, "Not Found", "Workflow not found")
    key = request.app[CALLER](request)
    if entry.team is not None and not entry.owned_by(key):
        return json_error(403, "Forbidden", "You do not have access to this workflow")
    body = summary(entry, key)
    if library.graph_key:
        body[library.graph_key] = entry.graph
    return web.json_response({"data": body})


LIBRARY = web.AppKey("floyo_workflows", object)  # a callable returning the Library to serve now
CALLER = web.AppKey("floyo_workflows_caller", object)  # request -> the caller's team key, or None


def add_routes(app: web.Application, library: Any, caller: Any) -> None:
    """Serve ``library()`` (called per request: a folder is read again) on ``app``; ``caller``
    names who asks, as the app's auth recorded it (a team entry is shown to its own key only)."""
    app[LIBRARY], app[CALLER] = library, caller
    app.router.add_get("/workflows", list_workflows)
    app.router.add_get("/workflows/{workflow_id}", get_workflow)


def _entry_of(path: Path) -> Entry | None:
    """A folder file as a workflow: a bare API-format graph, or ``{"name", "description",
    "tags", "prompt"}``. Its id comes from the file name, its version from its bytes."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("workflows folder: %s is not JSON; skipped", path.name)
        return None
    wrapped = isinstance(data, dict) and isinstance(data.get("prompt"), dict)
    meta = data if wrapped else {}
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    wid = "wf_" + re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)
    return Entry(id=wid, name=str(meta.get("name") or path.stem),
                 graph=data["prompt"] if wrapped else data, description=str(meta.get("description") or ""),
                 tags=tuple(map(str, meta.get("tags") or ())), version=hashlib.sha256(raw).hexdigest()[:16],
                 updated_at=stamp.isoformat().replace("+00:00", "Z"))


def folder_library(folder: str | Path | None) -> Any:
    """The gateway's ``--workflows DIR``: every ``*.json`` in it, read on each request (a file
    added, edited or removed shows at once), owned by the gateway's one team."""

    def read() -> Library:
        library = Library()
        for path in sorted(Path(folder).glob("*.json")) if folder else ():
            if path.is_file() and (entry := _entry_of(path)) is not None:
                library.entries[entry.id] = entry
        return library

    return read
