"""The picker's routes: ``GET /floyo/workflows`` (a page of the team's and public workflows on
Floyo, with search, scope, sort and cursor) and ``GET /floyo/workflows/{id}`` (what overrides can
target in one: node titles and widget names, never the values).

Read-only, through the core (floyo_client/hosted.py) with the configured key, which never leaves
this module's requests to Floyo. Errors are JSON ``{"error": ...}`` naming the cause and the next
step. Must not run, cache or log a workflow's content.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from ...floyo_client import (
    ConfigError,
    FloyoError,
    WorkflowError,
    get_hosted_workflow,
    list_params,
    list_workflows,
    load_config,
    open_client,
    override_targets,
)
from .. import comfy
from ..current_graph.contract import FLOYO_WORKFLOW

log = logging.getLogger(__name__)
CHOICES = {"scope": ("all", "team", "public"), "sort": ("recent", "views", "likes")}
MAX_SEARCH = 200
# What "Use" in the picker sets on the node (web/floyo/workflow_picker.js keeps no copy of these)
FILL = {"source_input": "source", "source": FLOYO_WORKFLOW, "input": "floyo_workflow"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _params(query: Mapping[str, str]) -> dict[str, str] | str:
    """The list's parameters from the picker's query, or what is wrong with them."""
    chosen = {name: query.get(name) or choices[0] for name, choices in CHOICES.items()}
    for name, choices in CHOICES.items():
        if chosen[name] not in choices:
            return f"{name} must be one of {', '.join(choices)}."
    search = (query.get("search") or "").strip()
    if len(search) > MAX_SEARCH:
        return f"Search for at most {MAX_SEARCH} characters."
    return list_params(search, chosen["scope"], chosen["sort"], query.get("cursor") or None)


async def list_page(request: web.Request) -> web.Response:
    params = _params(request.query)
    if isinstance(params, str):
        return _error(400, params)
    try:
        async with open_client(load_config(comfy.key_file())) as client:
            page = await list_workflows(client, params)
    except ConfigError as e:
        return _error(400, str(e))
    except FloyoError as e:
        return _error(502, str(e))
    return web.json_response({"items": [s.to_json() for s in page.items], "next_cursor": page.next_cursor,
                              "fill": FILL})


async def targets(request: web.Request) -> web.Response:
    wid = request.match_info["workflow_id"]
    try:
        async with open_client(load_config(comfy.key_file())) as client:
            summary, graph = await get_hosted_workflow(client, wid)
    except ConfigError as e:
        return _error(400, str(e))
    except WorkflowError as e:
        return _error(404, str(e))
    except FloyoError as e:
        return _error(502, str(e))
    return web.json_response({"id": wid, "name": summary.name if summary else wid,
                              "version": summary.version if summary else None,
                              "targets": override_targets(graph)})


def _add(table: web.RouteTableDef) -> None:
    table.get("/floyo/workflows")(list_page)
    table.get("/floyo/workflows/{workflow_id}")(targets)


def register() -> bool:
    """Add the routes once per server; True when this call added them."""
    return comfy.add_routes("/floyo/workflows", _add)
