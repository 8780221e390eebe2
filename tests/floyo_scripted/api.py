"""The local server's API origin: create, get and cancel runs, file metadata, team balance.

Handlers parse the request, ask the store, and render Floyo's JSON shapes; auth, faults and
rate limits happen in the middleware. Bytes are served by the CDN origin, never here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from floyo_pack.floyo_client.models import (
    BILLING_STATUSES,
    EXPAND_RUN_OUTPUT_URLS,
    RUN_URL_EXPIRY_RANGE_S,
    Phase,
)
from floyo_pack.floyo_server.origin import (
    FINISHED_MESSAGES,
    Invalid,
    parse_create,
    parse_expand,
    validation_error,
)
from floyo_pack.floyo_server.wire import new_id

from . import images, workflows
from .middleware import KEY, STORE, json_error, make_app, record_of
from .reads import get_file, output_url, team_balance
from .records import FileRecord, RunRecord, output_names
from .state import Store

log = logging.getLogger(__name__)


async def create_run(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    raw = await request.read()
    record_of(request).body_size = len(raw)
    try:
        workflow, name = parse_create(raw, store.scenario.allowed_class_types)
    except Invalid as exc:
        extra = {"details": exc.args[1]} if len(exc.args) > 1 else {}
        return validation_error(str(exc.args[0]), **extra)
    run = store.create_run(workflow, name, request.get(KEY))
    log.info("created %s (%s)", run.id, name)
    if store.take("create_drop_connection") and request.transport is not None:
        # The run exists, but the client never hears about it: the at-most-once create case.
        record_of(request).note = "dropped"
        request.transport.abort()
        return web.Response(status=200)
    with store.lock:
        garbled = store.scenario.garbled_creates.pop(0) if store.scenario.garbled_creates else None
    if garbled is not None:  # the run exists; its answer is unreadable (e.g. [[[[… too deep to parse)
        record_of(request).note = "garbled"
        return web.Response(text=garbled, content_type="application/json")
    return web.json_response({"id": run.id, "object": "run", "name": run.name})


async def _ensure_outputs(store: Store, run: RunRecord) -> list[FileRecord]:
    """Generate the files of a succeeded run once (off the loop: large PNGs take a while)."""
    if run.outputs is not None:
        return run.outputs
    specs = run.output_specs
    loop = asyncio.get_running_loop()
    blobs = await loop.run_in_executor(None, lambda: [images.generate(s) for s in specs])
    names = output_names(run.workflow, specs, [images.extension(s) for s in specs])
    with store.lock:
        if run.outputs is None:
            run.outputs = [store.add_file(FileRecord(
                id=new_id("file_"), file_name=name, mime_type=images.mime_type(spec), data=blob,
                input_path=f"#outputs/{name}")) for spec, name, blob in zip(specs, names, blobs, strict=True)]
        return run.outputs


def _failure(run: RunRecord, word: str) -> dict[str, Any]:
    if word in BILLING_STATUSES:
        return {"type": word, "message": "Insufficient balance to run this workflow"}
    return run.failure.to_json()


def render_run(store: Store, run: RunRecord, outputs: list[FileRecord], expires_in: int | None) -> dict:
    """A run as ``GET /runs/{id}`` shows it."""
    sc = store.scenario
    word, phase = run.step.word(sc.vocabulary), run.phase
    expired = expires_in is not None and bool(outputs) and store.take("expired_links")
    body: dict[str, Any] = {"id": run.id, "object": "run", "name": run.name, "status": word,
                            "requested_at": run.requested_at, "created_at": run.requested_at,
                            "outputs": [f.to_json(output_url(store, f, expires_in, expired))
                                        for f in outputs]}
    if phase.terminal:
        body["finished_at"] = run.finished_at
    if sc.flotime_ms is not None and (phase.terminal or (sc.flotime_live and phase is Phase.RUNNING)):
        body["flotime_ms"] = sc.flotime_ms
    if phase is Phase.SUCCEEDED:
        if sc.partner_nodes_cost_usd is not None:
            body["partner_nodes_cost_usd"] = sc.partner_nodes_cost_usd
        if sc.noisy_success_error:
            body["error"] = {"type": "system", "message": "Worker reported a non-fatal warning"}
    elif phase is Phase.FAILED:
        body["error"] = _failure(run, word)
    return body


async def get_run(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    try:
        expires_in = parse_expand(request.query, EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return validation_error(str(exc))
    run = store.poll_run(request.match_info["run_id"])
    if run is None:
        return json_error(404, "Run not found")
    outputs = await _ensure_outputs(store, run) if run.phase is Phase.SUCCEEDED else []
    return web.json_response(render_run(store, run, outputs, expires_in))


async def _listed_by_id(request: web.Request, store: Store, limit: int) -> web.StreamResponse:
    """``ids=a,b``: those of the key's runs, each moved on and shown (output URLs included with
    ``expand``) as one ``GET /runs/{id}`` would show it. With ``scenario.run_list_filters`` off,
    ``ids`` is ignored: the key's newest runs, as a list without that filter would answer."""
    try:
        expires_in = parse_expand(request.query, EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return validation_error(str(exc))
    if store.scenario.run_list_filters:
        ids = dict.fromkeys(filter(None, request.query.get("ids", "").split(",")))
        found = [store.runs.get(i) for i in ids]
    else:
        found = store.list_runs(request.get(KEY), None, limit + 1)
    runs = [store.poll_run(r.id) for r in found if r is not None and r.key == request.get(KEY)]
    page = []
    for run in runs[:limit]:
        outputs = await _ensure_outputs(store, run) if run.phase is Phase.SUCCEEDED else []
        page.append(render_run(store, run, outputs, expires_in))
    return web.json_response({"object": "list", "data": page, "has_more": len(runs) > limit})


async def list_runs(request: web.Request) -> web.StreamResponse:
    """``GET /runs?search=&limit=`` and ``?ids=a,b``: unconfirmed on Floyo, so
    ``scenario.run_list`` (False: 404) can hide it and ``scenario.run_list_filters`` (False)
    can make it ignore both filters."""
    store = request.app[STORE]
    if not store.scenario.run_list:
        return json_error(404, "Not Found")
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        return validation_error("limit must be an integer")
    if not 1 <= limit <= 100:
        return validation_error("limit must be between 1 and 100")
    if "ids" in request.query or not store.scenario.run_list_filters:  # the pack's list poll
        return await _listed_by_id(request, store, limit)
    runs = store.list_runs(request.get(KEY), request.query.get("search"), limit + 1)
    page = [render_run(store, run, [], None) for run in runs[:limit]]
    return web.json_response({"object": "list", "data": page, "has_more": len(runs) > limit})


async def cancel_run(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    run, accepted = store.cancel_run(request.match_info["run_id"])
    if run is None:
        return json_error(404, "Run not found")
    if accepted:
        return web.json_response({"id": run.id, "object": "run", "message": "Run cancelled"})
    word = run.step.word(store.scenario.vocabulary)
    return web.json_response({"id": run.id, "status": word, "object": "run",
                              "error": "Run is already finished",
                              "message": FINISHED_MESSAGES.get(run.phase, "Run is already finished")},
                             status=409)


def make_api_app(store: Store, keys: set[str]) -> web.Application:
    """The API origin (``api.floyo.ai`` stand-in)."""
    app = make_app(store, "api", keys)
    app.router.add_post("/runs", create_run)
    app.router.add_get("/runs", list_runs)
    app.router.add_get("/runs/{run_id}", get_run)
    app.router.add_post("/runs/{run_id}/cancel", cancel_run)
    app.router.add_get("/files/{file_id}", get_file)
    app.router.add_get("/team/balance", team_balance)
    workflows.install(app, store)  # GET /workflows, GET /workflows/{id}
    return app
