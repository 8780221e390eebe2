"""GatewayServer: the Floyo API + CDN on loopback, backed by a ComfyUI worker (run it in a thread
with ``ServerThread(server=GatewayServer(...))``).

Only starts, stops and gives access; run logic is in ``gateway``, request handling in
``gateway_app``. Binds loopback only (the worker itself may be anywhere). Never talks to Floyo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .gateway import Gateway
from .gateway_app import make_gateway_apps
from .gateway_runs import GatewayRun
from .origin import DEFAULT_KEYS, bind, check_loopback
from .scenario import Scenario
from .state import Store
from .worker import WorkerClient
from .workflows import add_routes as add_workflow_routes
from .workflows import folder_library

log = logging.getLogger(__name__)



class GatewayServer:
    """``async with GatewayServer("http://127.0.0.1:8188") as gw``: Floyo's API over a ComfyUI."""

    def __init__(self, worker_url: str, *, keys: Iterable[str] = DEFAULT_KEYS, host: str = "127.0.0.1",
                 api_port: int = 0, cdn_port: int = 0, rate_limit: int = 100, workflows: str | None = None):
        check_loopback(host)
        self.workflows = workflows  # a folder of API-format workflows served as the team's (workflows.py)
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
        add_workflow_routes(apps[0], lambda: folder_library(self.workflows)())  # the folder as set now
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
