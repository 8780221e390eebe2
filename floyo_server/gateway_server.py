"""GatewayServer: the Floyo API + CDN on loopback, backed by a ComfyUI worker (run it in a thread
with the tests' ``ServerThread(server=GatewayServer(...))``).

Takes every setting from its constructor; starts, stops and gives access. A watch task brings
the live runs up to date every few seconds (so runs a restart left are picked up again, and a
worker's trouble ends them), and another follows the worker's websocket for progress. Run logic
is in ``gateway``, request handling in ``gateway_app``. Binds loopback only. Never talks to Floyo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from aiohttp import web

from .access import Keys, RequestLog, Signer
from .gateway import DOWN_LIMIT_S, Gateway
from .gateway_app import Access, make_gateway_apps
from .gateway_files import OWNER, Links
from .gateway_runs import GatewayRun
from .gateway_store import GatewayStore
from .origin import bind, check_loopback
from .worker import CLIENT_ID, WorkerClient
from .worker_events import WorkerEvents
from .workflows import add_routes as add_workflow_routes
from .workflows import folder_library

log = logging.getLogger(__name__)

WATCH_S = 2.0


class GatewayServer:
    """``async with GatewayServer("http://127.0.0.1:8188", keys=[...], state_dir=...) as gw``.

    ``keys`` and ``keys_file`` (one key per line, reread by ``reload_keys``) are the accepted keys;
    at least one is needed. ``state_dir`` holds the SQLite state (None: in memory, gone at stop).
    ``request_log`` keeps the last N authorised requests (0: off). ``public_cdn_url``: the CDN's
    address behind a reverse proxy, put in presigned links. ``workflows``: a folder of API-format
    workflow files served as the team's workflows (read as set at each request).
    ``app_hook(app, origin)`` may adjust each origin's application before it is bound (the tests
    add network realism).
    """

    def __init__(self, worker_url: str, *, keys: Iterable[str] = (), keys_file: Path | None = None,
                 state_dir: Path | None = None, host: str = "127.0.0.1", api_port: int = 0,
                 cdn_port: int = 0, rate_limit: int = 100, request_log: int = 0,
                 down_limit_s: float = DOWN_LIMIT_S, watch_s: float = WATCH_S,
                 app_hook: Callable[[web.Application, str], None] | None = None,
                 public_cdn_url: str | None = None, workflows: str | None = None):
        check_loopback(host)
        self.workflows = workflows  # a folder of API-format workflows served as the team's (workflows.py)
        self.keys = Keys(keys, keys_file)
        if not len(self.keys):
            raise ValueError("the gateway needs at least one API key (keys or keys_file)")
        self.worker_url = worker_url.rstrip("/")
        self._host, self._ports = host, (api_port, cdn_port)
        self._state_dir, self._rate_limit, self._log_size = state_dir, rate_limit, request_log
        self._down_limit_s, self._watch_s, self._app_hook = down_limit_s, watch_s, app_hook
        self._public_cdn_url = public_cdn_url.rstrip("/") if public_cdn_url else None
        self.gateway: Gateway | None = None
        self.events: WorkerEvents | None = None
        self._access: Access | None = None
        self._runners: list[web.AppRunner] = []
        self._urls: list[str] = []
        self._watch: asyncio.Task | None = None
        self._spool: tempfile.TemporaryDirectory | None = None

    async def start(self) -> GatewayServer:
        """Bind both origins and start watching the runs the state holds."""
        store = GatewayStore(self._state_dir)
        client_id = f"{CLIENT_ID}-{secrets.token_hex(4)}"
        worker = WorkerClient(self.worker_url, client_id=client_id)
        await worker.start()
        self.events = WorkerEvents(self.worker_url, client_id)
        self.gateway = Gateway(store, worker, down_limit_s=self._down_limit_s, events=self.events)
        self._access = Access(self.keys, self._rate_limit, self._log_size)
        links = Links(Signer(store.secret()))
        self._spool = tempfile.TemporaryDirectory(prefix="floyo-gateway-", dir=self._state_dir)
        apps = make_gateway_apps(self.gateway, self._access, links, Path(self._spool.name))
        add_workflow_routes(apps[0], lambda: folder_library(self.workflows)(),  # the folder as set now
                            lambda request: request.get(OWNER))
        for app, origin in zip(apps, ("api", "cdn"), strict=True):
            if self._app_hook is not None:
                self._app_hook(app, origin)
        self._urls = await bind(list(apps), self._host, self._ports, self._runners)
        links.cdn_url = self._public_cdn_url or self._urls[1]
        self.events.start()
        self._watch = asyncio.get_running_loop().create_task(self._watch_runs())
        log.info("Floyo gateway: api %s cdn %s -> ComfyUI worker %s", *self._urls, self.worker_url)
        return self

    async def _watch_runs(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # one bad sweep must not end the watch
                await self.gateway.refresh(self.gateway.store.live_runs())
            await asyncio.sleep(self._watch_s)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        while self._runners:
            await self._runners.pop().cleanup()
        if self.events is not None:
            await self.events.stop()
        if self.gateway is not None:
            await self.gateway.worker.close()
            self.gateway.store.close()
        if self._spool is not None:
            self._spool.cleanup()

    async def __aenter__(self) -> GatewayServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def reload_keys(self) -> bool:
        """Reread the keys file (SIGHUP); the keys it had stay when it cannot be read."""
        return self.keys.reload()

    @property
    def api_url(self) -> str:
        return self._urls[0]

    @property
    def cdn_url(self) -> str:
        return self._urls[1]

    @property
    def runs(self) -> dict[str, GatewayRun]:
        """A snapshot ``{run_id: GatewayRun}`` of every key's runs, in creation order."""
        return {r.id: r for r in self.gateway.store.all_runs()} if self.gateway is not None else {}

    @property
    def requests(self) -> RequestLog | None:
        """The request log (empty unless ``request_log`` > 0)."""
        return self._access.log if self._access is not None else None
