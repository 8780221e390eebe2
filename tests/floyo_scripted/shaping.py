"""Sends the local server's answers the way the internet would, as the scenario's ``Realism`` says.

``answer`` wraps one request (the ``realism`` middleware calls it right after the request log):
outages and Cloudflare pages answer before any handler runs; latency waits before the handler;
the handler's ``web.Response`` is then re-sent as a stream in pieces (chunked, gzip, paced, or
cut by a reset). It never changes what an answer says, only how it travels. Answers a handler
already streamed (download faults) and HTTP exceptions pass through untouched.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
import struct
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict

from .realism import CloudflarePage, LateBody, Link, Outage, Realism, Reset, Sent, cloudflare_html
from .recorder import RecordedRequest
from .state import Store

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_COMPRESSIBLE = ("application/json", "text/")
_PACE_SLICE_S = 0.02  # a paced body leaves in slices of about this much link time
# Request-scoped key; web.RequestKey exists from aiohttp 3.14 (plain strings warn there).
_RequestKey: Any = getattr(web, "RequestKey", None)
_NEW_CONNECTION: Any = _RequestKey("floyo_new_connection", bool) if _RequestKey else "floyo_new_connection"


def abort(request: web.Request) -> None:
    """Close the connection with a TCP RST ("connection reset by peer"), TLS or not."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _record(knobs: Realism, request: web.Request, origin: str, status: int | None, fate: str,
            **how: Any) -> None:
    knobs.sent.append(Sent(origin=origin, method=request.method, path=request.path,
                           scheme=request.scheme, status=status, fate=fate,
                           new_connection=request[_NEW_CONNECTION], **how))


def _count_open(request: web.Request, knobs: Realism, origin: str) -> None:
    """Record the most connections of ``origin`` open at once (those still open as a request arrives)."""
    transport = request.transport
    if transport is None:
        return
    seen = knobs.open_connections.setdefault(origin, weakref.WeakSet())
    seen.add(transport)
    now = sum(1 for t in list(seen) if not t.is_closing())
    knobs.most_connections[origin] = max(knobs.most_connections.get(origin, 0), now)


def _delay(request: web.Request, knobs: Realism) -> float:
    """This request's latency (+ seeded jitter), plus ``handshake_s`` on a new connection; marks
    the request with whether its connection is new."""
    transport = request.transport  # one per connection (TLS or not), weakly held
    new = transport is not None and transport not in knobs.connections
    if new:
        knobs.connections.add(transport)
    request[_NEW_CONNECTION] = new
    jitter = knobs.rng.uniform(0.0, knobs.jitter_s) if knobs.jitter_s > 0 else 0.0
    return knobs.latency_s + jitter + (knobs.handshake_s if new else 0.0)


def cloudflare_response(request: web.Request, knobs: Realism, status: int) -> web.Response:
    """Cloudflare's HTML error page for ``status``, with its ``Server``/``CF-RAY`` headers."""
    ray = f"{knobs.rng.getrandbits(64):016x}"
    return web.Response(text=cloudflare_html(status, request.host, ray), status=status,
                        content_type="text/html", charset="utf-8",
                        headers={"Server": "cloudflare", "CF-RAY": f"{ray}-IAD"})


def _early_fault(store: Store, knobs: Realism, request: web.Request,
                 origin: str) -> Outage | CloudflarePage | None:
    """An active outage matching the request, else a pending Cloudflare page (consumed)."""
    with store.lock:
        now = store.clock()
        for outage in knobs.outages:
            if outage.matches(request.method, request.path, origin) and outage.active(now):
                return outage
    return store.take_first(knobs.pages, lambda p: p.matches(request.method, request.path, origin))


async def answer(request: web.Request, handler: Handler, knobs: Realism, store: Store, origin: str,
                 rec: RecordedRequest) -> web.StreamResponse:
    """Serve ``request`` through ``handler`` shaped by ``knobs``; ``rec`` is its log entry."""
    _count_open(request, knobs, origin)
    early = _early_fault(store, knobs, request, origin)
    delay = _delay(request, knobs)
    if delay > 0:
        await asyncio.sleep(delay)
    if isinstance(early, Outage) and early.kind in ("reset", "hang"):
        rec.note = f"outage_{early.kind}"
        _record(knobs, request, origin, None, rec.note)
        if early.kind == "hang":  # held in real seconds: what is left of the window on arrival
            await asyncio.sleep(early.remaining(store.clock()))
        abort(request)
        return web.Response(status=200)  # never sent: the transport is gone
    if early is not None:
        rec.note = "outage_page" if isinstance(early, Outage) else "cloudflare_page"
        response: web.StreamResponse = cloudflare_response(request, knobs, early.status)
    else:
        response = await handler(request)
    if not _shapeable(request, response) or not knobs.shapes:
        fate = _unshaped_fate(request, response, early is not None)
        _record(knobs, request, origin, response.status, fate, pieces=int(fate in ("whole", "page")))
        return response
    reset = store.take_first(knobs.resets, lambda r: r.matches(request.method, request.path, origin))
    if reset is not None:
        rec.note = "reset"
    late = store.take_first(knobs.late_bodies, lambda r: r.matches(request.method, request.path, origin))
    return await _resend(request, response, knobs, reset, origin, early is not None, late)


def _unshaped_fate(request: web.Request, response: web.StreamResponse, page: bool) -> str:
    if response.prepared:
        return "passthrough"
    transport = request.transport
    if transport is None or transport.is_closing():
        return "dropped"  # the handler cut the connection itself (create_drop_connection)
    return "page" if page else "whole"


def _shapeable(request: web.Request, response: web.StreamResponse) -> bool:
    transport = request.transport
    return (isinstance(response, web.Response) and not response.prepared
            and isinstance(response.body, (bytes, bytearray)) and request.method != "HEAD"
            and transport is not None and not transport.is_closing())


def _encode(request: web.Request, response: web.Response, knobs: Realism) -> tuple[bytes, str | None]:
    body = bytes(response.body)  # type: ignore[arg-type]
    wants = "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "").lower()
    compressible = response.content_type.startswith(_COMPRESSIBLE)
    if (knobs.gzip and wants and compressible and body and response.status != 206
            and hdrs.CONTENT_ENCODING not in response.headers):
        return gzip.compress(body, mtime=0), "gzip"
    return body, None


def _pieces(body: bytes, knobs: Realism) -> list[memoryview]:
    """``body`` cut at seeded random points into ``knobs.pieces`` parts, then capped in size."""
    if not body:
        return []
    view = memoryview(body)  # slices share the body's memory: no copy of a large download
    inner = range(1, len(body))
    cuts = sorted(knobs.rng.sample(inner, min(knobs.pieces - 1, len(inner))))
    parts = [view[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    cap = knobs.max_piece_bytes
    if knobs.bandwidth_bps > 0:
        paced = max(1024, int(knobs.bandwidth_bps * _PACE_SLICE_S))
        cap = min(cap, paced) if cap > 0 else paced
    if cap <= 0:
        return parts
    return [part[i:i + cap] for part in parts for i in range(0, len(part), cap)]


async def _pace(link: Link, bps: float, nbytes: int) -> None:
    """Wait until ``nbytes`` have crossed ``link`` at ``bps`` (no wait when unpaced)."""
    if bps > 0:
        wait = link.reserve(asyncio.get_running_loop().time(), nbytes / bps)
        if wait > 0:
            await asyncio.sleep(wait)


async def _hold_body(late: LateBody | None) -> float:
    """With a ``LateBody``: hold the body back after the headers (a ``StreamResponse`` puts its
    headers on the wire in ``prepare``; only a plain ``Response`` keeps them for its body)."""
    if late is None or late.seconds <= 0:
        return 0.0
    await asyncio.sleep(late.seconds)
    return late.seconds


async def _resend(request: web.Request, response: web.Response, knobs: Realism, reset: Reset | None,
                  origin: str, page: bool, late: LateBody | None = None) -> web.StreamResponse:
    body, encoding = _encode(request, response, knobs)
    headers = CIMultiDict(response.headers)
    for name in (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING):
        headers.popall(name, None)
    if encoding is not None:
        headers[hdrs.CONTENT_ENCODING] = encoding
        headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING
    out = web.StreamResponse(status=response.status, reason=response.reason, headers=headers)
    if knobs.chunked:
        out.enable_chunked_encoding()
    else:
        out.content_length = len(body)
    if reset is not None:  # always short of the whole body, so the cut is mid-body
        body = body[:min(max(reset.after_bytes, 0), max(len(body) - 1, 0))]
    parts = _pieces(body, knobs)
    # "shared": one link for the whole server; "connection": this answer's own
    link = knobs.link if knobs.bandwidth_scope == "shared" else Link(burst_s=_PACE_SLICE_S)
    await out.prepare(request)
    late_s = await _hold_body(late)
    for i, part in enumerate(parts):
        if i and knobs.piece_delay_s > 0:
            await asyncio.sleep(knobs.piece_delay_s)
        await _pace(link, knobs.bandwidth_bps, len(part))
        await out.write(part)
    how = dict(pieces=len(parts), chunked=knobs.chunked, encoding=encoding, body_bytes=len(body),
               late_s=late_s)
    if reset is not None:
        _record(knobs, request, origin, response.status, "reset", **how)
        abort(request)
        return out
    await out.write_eof()
    _record(knobs, request, origin, response.status, "page" if page else "whole", **how)
    return out
