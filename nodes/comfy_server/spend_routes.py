"""The spend guard's routes: ``GET /floyo/balance`` and ``POST /floyo/estimate``.

The balance is Floyo's ``GET /team/balance`` (unconfirmed, docs/floyo-api.md 2.8), read on
demand (the settings panel and the runs tab, when opened and after each run) and remembered for
the queue-time check. A key that may not read it, or a Floyo without the route, answers
``{"available": false}``: the page hides the balance, no error. The estimate takes what the
frontend would queue (``prompt`` and ``extra_data``) and answers each Floyo node's estimate and
the budget check the prompt hook would make; it sends nothing to Floyo. Never returns the key.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from aiohttp import web

from ...floyo_client import NO_HISTORY, Budgets, ConfigError, Prompt, load_config
from .. import comfy
from ..current_graph import ui_graph
from ..current_graph.prompt_hook import current_graph_nodes, split_for_node
from ..current_graph.spend_checks import fetch_balance, spend_check
from ..current_graph.spend_settings import spend_env
from .request_guard import write_refusal

log = logging.getLogger(__name__)


async def balance(request: web.Request) -> web.Response:
    try:
        config = load_config(comfy.key_file())
    except ConfigError:
        return web.json_response({"available": False, "why": "no key"})
    found = await fetch_balance(config)
    if found is None:
        return web.json_response({"available": False})
    return web.json_response({"available": True, **found.to_json()})


def budgets() -> dict[str, Any]:
    """Each budget (env name -> value, None when off), as GET /floyo/runs shows it beside the totals."""
    try:
        return Budgets.from_env(spend_env()).to_json()
    except ConfigError as e:
        return {"problem": str(e)}


def _remotes(body: dict[str, Any], prompt: Prompt) -> dict[str, Prompt | None]:
    """The current-graph node's remote part, split as the prompt hook would (on a copy)."""
    nodes = current_graph_nodes(prompt)
    if not nodes:
        return {}
    try:
        completed = ui_graph.complete(copy.deepcopy(body), copy.deepcopy(prompt), nodes[0])
        return {nodes[0]: split_for_node(completed, nodes[0]).remote}
    except Exception:  # noqa: BLE001 - a graph the hook would refuse has no estimate
        return {nodes[0]: None}


async def estimate(request: web.Request) -> web.Response:
    if (refusal := write_refusal(request)) is not None:
        return refusal
    try:
        body = await request.json()
    except ValueError:
        body = None
    prompt = body.get("prompt") if isinstance(body, dict) else None
    if not isinstance(prompt, dict):
        return web.json_response({"error": "Send {\"prompt\": <API-format prompt>} as queued."}, status=400)
    planned, problem = spend_check(prompt, _remotes(body, prompt))
    nodes = {p.node_id: {"runs": p.runs, "estimate": p.estimate.to_json() if p.estimate else None,
                         "text": p.estimate.text(p.runs) if p.estimate else NO_HISTORY} for p in planned}
    return web.json_response({"nodes": nodes, "problem": problem, "budgets": budgets()})


def _add(table: web.RouteTableDef) -> None:
    table.get("/floyo/balance")(balance)
    table.post("/floyo/estimate")(estimate)


def register() -> bool:
    """Add the routes once per server; True when this call added them."""
    return comfy.add_routes("/floyo/balance", _add)
