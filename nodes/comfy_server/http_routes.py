"""The pack's HTTP routes on ComfyUI's server, all under ``/floyo/``.

Handlers validate their input, answer JSON with a clear ``error`` message, and never return the
API key. Cancel only signals the node that owns the run (a thread-safe flag); that node sends
the remote cancel. ComfyUI's own origin checks stay in force: nothing here adds CORS. The write
routes (key set/clear, cancel) first pass request_guard: JSON only, same origin, and the key
routes local only unless FLOYO_ALLOW_REMOTE_KEY_SETUP=1, and addressed to a local Host. The runs
tab's Fetch is a write route too: it downloads (and so spends bandwidth) and writes files. The
GET routes answer with runs_view's fields only: never an owner or an absolute path.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ...floyo_client import (
    RUN_ID_RE,
    ConfigError,
    FloyoError,
    NotFound,
    PageQuery,
    key_status,
    states,
    write_key_file,
)
from .. import comfy
from ..run.active_runs import REGISTRY
from . import inbox_routes
from .inbox_routes import live_runs
from .request_guard import key_refusal, write_refusal
from .runs_tab import fetch_outputs
from .runs_view import public_run, relative_output
from .spend_routes import budgets

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def cancel_run(request: web.Request) -> web.Response:
    if (refusal := write_refusal(request)) is not None:
        return refusal
    body = await _json_body(request)
    if body is None:
        return _error(400, "Send a JSON object with run_id, node_id or prompt_id.")
    run_id, node_id, prompt_id = (body.get(k) for k in ("run_id", "node_id", "prompt_id"))
    if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id)):
        return _error(400, "run_id must look like run_ followed by letters and digits.")
    if not any(isinstance(v, str) and v for v in (run_id, node_id, prompt_id)):
        return _error(400, "Say which run to cancel: run_id, node_id or prompt_id.")
    active = REGISTRY.request_cancel(run_id=run_id, node_id=node_id and str(node_id),
                                     prompt_id=prompt_id)
    if active is None:
        return _error(404, "No Floyo run started by this ComfyUI matches; it may have finished already.")
    log.info("Floyo: cancel requested for node %s (run %s)", active.node_id, active.run_id)
    return web.json_response({"requested": True, **active.as_json()})


async def list_runs(request: web.Request) -> web.Response:
    """The journal, newest first: one page of the runs this ComfyUI started (``offset``, ``limit``,
    ``state``, ``q``: part of a name or run id), and what became of them, as the runs tab shows
    it (runs_view.py: no owner, no absolute path); whether another page follows (``more``); and
    whether runs are being recorded at all (``journal``: a peer may hold the file locked)."""
    q = request.query
    try:
        page = PageQuery.parse(q.get("offset", 0), q.get("limit", 200), q.get("state"), q.get("q"))
    except ValueError as e:
        return _error(400, f"{e}.")
    journal, output = comfy.journal(), comfy.output_dir()  # totals: FloTime and partner cost
    active = live_runs()
    watched = {a.get("run_id") for a in active if a.get("run_id")}
    runs, more = journal.page(page)
    return web.json_response({"runs": [public_run(r, output, r.run_id in watched) for r in runs],
                              "more": more, "states": states(), "active": active,
                              "totals": journal.totals(), "journal": journal.health(),
                              "budgets": budgets()})  # spend against each budget, beside the totals


async def get_run(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    if not RUN_ID_RE.fullmatch(run_id):
        return _error(400, "run_id must look like run_ followed by letters and digits.")
    record = comfy.journal().get(run_id)
    if record is None:
        return _error(404, f"{run_id} is not in this ComfyUI's Floyo journal.")
    return web.json_response(public_run(record, comfy.output_dir()))


async def fetch_run(request: web.Request) -> web.Response:
    """The runs tab's Fetch: save a finished run's outputs into output/floyo/<run id>/."""
    if (refusal := write_refusal(request)) is not None:
        return refusal
    run_id = request.match_info["run_id"]
    if not RUN_ID_RE.fullmatch(run_id):
        return _error(400, "run_id must look like run_ followed by letters and digits.")
    try:
        fetched = await fetch_outputs(run_id)
        return web.json_response({**fetched, "paths": [relative_output(p, comfy.output_dir())
                                                       for p in fetched["paths"]]})
    except ConfigError as e:
        return _error(400, str(e))
    except NotFound as e:
        return _error(404, str(e))
    except FloyoError as e:  # still running or failed (409), or Floyo unreachable (502)
        return _error(409 if e.run_id else 502, str(e))


async def get_key(request: web.Request) -> web.Response:
    return web.json_response(key_status(comfy.key_file()))


async def set_key(request: web.Request) -> web.Response:
    if (refusal := key_refusal(request)) is not None:
        return refusal
    body = await _json_body(request)
    key = body.get("key") if body else None
    if not isinstance(key, str):
        return _error(400, "Send {\"key\": \"flo_…\"}.")
    try:
        write_key_file(comfy.key_file(), key)
    except ConfigError as e:
        return _error(400, str(e))
    log.info("Floyo: API key saved to the key file")
    return web.json_response(key_status(comfy.key_file()))


async def clear_key(request: web.Request) -> web.Response:
    if (refusal := key_refusal(request)) is not None:
        return refusal
    comfy.key_file().unlink(missing_ok=True)
    return web.json_response(key_status(comfy.key_file()))


def register() -> bool:
    """Add the routes to ComfyUI's server, if one exists (it does not in unit tests) and does not
    have them yet (the server's own table says so: no flag here). True when this call added them."""
    return comfy.add_routes("/floyo/runs", _add)


def _add(table: web.RouteTableDef) -> None:
    table.post("/floyo/runs/cancel")(cancel_run)
    table.get("/floyo/runs")(list_runs)
    inbox_routes.add_to(table)  # /floyo/active, /floyo/runs/<id>/workflow (before /floyo/runs/<id>)
    table.get("/floyo/runs/{run_id}")(get_run)
    table.post("/floyo/runs/{run_id}/fetch")(fetch_run)
    table.get("/floyo/key")(get_key)
    table.post("/floyo/key")(set_key)
    table.delete("/floyo/key")(clear_key)
