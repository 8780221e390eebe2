"""ScriptedServer (async) and ServerThread (for synchronous tests): the local Floyo stand-in.

Binds three origins on loopback (API, CDN, and an "other host" for redirects), over HTTPS with
``tls=True`` (a CA made at start; clients trust ``ca_file``), and exposes the scenario, the
network-realism knobs, the runs and the request log. Refuses any non-loopback host. Request handling lives
in ``api``/``cdn``; this module only starts, stops and gives access.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from floyo_pack.floyo_client.models import Phase
from floyo_pack.floyo_server.origin import bind, check_loopback

from .api import make_api_app
from .cdn import make_cdn_app, make_other_app
from .realism import Outage, Realism
from .recorder import Recorder, UploadRecord
from .records import FileRecord, RunRecord
from .scenario import Scenario, Step
from .state import Store
from .tls import TestCA
from .workflows import ScriptedWorkflows, library_of

log = logging.getLogger(__name__)

DEFAULT_KEYS = frozenset({"flo_test_key"})  # the scripted server's key; the gateway has no default


def _with_realism(scenario: Scenario) -> Scenario:
    """The shipped Scenario has no realism knobs by default (the gateway needs none): here they
    are always a Realism, off until a test turns them on."""
    if scenario.realism is None:
        scenario.realism = Realism()
    return scenario


class ScriptedServer:
    """The Floyo stand-in on an asyncio loop. Use ``async with ScriptedServer(...) as srv``."""

    def __init__(self, scenario: Scenario | None = None, *, keys: Iterable[str] = DEFAULT_KEYS,
                 host: str = "127.0.0.1", api_port: int = 0, cdn_port: int = 0, other_port: int = 0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 tls: bool = False):
        """``clock`` times steps, rate windows and outages; ``wall_clock`` (unix s) stamps presigned
        expiry. ``tls``: serve every origin over HTTPS with a certificate from a CA made at start."""
        check_loopback(host)
        self._tls = tls
        self._ca: TestCA | None = None
        self.keys: set[str] = set(keys)
        self._host, self._ports = host, (api_port, cdn_port, other_port)
        self._store = Store(_with_realism(scenario if scenario is not None else Scenario()), clock=clock,
                            wall_clock=wall_clock)
        self._other_url: list[str] = [""]
        self._runners: list[web.AppRunner] = []
        self._urls: list[str] = []

    async def start(self) -> ScriptedServer:
        """Bind the three origins; returns once they accept connections."""
        apps = [make_api_app(self._store, self.keys),
                make_cdn_app(self._store, self.keys, self._other_url),
                make_other_app(self._store)]
        context = None
        if self._tls:
            self._ca = TestCA.create(self._host)
            context = self._ca.server_context()
        self._urls = await bind(apps, self._host, self._ports, self._runners, context)
        self._store.cdn_url = self._urls[1]
        self._other_url[0] = self._urls[2]
        log.info("local Floyo server: api %s cdn %s other %s", *self._urls)
        return self

    async def stop(self) -> None:
        """Close all origins (pending stalled downloads are cut)."""
        while self._runners:
            await self._runners.pop().cleanup()
        if self._ca is not None:
            self._ca.remove()

    async def __aenter__(self) -> ScriptedServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _url(self, index: int) -> str:
        if not self._urls:
            raise RuntimeError("server not started")
        return self._urls[index]

    @property
    def api_url(self) -> str:
        return self._url(0)

    @property
    def cdn_url(self) -> str:
        return self._url(1)

    @property
    def other_url(self) -> str:
        return self._url(2)

    @property
    def ca_file(self) -> str | None:
        """Path of the PEM CA certificate that signed the HTTPS origins (None without ``tls``);
        give it to the client as ``FLOYO_CA_BUNDLE``. Removed when the server stops."""
        return self._ca.ca_file if self._ca is not None else None

    @property
    def realism(self) -> Realism:
        """The live network-realism knobs (``scenario.realism``); assign a new ``Realism`` to switch."""
        return self._store.scenario.realism

    @realism.setter
    def realism(self, value: Realism) -> None:
        with self._store.lock:
            self._store.scenario.realism = value if value is not None else Realism()

    def start_outage(self, seconds: float, kind: str = "reset", *, status: int = 520,
                     origin: str | None = None, path: str = ".*", method: str | None = None) -> Outage:
        """Open an outage window now: every matching request fails for ``seconds`` (server clock)."""
        outage = Outage(seconds=seconds, kind=kind, status=status, origin=origin, path=path,
                        method=method, start=self._store.clock())
        with self._store.lock:
            self._store.scenario.realism.outages.append(outage)
        return outage

    @property
    def scenario(self) -> Scenario:
        """The live scenario: edit its fields between calls (or replace it whole)."""
        return self._store.scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        with self._store.lock:
            self._store.scenario = _with_realism(value)

    @property
    def lock(self) -> threading.RLock:
        """Hold this for compound edits of the scenario from another thread."""
        return self._store.lock

    def update(self, **knobs: Any) -> None:
        """Set scenario fields atomically. Raises AttributeError for an unknown knob."""
        with self._store.lock:
            for name, value in knobs.items():
                if not hasattr(self._store.scenario, name):
                    raise AttributeError(f"Scenario has no knob {name!r}")
                setattr(self._store.scenario, name, value)

    @property
    def runs(self) -> dict[str, RunRecord]:
        """A snapshot ``{run_id: RunRecord}`` in creation order (the records are live)."""
        with self._store.lock:
            return dict(self._store.runs)

    def run(self, run_id: str) -> RunRecord:
        """Raises KeyError if unknown."""
        with self._store.lock:
            return self._store.runs[run_id]

    @property
    def last_run(self) -> RunRecord | None:
        with self._store.lock:
            return next(reversed(self._store.runs.values()), None)

    @property
    def files(self) -> dict[str, FileRecord]:
        with self._store.lock:
            return dict(self._store.files)

    @property
    def workflows(self) -> ScriptedWorkflows:
        """The workflows ``GET /workflows`` serves (tests/floyo_scripted/workflows.py)."""
        return library_of(self._store)

    @property
    def requests(self) -> Recorder:
        return self._store.recorder

    @property
    def uploads(self) -> list[UploadRecord]:
        return self._store.recorder.uploads()

    def set_phase(self, run_id: str, status: Phase | str | Step) -> RunRecord:
        """Pin a run at a Phase or status word from now on (overrides its script)."""
        return self._store.set_phase(run_id, status)

    def finish(self, run_id: str, status: Phase | str = Phase.SUCCEEDED) -> RunRecord:
        """Make a run terminal now (default: succeeded; outputs appear on the next GET)."""
        return self._store.set_phase(run_id, status)

    def set_steps(self, run_id: str, steps: list[Step]) -> RunRecord:
        """Give one run a new status script, starting now."""
        return self._store.set_steps(run_id, steps)

    def reset_rate_limits(self) -> None:
        """Forget every key's rate-limit window."""
        with self._store.lock:
            self._store.limiter.reset()


class ServerThread:
    """A local server (ScriptedServer by default, or a GatewayServer) on its own loop in a daemon
    thread, for synchronous tests and scripts.

    The server's public properties and methods are available here and are thread-safe (state
    sits behind one lock). ``call(fn)`` runs ``fn()`` on the server's loop and returns its result.
    """

    def __init__(self, scenario: Scenario | None = None, *, server: Any = None, **kwargs: Any):
        self.server = server if server is not None else ScriptedServer(scenario, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.server, name)

    @property
    def scenario(self) -> Scenario:
        return self.server.scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        self.server.scenario = value

    @property
    def realism(self) -> Realism:
        return self.server.realism

    @realism.setter
    def realism(self, value: Realism) -> None:
        self.server.realism = value

    def start(self, timeout: float = 15.0) -> ServerThread:
        """Start the thread; returns once all origins are bound. Raises RuntimeError on failure."""
        self._thread = threading.Thread(target=self._main, name="floyo-local-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("local Floyo server did not start in time")
        if self._error is not None:
            raise RuntimeError("local Floyo server failed to start") from self._error
        return self

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.server.stop())
            loop.close()

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn()`` (a plain callable or one returning a coroutine) on the server's loop."""
        if self._loop is None:
            raise RuntimeError("server thread not started")

        async def _invoke() -> Any:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(_invoke(), self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and join the thread (idempotent)."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
