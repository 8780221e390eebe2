"""GatewayServer (async) and GatewayThread: the Floyo API + CDN on loopback, backed by a ComfyUI worker.

Only starts, stops and gives access; run logic is in ``gateway``, request handling in
``gateway_app``. Binds loopback only (the worker itself may be anywhere). Never talks to Floyo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .gateway import Gateway
from .gateway_app import make_gateway_apps
from .gateway_runs import GatewayRun
from .scenario import Scenario
from .server import DEFAULT_KEYS, bind, check_loopback
from .state import Store
from .worker import WorkerClient

log = logging.getLogger(__name__)



class GatewayServer:
    """``async with GatewayServer("http://127.0.0.1:8188") as gw``: Floyo's API over a ComfyUI."""

    def __init__(self, worker_url: str, *, keys: Iterable[str] = DEFAULT_KEYS, host: str = "127.0.0.1",
                 api_port: int = 0, cdn_port: int = 0, rate_limit: int = 100):
        check_loopback(host)
        self.keys: set[str] = set(keys)
        self.worker_url = worker_url.rstrip("/")
        self._host, self._ports = host, (api_port, cdn_port)
        self.store = Store(Scenario(rate_limit=rate_limit))
        self.gateway: Gateway | None = None
        self._runners: list[web.AppRunner] = []
        self._urls: list[str] = []

    async def start(self) -> GatewayServer:
        """Bind both origins; the worker is first contacted by the first request, not here."""
        worker = WorkerClient(self.worker_url)
        await worker.start()
        self.gateway = Gateway(self.store, worker)
        apps = make_gateway_apps(self.store, self.gateway, self.keys)
        self._urls = await bind(apps, self._host, self._ports, self._runners)
        self.store.cdn_url = self._urls[1]
        log.info("Floyo gateway: api %s cdn %s -> ComfyUI worker %s", *self._urls, self.worker_url)
        return self

    async def stop(self) -> None:
        while self._runners:
            await self._runners.pop().cleanup()
        if self.gateway is not None:
            await self.gateway.worker.close()

    async def __aenter__(self) -> GatewayServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return self._urls[0]

    @property
    def cdn_url(self) -> str:
        return self._urls[1]

    @property
    def runs(self) -> dict[str, GatewayRun]:
        """A snapshot ``{run_id: GatewayRun}`` in creation order (the records are live)."""
        return dict(self.gateway.runs) if self.gateway is not None else {}

    @property
    def requests(self) -> Any:
        """The request log (a ``Recorder``), as on the scripted server."""
        return self.store.recorder


class GatewayThread:
    """A GatewayServer on its own loop in a daemon thread, for synchronous tests and scripts."""

    def __init__(self, worker_url: str, **kwargs: Any):
        self.server = GatewayServer(worker_url, **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="floyo-gateway", daemon=True)

    def __getattr__(self, name: str) -> Any:
        if name in ("api_url", "cdn_url", "runs", "requests", "keys", "worker_url", "store"):
            return getattr(self.server, name)
        raise AttributeError(name)

    def start(self, timeout: float = 15.0) -> GatewayThread:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> GatewayThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
