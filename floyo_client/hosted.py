"""Workflows kept on Floyo: a page of ``GET /workflows``, one workflow's API-format graph from
``GET /workflows/{id}``, a reference (an id, or a name within the key's team) resolved, and the
graphs cached by id and version.

Floyo's answer envelope for both endpoints is unconfirmed (docs/floyo-api.md, "Workflows"), so
each is read from the likely keys, and an answer that matches none is an error naming the keys
that came back, never their values (a workflow may hold a secret). Must not run a workflow,
apply overrides, or put a graph's content into an error or a log line.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .errors import AuthError, NotFound, ProtocolError, redact
from .request import Request
from .transport import StopCheck, never_stop
from .workflow import Prompt, WorkflowError, check_api_format, is_link

LIST_KEYS = ("data", "items", "workflows")  # where a page's items may be (docs/floyo-api.md)
CURSOR_KEYS = ("next_cursor", "nextCursor", "cursor", "next")
GRAPH_KEYS = ("prompt", "workflow")  # where the API-format graph may be; "prompt" seen in one client
VERSION_KEYS = ("version", "updated_at", "updatedAt")
# An id as the picker fills it; anything else is a name, unless written ``id:<id>``
ID_RE = re.compile(r"(?:wf|workflow)_[A-Za-z0-9_-]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
NAME_PAGES = 4  # pages of a name search read before giving up: a team name is rarely that common
PAGE_LIMIT = 50  # the most the list allows
FETCH_DEADLINE_S = 15.0  # one queue-time request, retries included: a /prompt waits this long at most
CACHE_SIZE = 64


@dataclass(frozen=True)
class Summary:
    """One workflow as the list shows it. ``version`` is whatever Floyo says changes with it."""

    id: str
    name: str
    version: str | None = None
    team: bool | None = None  # True: the key's team's; False: public; None: not said
    description: str = ""
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "team": self.team,
                "description": self.description, "tags": list(self.tags)}


@dataclass(frozen=True)
class Page:
    items: tuple[Summary, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Hosted:
    """A resolved reference: which workflow, which version, and its graph."""

    id: str
    name: str
    version: str | None
    graph: Prompt


def _keys(body: object) -> str:
    """What an unreadable answer held, by key names only (values may be secrets)."""
    if isinstance(body, dict):
        return "an object with keys " + (", ".join(sorted(map(str, body))[:12]) or "none")
    return f"a JSON {type(body).__name__}"


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def summary_of(item: object) -> Summary | None:
    """One list item, or None when it has no id."""
    if not isinstance(item, dict) or (wid := _text(item.get("id"))) is None:
        return None
    version = next((_text(item[k]) for k in VERSION_KEYS if _text(item.get(k))), None)
    scope = item.get("scope") or item.get("visibility")
    team = {"team": True, "private": True, "public": False}.get(scope) if isinstance(scope, str) else None
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    return Summary(id=wid, name=_text(item.get("name")) or _text(item.get("title")) or wid, version=version,
                   team=team, description=str(item.get("description") or "")[:300],
                   tags=tuple(str(t) for t in tags[:10]))


def read_page(body: object) -> Page:
    """A list answer: a bare list, or the list under ``data``, ``items`` or ``workflows``, and the
    next cursor at the top level or under ``pagination``/``meta``. ProtocolError otherwise."""
    found = body if isinstance(body, list) else next(
        (body[k] for k in LIST_KEYS if isinstance(body, dict) and isinstance(body.get(k), list)), None)
    if found is None:
        raise ProtocolError(f"Floyo's workflow list could not be read: it held {_keys(body)}, and no "
                            f"list under {', '.join(LIST_KEYS)}.")
    cursor = None
    for where in (body, *(body.get(k) for k in ("pagination", "meta"))) if isinstance(body, dict) else ():
        if isinstance(where, dict):
            cursor = cursor or next((where[k] for k in CURSOR_KEYS if isinstance(where.get(k), str)
                                     and where[k]), None)
    return Page(tuple(s for s in map(summary_of, found) if s is not None), cursor)


def _graph_in(holder: Mapping[str, Any]) -> object:
    for key in GRAPH_KEYS:
        value = holder.get(key)
        if isinstance(value, str):  # some APIs send JSON as a string
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, dict) and value:
            return value
    return None


def read_graph(body: object, wid: str) -> tuple[Summary | None, Prompt]:
    """A detail answer's workflow (its summary, when it says) and API-format graph, from
    ``prompt`` or ``workflow``, at the top level or under ``data``. WorkflowError names what came
    back when there is no API-format graph."""
    holders = [h for h in (body, body.get("data") if isinstance(body, dict) else None) if isinstance(h, dict)]
    for holder in reversed(holders):  # ``data`` first: an envelope's own fields are not the workflow's
        graph = _graph_in(holder)
        if graph is None:
            continue
        if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
            raise WorkflowError(f"Floyo workflow {wid} holds only a UI-format graph, and a run needs the "
                                "API format. Open it on Floyo and save it again, or export it in API "
                                "format and use 'embedded'.")
        try:
            return summary_of(holder), check_api_format(graph)
        except WorkflowError:
            raise WorkflowError(f"Floyo workflow {wid}'s graph is not an API-format workflow (a node "
                                "without class_type). Nothing was sent.") from None
    raise WorkflowError(f"Floyo's answer for workflow {wid} holds no API-format graph (no "
                        f"{' or '.join(GRAPH_KEYS)}; it held {_keys(holders[-1] if holders else body)}). "
                        "Nothing was sent; open the workflow on Floyo to check it, or use 'embedded'.")


def parse_ref(text: str) -> tuple[str, bool]:
    """``(value, is_id)`` for the node's ``floyo_workflow`` text: ``id:X`` and id-shaped text are
    ids, anything else a name. WorkflowError when empty."""
    text = (text or "").strip()
    if text.lower().startswith("id:"):
        text = text[3:].strip()
        if text:
            return text, True
    if not text:
        raise WorkflowError("No Floyo workflow is named: put a workflow's id or its name in "
                            "floyo_workflow, or pick one in the Floyo sidebar's Workflows section.")
    return text, bool(ID_RE.fullmatch(text))


def list_params(search: str = "", scope: str = "all", sort: str = "recent", cursor: str | None = None,
                limit: int = 25) -> dict[str, str]:
    params = {"scope": scope, "sort": sort, "limit": str(max(10, min(limit, PAGE_LIMIT)))}
    if search:
        params["search"] = search
    if cursor:
        params["cursor"] = cursor
    return params


async def list_workflows(client: Any, params: Mapping[str, str], *, stop: StopCheck = never_stop,
                         deadline_s: float = FETCH_DEADLINE_S) -> Page:
    """One page of ``GET /workflows``."""
    reply = await client.transport.call(Request("GET", client.api + "/workflows", params=dict(params),
                                                deadline_s=deadline_s), stop=stop)
    return read_page(reply.body)


async def get_workflow(client: Any, wid: str, *, stop: StopCheck = never_stop,
                       deadline_s: float = FETCH_DEADLINE_S) -> tuple[Summary | None, Prompt]:
    """``GET /workflows/{id}``: its summary and graph. A workflow gone, or one the key may not
    see, is a WorkflowError saying so."""
    shown = redact(wid)
    try:
        reply = await client.transport.call(Request("GET", f"{client.api}/workflows/{quote(wid, safe='')}",
                                                    deadline_s=deadline_s), stop=stop)
    except NotFound:
        raise WorkflowError(f"Floyo has no workflow {shown}: it was deleted, or the id is wrong. Pick "
                            "it again in the Floyo sidebar's Workflows section.") from None
    except AuthError as e:
        if e.status != 403:
            raise
        raise WorkflowError(f"Floyo refused workflow {shown} to this API key (HTTP 403): it belongs to "
                            "another team or is private. Ask its owner to share it, or use a key of "
                            "that team.") from None
    return read_graph(reply.body, shown)


class GraphCache:
    """Graphs by (API, team, id, version): a name whose version is unchanged costs no detail
    request. A workflow whose answer names no version is never served from here."""

    def __init__(self, size: int = CACHE_SIZE):
        self._size = size
        self._graphs: OrderedDict[tuple[str, str, str, str], Prompt] = OrderedDict()

    def get(self, key: tuple[str, str, str, str | None]) -> Prompt | None:
        if key[3] is None or key not in self._graphs:
            return None
        self._graphs.move_to_end(key)  # type: ignore[arg-type]
        return self._graphs[key]  # type: ignore[index]

    def put(self, key: tuple[str, str, str, str | None], graph: Prompt) -> None:
        if key[3] is None:
            return
        self._graphs[key] = graph  # type: ignore[index]
        while len(self._graphs) > self._size:
            self._graphs.popitem(last=False)


CACHE = GraphCache()  # one per process; graphs are read-only to their users (callers copy to change)


async def named(client: Any, name: str, *, stop: StopCheck = never_stop) -> Summary:
    """The one team workflow called ``name`` (case and outer spaces ignored). WorkflowError when
    none is, or several are (listing them)."""
    wanted, cursor, matches, seen = name.strip().casefold(), None, [], []
    for _ in range(NAME_PAGES):
        page = await list_workflows(client, list_params(name, "team", cursor=cursor, limit=PAGE_LIMIT),
                                    stop=stop)
        seen += [s.name for s in page.items]
        matches += [s for s in page.items if s.name.strip().casefold() == wanted and s.team is not False]
        if not (cursor := page.next_cursor):
            break
    shown = redact(name.strip())  # a key pasted by mistake must not reach the node error or the log
    if len(matches) > 1:
        listing = "; ".join(f"{s.id} (version {s.version or 'unknown'})" for s in matches)
        raise WorkflowError(f"{len(matches)} of your team's Floyo workflows are named {shown!r}: "
                            f"{listing}. Put the id of the one you mean in floyo_workflow, or pick it "
                            "in the Floyo sidebar's Workflows section.")
    if not matches:
        near = ", ".join(repr(redact(n)) for n in dict.fromkeys(seen[:5])) or "none"
        raise WorkflowError(f"No Floyo workflow of your team is named {shown!r} (a search "
                            f"found: {near}). Check the name, or pick one in the Floyo sidebar.")
    return matches[0]


async def resolve(client: Any, text: str, team: str, *, stop: StopCheck = never_stop,
                  cache: GraphCache = CACHE) -> Hosted:
    """The workflow ``text`` names (parse_ref), its graph from the cache when its version is
    known and unchanged, else fetched."""
    value, is_id = parse_ref(text)
    summary = None if is_id else await named(client, value, stop=stop)
    wid = summary.id if summary else value
    if summary is not None and (graph := cache.get((client.api, team, wid, summary.version))):
        return Hosted(wid, summary.name, summary.version, graph)
    detail, graph = await get_workflow(client, wid, stop=stop)
    version = (detail and detail.version) or (summary and summary.version)
    cache.put((client.api, team, wid, version), graph)
    name = (summary and summary.name) or (detail and detail.name) or wid
    return Hosted(wid, name, version, graph)


def override_targets(graph: Prompt) -> list[dict[str, Any]]:
    """What overrides can target in ``graph``: each node's id, title and type, and the names of its
    inputs that hold values (widgets), not links. Names only, never the values."""
    targets = []
    for node_id, node in graph.items():
        meta = node.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) and isinstance(meta.get("title"), str) else None
        inputs = [k for k, v in node.get("inputs", {}).items() if not is_link(v)]
        targets.append({"node": node_id, "title": title, "class_type": node.get("class_type"),
                        "inputs": inputs})
    return targets

