"""Cross-cutting request handling shared by the local server's origins.

Order, outermost first: record the request, network realism (outages, Cloudflare pages,
latency, then re-sending the answer in pieces: ``shaping``), scripted faults, bearer auth, the
per-key rate limiter. Routes named ``public:*`` (presigned links, the other host) skip auth and the limiter.
This module decides nothing about runs or files.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from floyo_pack.floyo_server.wire import bearer_key, json_error

from .recorder import RecordedRequest
from .state import Store

STORE: web.AppKey[Store] = web.AppKey("floyo_store", Store)
ORIGIN: web.AppKey[str] = web.AppKey("floyo_origin", str)
KEYS: web.AppKey[set[str]] = web.AppKey("floyo_keys", set)
# Request-scoped keys; web.RequestKey exists from aiohttp 3.14 (plain strings warn there).
_RequestKey: Any = getattr(web, "RequestKey", None)
RECORD: Any = _RequestKey("floyo_record", RecordedRequest) if _RequestKey else "floyo_record"
KEY: Any = _RequestKey("floyo_key", str) if _RequestKey else "floyo_key"

# Notes of requests whose connection was dropped before any answer: their status stays None.
_NO_ANSWER = frozenset({"dropped", "outage_reset", "outage_hang"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_public(request: web.Request) -> bool:
    name = request.match_info.route.name
    return bool(name and name.startswith("public:"))


def record_of(request: web.Request) -> RecordedRequest:
    return request[RECORD]


@web.middleware
async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log the request before anything else can answer it; fill in the status afterwards."""
    store = request.app[STORE]
    rec = store.recorder.add(RecordedRequest(
        method=request.method, path=request.path, query=dict(request.query),
        headers=dict(request.headers), origin=request.app[ORIGIN],
        body_size=request.content_length, time=store.wall_clock()))
    request[RECORD] = rec
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        rec.status = exc.status
        raise
    if rec.note not in _NO_ANSWER:
        rec.status = response.status
    return response


@web.middleware
async def realism(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Shape the answer as the scenario's realism knobs say, on the origins they name. The knobs
    and the shaping live with the tests (tests/floyo_scripted/realism.py): the gateway has none."""
    store = request.app[STORE]
    knobs = store.scenario.realism
    origin = request.app[ORIGIN]
    if knobs is None or origin not in knobs.origins:
        return await handler(request)
    return await knobs.answer(request, handler, store, origin, record_of(request))


def _fault_response(body: Any, status: int, retry_after: str | int | None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if isinstance(body, (dict, list)):
        return web.json_response(body, status=status, headers=headers)
    return web.Response(text="" if body is None else str(body), status=status, headers=headers)


@web.middleware
async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer with the first matching scripted fault (consuming one of its count)."""
    store = request.app[STORE]
    origin = request.app[ORIGIN]
    fault = store.take_first(store.scenario.faults,
                             lambda f: f.matches(request.method, request.path, origin))
    if fault is None:
        return await handler(request)
    record_of(request).note = "fault"
    if fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)
    if fault.status is None:
        return await handler(request)
    return _fault_response(fault.body, fault.status, fault.retry_after)


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the request carries ``Authorization: Bearer <allowed key>``."""
    if is_public(request):
        return await handler(request)
    key = bearer_key(request)
    if key is None or key not in request.app[KEYS]:
        return json_error(401, "Unauthorized", "Invalid API key")
    request[KEY] = key
    record_of(request).key = key
    return await handler(request)


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Fixed window per key over the API and the CDN together; 429 once the window is spent."""
    key = request.get(KEY)
    if key is None:
        return await handler(request)
    store = request.app[STORE]
    wait_s = store.rate_limit(key)
    if wait_s is None:
        return await handler(request)
    sc = store.scenario
    headers = {"Retry-After": str(max(1, math.ceil(wait_s)))} if sc.rate_limit_retry_after else None
    return json_error(429, "Too Many Requests",
                      f"Rate limit exceeded: {sc.rate_limit} requests per {sc.rate_window_s:g} seconds",
                      headers=headers)


def make_app(store: Store, origin: str, keys: set[str], *, guarded: bool = True) -> web.Application:
    """An application for one origin; ``guarded`` adds auth and the rate limiter."""
    chain = [record, realism, faults] + ([auth, rate_limit] if guarded else [])
    app = web.Application(middlewares=chain, client_max_size=256 * 1024 * 1024)
    app[STORE] = store
    app[ORIGIN] = origin
    app[KEYS] = keys
    return app
