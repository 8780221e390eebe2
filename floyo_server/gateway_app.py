"""Gateway mode's two origins: the Floyo API (runs, files) and the CDN (upload, downloads), with
what every request goes through: bearer auth, the per-key limiter, then the request log.

Handlers parse the request, call the ``Gateway`` and render Floyo's JSON shapes; a run, file or
upload of another key is answered 404, as an unknown one. Every route of the gateway is
registered in ``make_gateway_apps``. No worker HTTP here.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..floyo_client import EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S, VOCABULARIES, Phase
from .access import FixedWindowLimiter, Keys, LoggedRequest, RequestLog, key_id, owner_of
from .gateway import Gateway
from .gateway_files import (
    GATEWAY,
    LINKS,
    OWNER,
    SPOOL,
    Links,
    bearer_download,
    get_file,
    presigned_download,
    upload,
)
from .gateway_runs import GatewayRun, StoredFile
from .origin import FINISHED_MESSAGES, Invalid, parse_create, parse_expand
from .wire import bearer_key, iso_now, json_error
from .worker import WorkerUnavailable

log = logging.getLogger(__name__)

_WORDS = {**VOCABULARIES["docs"], Phase.UNKNOWN: "processing"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access:
    """What the middleware needs: the keys, the limiter and its numbers, the request log."""

    def __init__(self, keys: Keys, rate_limit: int, log_size: int = 0, window_s: float = 60.0):
        self.keys, self.rate_limit, self.window_s = keys, rate_limit, window_s
        self.limiter = FixedWindowLimiter()
        self.log = RequestLog(log_size)


ACCESS: web.AppKey[Access] = web.AppKey("floyo_access", Access)
ORIGIN: web.AppKey[str] = web.AppKey("floyo_origin", str)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without an accepted key, 429 past the key's window; an answered request is logged
    (key by its id, never a header) only once its key was accepted."""
    name = request.match_info.route.name
    if name and name.startswith("public:"):
        return await handler(request)
    access, key = request.app[ACCESS], bearer_key(request)
    if key is None or key not in access.keys:
        return json_error(401, "Unauthorized", "Invalid API key")
    request[OWNER] = owner_of(key)
    wait_s = access.limiter.hit(key, access.rate_limit, access.window_s, time.monotonic())
    if wait_s is not None:
        response: web.StreamResponse = json_error(
            429, "Too Many Requests", f"Rate limit exceeded: {access.rate_limit} requests per "
            f"{access.window_s:g} seconds", headers={"Retry-After": str(max(1, math.ceil(wait_s)))})
    else:
        response = await handler(request)
    access.log.add(LoggedRequest(request.app[ORIGIN], request.method, request.path, key_id(key),
                                 response.status))
    return response


def _bad_gateway(exc: WorkerUnavailable) -> web.Response:
    log.warning("%s", exc)
    return json_error(502, "Bad Gateway", "The ComfyUI worker behind this gateway is unreachable")


def client_comfyui(user_agent: str) -> str | None:
    """The sender's ComfyUI release from its User-Agent (the pack adds ``ComfyUI/<version>``)."""
    found = re.search(r"\bComfyUI/([0-9][0-9A-Za-z.+-]{0,30})", user_agent)
    return found.group(1) if found else None


def render_run(links: Links, run: GatewayRun, outputs: list[StoredFile], expires_in: int | None,
               progress: dict[str, Any] | None = None) -> dict:
    """A run as ``GET /runs/{id}`` shows it; ``progress`` is the gateway's extension
    (docs/floyo-api.md, "Live progress"), present only while the worker reports a step."""
    urls = [links.presigned_url(f, expires_in) if expires_in is not None else None for f in outputs]
    body: dict[str, Any] = {"id": run.id, "object": "run", "name": run.name, "status": _WORDS[run.phase],
                            "requested_at": run.requested_at, "created_at": run.requested_at,
                            "outputs": [f.to_json(url) for f, url in zip(outputs, urls, strict=True)]}
    if run.phase.terminal:
        body["finished_at"] = run.finished_at
        if run.flotime_ms is not None:
            body["flotime_ms"] = run.flotime_ms
    if run.phase is Phase.FAILED and run.error is not None:
        body["error"] = run.error.to_json()
    if progress is not None and run.phase is Phase.RUNNING:
        body["progress"] = progress
    return body


async def create_run(request: web.Request) -> web.StreamResponse:
    try:
        workflow, name = parse_create(await request.read(), None)
    except Invalid as exc:
        return json_error(400, "Validation error", str(exc.args[0]))
    try:
        run = await request.app[GATEWAY].create(workflow, name, request[OWNER],
                                                client_comfyui(request.headers.get("User-Agent", "")))
    except WorkerUnavailable as exc:
        log.warning("%s", exc)
        return json_error(500, "Internal Server Error", "Failed to create run")
    return web.json_response({"id": run.id, "object": "run", "name": run.name})


async def get_run(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    try:
        expires_in = parse_expand(request.query, EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return json_error(400, "Validation error", str(exc))
    run = gateway.store.run(request.match_info["run_id"], request[OWNER])
    if run is None:
        return json_error(404, "Run not found")
    await gateway.refresh([run])
    return web.json_response(render_run(request.app[LINKS], run, gateway.outputs(run), expires_in,
                                        gateway.progress_of(run)))


async def list_runs(request: web.Request) -> web.StreamResponse:
    """``GET /runs?search=&limit=``: the key's runs whose name contains ``search``, newest first,
    as last seen (a lost create is found by its marker, then polled as usual)."""
    gateway, search = request.app[GATEWAY], request.query.get("search") or ""
    try:
        limit = max(1, min(int(request.query.get("limit", "10")), 100))
    except ValueError:
        return json_error(400, "Validation error", "limit must be an integer")
    runs, more = gateway.store.runs_of(request[OWNER], search, limit)
    page = [render_run(request.app[LINKS], run, [], None) for run in runs]
    return web.json_response({"object": "list", "data": page, "has_more": more})


async def cancel_run(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    run = gateway.store.run(request.match_info["run_id"], request[OWNER])
    if run is None:
        return json_error(404, "Run not found")
    try:
        accepted = await gateway.cancel(run)
    except WorkerUnavailable as exc:
        return _bad_gateway(exc)
    if accepted:
        return web.json_response({"id": run.id, "object": "run", "message": "Run cancelled"})
    return web.json_response({"id": run.id, "status": _WORDS[run.phase], "object": "run",
                              "error": "Run is already finished",
                              "message": FINISHED_MESSAGES.get(run.phase, "Run is already finished")},
                             status=409)


async def team_balance(request: web.Request) -> web.StreamResponse:
    """A gateway has no FloTime to sell: its balance never runs out."""
    return web.json_response({"available_flotime_ms": 10**12, "partner_nodes_usd": 0.0,
                              "calculated_at": iso_now()})


def _app(origin: str, gateway: Gateway, access: Access, links: Links, spool: Any) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=32 * 1024 * 1024)  # a create's workflow
    app[ORIGIN], app[GATEWAY], app[ACCESS], app[LINKS], app[SPOOL] = origin, gateway, access, links, spool
    return app


def make_gateway_apps(gateway: Gateway, access: Access, links: Links,
                      spool: Any) -> tuple[web.Application, ...]:
    """The API origin and the CDN origin of gateway mode: every route, here."""
    api, cdn = (_app(o, gateway, access, links, spool) for o in ("api", "cdn"))
    api.router.add_post("/runs", create_run)
    api.router.add_get("/runs", list_runs)
    api.router.add_get("/runs/{run_id}", get_run)
    api.router.add_post("/runs/{run_id}/cancel", cancel_run)
    api.router.add_get("/files/{file_id}", get_file)
    api.router.add_get("/team/balance", team_balance)
    cdn.router.add_post("/upload", upload)
    cdn.router.add_get("/p/{file_id}/{file_name:.+}", presigned_download, name="public:presigned")
    cdn.router.add_get("/{file_id}/download", bearer_download)
    return api, cdn
