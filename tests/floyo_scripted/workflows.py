"""The scripted server's workflows: ``GET /workflows`` and ``GET /workflows/{id}`` served from
memory, behind the same middleware as every API route (realism, faults, auth, rate limit).

The list and detail logic is the gateway's (``floyo_server/workflows.py``); here a test adds
workflows (its team's, another team's, public ones) and scripts the envelope Floyo has not
confirmed: which key holds a page's items (``list_key``) and which the graph (``graph_key``,
None: none). Never used by the published pack.
"""

from __future__ import annotations

import weakref
from typing import Any

from aiohttp import web
from floyo_pack.floyo_server.workflows import EVERY_KEY, Entry, Library, add_routes

from .middleware import KEY
from .state import Store

__all__ = ["EVERY_KEY", "Entry", "ScriptedWorkflows", "install", "library_of"]
_LIBRARIES: dict[int, ScriptedWorkflows] = {}  # by id(store): a Store (a dataclass) is unhashable


class ScriptedWorkflows(Library):
    """The workflows a test serves. ``add`` returns the entry; edit it (``version``, ``graph``)
    between calls to play a team changing its workflow."""

    def add(self, wid: str, name: str, graph: Any, *, team: str | None = EVERY_KEY, **fields: Any) -> Entry:
        entry = Entry(id=wid, name=name, graph=graph, team=team, **fields)
        self.entries[wid] = entry
        return entry

    def reset(self) -> None:
        self.entries.clear()
        self.list_key, self.graph_key = "data", "prompt"


def library_of(store: Store) -> ScriptedWorkflows:
    """The one library of a server's store (made on first use)."""
    if id(store) not in _LIBRARIES:
        _LIBRARIES[id(store)] = ScriptedWorkflows()
        weakref.finalize(store, _LIBRARIES.pop, id(store), None)
    return _LIBRARIES[id(store)]


def install(app: web.Application, store: Store) -> None:
    """Serve the store's library on the API origin ``app``."""
    library = library_of(store)
    add_routes(app, lambda: library, lambda request: request.get(KEY))
