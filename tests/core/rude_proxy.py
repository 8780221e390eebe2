"""A loopback proxy in front of the scripted server's API that answers like the internet does.

Every answer is forwarded from the real scripted server (so runs, polls and cancels are counted
there), then written back in ``pieces`` writes ``delay_s`` apart, with Content-Length or chunked
framing, optionally gzip-encoded. While ``outage_until`` (loop time) is in the future, every
request instead gets a Cloudflare-style 52x HTML page or a connection reset.
For tests only; it serves loopback only.
"""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass

import aiohttp
from aiohttp import web

CLOUDFLARE_522 = (b"<!DOCTYPE html><html><head><title>api.floyo.ai | 522: Connection timed out"
                  b"</title></head><body><h1>Connection timed out</h1><p>Cloudflare</p></body></html>")
_HOP = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}


@dataclass
class Rudeness:
    pieces: int = 1
    delay_s: float = 0.0
    chunked: bool = False
    gzip: bool = False
    outage_until: float = 0.0
    outage_kind: str = "522"  # "522" (HTML page) or "reset"
    outage_hits: int = 0
    cut: int = 0  # the next ``cut`` answers break after their first piece (a reset mid-body)


class RudeProxy:
    def __init__(self, upstream: str, rudeness: Rudeness | None = None):
        self.upstream = upstream.rstrip("/")
        self.rude = rudeness or Rudeness()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def outage(self, seconds: float, kind: str = "522") -> None:
        self.rude.outage_until = asyncio.get_running_loop().time() + seconds
        self.rude.outage_kind = kind

    async def __aenter__(self) -> RudeProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if asyncio.get_running_loop().time() < self.rude.outage_until:
            self.rude.outage_hits += 1
            if self.rude.outage_kind == "reset" and request.transport is not None:
                request.transport.abort()
                return web.Response(status=200)
            return web.Response(status=522, body=CLOUDFLARE_522, content_type="text/html")
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", *_HOP)}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         headers=headers, data=await request.read()) as up:
            body = await up.read()
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in _HOP}
            return await self._write(request, up.status, out_headers, body)

    async def _write(self, request: web.Request, status: int, headers: dict[str, str],
                     body: bytes) -> web.StreamResponse:
        rude = self.rude
        if rude.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        resp = web.StreamResponse(status=status, headers=headers)
        if rude.chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = len(body)
        await resp.prepare(request)
        step = max(1, -(-len(body) // max(rude.pieces, 1)))
        for start in range(0, len(body), step):
            if start:
                await asyncio.sleep(rude.delay_s)
            await resp.write(body[start:start + step])
            if rude.cut > 0 and request.transport is not None:
                rude.cut -= 1
                await asyncio.sleep(0.05)
                request.transport.abort()
                return resp
        await resp.write_eof()
        return resp
