"""End-to-end fixtures: a real ComfyUI server (CPU) with this repo loaded as a custom node pack.

ComfyUI and its venv come from `bash .ci/setup.sh` (in ``$FLOYO_CI_DIR``, default
``~/.cache/floyo-ci``). How they are built: .ci/setup.sh.

Fixtures:

* ``floyo_server`` (session) / ``floyo`` (per test, reset): the local Floyo server, serving
  HTTPS with a test CA and the light ``e2e_realism()`` network profile on by default.
* ``comfy_env`` (session): extra environment variables for the ComfyUI process, e.g.
  ``FLOYO_API_URL``, ``FLOYO_CDN_URL``, ``FLOYO_API_KEY``, ``FLOYO_CA_BUNDLE``. Override it in a
  conftest closer to the tests (it must stay session-scoped). A value of ``None`` removes the variable.
* ``comfy`` (session): one running server, a :class:`Comfy`. ``comfy.restart()`` stops it
  (SIGTERM, or SIGKILL with ``kill=True``) and starts it again on the same port and base dir.
* ``comfy_factory`` (session): ``comfy_factory(env=None, name="...", pack=True)`` starts another,
  separate server with its own base dir (``pack=False``: without this pack); all are stopped at
  the end of the session.

Shared test data and helpers (graph builders such as ``remote_run``/``save``, ``saved_images``,
``node_error``, ``wait_until``, the websocket ``Socket``, the gateway ``Stack``, the browser's
``run_script`` and ``needs_browser``) live at the end of this file: test modules import them from
here, never from each other.

If ComfyUI is not installed the fixtures skip, or fail when ``FLOYO_TEST_REQUIRE_COMFYUI=1``
(as ``.ci/run`` sets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pathlib
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from floyo_scripted import ServerThread, Step, matrix
from PIL import Image

log = logging.getLogger("floyo.e2e")

REPO = pathlib.Path(__file__).resolve().parents[2]
CI_DIR = pathlib.Path(os.environ.get("FLOYO_CI_DIR") or pathlib.Path.home() / ".cache" / "floyo-ci")


# The ComfyUI under test: FLOYO_COMFYUI names a leg of .ci/comfyui-matrix.txt (.ci/test sets it);
# the base leg by default.
COMFY_LEG = matrix.leg(CI_DIR, os.environ.get("FLOYO_COMFYUI"))
COMFY_DIR = COMFY_LEG.comfyui
COMFY_PY = COMFY_LEG.python
PACK_NAME = "comfyui-floyo"  # folder name under custom_nodes/ (symlink to the repo root)
START_TIMEOUT = float(os.environ.get("FLOYO_COMFY_START_TIMEOUT", "180"))
STOP_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _terminal_signals() -> None:
    """In the child before exec: Ctrl-C behaves as in a terminal. A test run started in the
    background (``cmd &`` in a script, as CI harnesses do) hands SIGINT down as ignored, and a
    ComfyUI that ignores SIGINT rightly never stops on it (the pack keeps an ignored signal so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def comfyui_missing_reason() -> str | None:
    """Why ComfyUI can't be started here, or None if it can."""
    if not COMFY_PY.exists():
        return f"no ComfyUI venv at {COMFY_PY}"
    if not (COMFY_DIR / "main.py").exists():
        return f"no ComfyUI at {COMFY_DIR}"
    return None


def require_comfyui() -> None:
    """Skip (or fail under FLOYO_TEST_REQUIRE_COMFYUI=1) when ComfyUI isn't installed."""
    reason = comfyui_missing_reason()
    if reason is None:
        return
    msg = f"{reason}: run `bash .ci/setup.sh` to install ComfyUI for the e2e tests"
    if os.environ.get("FLOYO_TEST_REQUIRE_COMFYUI") == "1":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


class Comfy:
    """One ComfyUI server process plus a small HTTP client for it."""

    def __init__(self, base: pathlib.Path, env: dict[str, str | None] | None = None, port: int | None = None,
                 pack: bool = True, leg: matrix.Leg = COMFY_LEG):
        self.base = base
        self.leg = leg  # which ComfyUI of the CI matrix runs (the one under test unless asked)
        self.pack = pack  # False: a plain ComfyUI without this pack (e.g. a gateway's worker)
        self.env = dict(env or {})
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output_dir = base / "output"
        self.input_dir = base / "input"
        self.temp_dir = base / "temp"
        self.custom_nodes_dir = base / "custom_nodes"
        self.user_dir = base / "user"
        self.log_path = base / "comfyui.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._prepare_base()

    # ---- process control -------------------------------------------------------------------

    def _prepare_base(self) -> None:
        for sub in ("custom_nodes", "input", "output", "temp", "user/default", "models"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        link = self.custom_nodes_dir / PACK_NAME
        if self.pack and not link.exists():
            link.symlink_to(REPO, target_is_directory=True)
        example = self.leg.comfyui / "input" / "example.png"
        if example.exists() and not (self.input_dir / "example.png").exists():
            shutil.copy(example, self.input_dir / "example.png")
        settings = self.user_dir / "default" / "comfy.settings.json"
        if not settings.exists():  # else the web UI opens a Templates dialog for a new user
            settings.write_text(json.dumps({"Comfy.TutorialCompleted": True}))

    def _process_env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start ComfyUI and wait until /system_stats answers (custom nodes are loaded by then)."""
        assert not self.running, "already running"
        cmd = [str(self.leg.python), str(self.leg.comfyui / "main.py"), "--cpu", "--listen", "127.0.0.1",
               "--port", str(self.port), "--base-directory", str(self.base),
               "--database-url", "sqlite:///:memory:", "--disable-auto-launch", "--disable-api-nodes"]
        self.starts += 1
        with open(self.log_path, "a") as logf:
            logf.write(f"\n===== floyo e2e: start #{self.starts} on port {self.port} =====\n")
            logf.flush()
            t0 = time.monotonic()
            self.proc = subprocess.Popen(cmd, cwd=self.base, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=self._process_env(), preexec_fn=_terminal_signals)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode} during startup; "
                                   f"log {self.log_path}:\n{self.log_tail()}")
            if time.monotonic() - t0 > timeout:
                self.stop(kill=True)
                raise RuntimeError(
                    f"ComfyUI not up after {timeout}s; log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if self.get("/system_stats", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        log.info("ComfyUI up on %s after %.1fs (log: %s)", self.url, time.monotonic() - t0, self.log_path)

    def stop(self, kill: bool = False, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop the server's process group: SIGTERM, wait `timeout`, then SIGKILL (or SIGKILL at once)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:  # own session => own process group (pgid == pid)
                os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("ComfyUI did not exit %.0fs after SIGTERM; sending SIGKILL", timeout)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        return proc.returncode

    def restart(self, kill: bool = False, env: dict[str, str | None] | None = None) -> None:
        """Stop (SIGTERM, or SIGKILL with kill=True) and start again: same port, base dir, log file.

        `env`, if given, is merged into this server's extra environment before it starts again.
        """
        self.stop(kill=kill)
        if env:
            self.env.update(env)
        self.start()

    # ---- HTTP ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
        """Returns (status, parsed JSON or raw bytes). HTTP errors are returned, not raised."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                is_json = r.headers.get_content_type() == "application/json"
                return r.status, (json.loads(raw) if is_json and raw else raw)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, {} if body is None else body, **kw)

    # ---- prompts ---------------------------------------------------------------------------

    def queue(self, prompt: dict, client_id: str | None = None) -> str:
        """POST an API-format prompt; returns its prompt_id (asserts HTTP 200)."""
        body = {"prompt": prompt, "client_id": client_id or "pytest-" + uuid.uuid4().hex[:8]}
        status, res = self.post("/prompt", body)
        assert status == 200, f"/prompt rejected ({status}): {json.dumps(res, default=str)[:2000]}"
        return res["prompt_id"]

    def history(self, prompt_id: str) -> dict | None:
        """The /history entry for a prompt, or None if it isn't there (yet)."""
        _, hist = self.get(f"/history/{prompt_id}")
        return hist.get(prompt_id) if isinstance(hist, dict) else None

    def wait(self, prompt_id: str, timeout: float = 120) -> dict:
        """Poll /history until the prompt finished (success or error); returns its entry."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            entry = self.history(prompt_id)
            if entry and entry.get("status", {}).get("status_str") in ("success", "error"):
                return entry
            time.sleep(0.1)
        raise TimeoutError(f"prompt {prompt_id} not finished after {timeout}s")

    def run(self, prompt: dict, timeout: float = 120) -> dict:
        return self.wait(self.queue(prompt), timeout)

    def wait_running(self, prompt_id: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            _, q = self.get("/queue")
            if any(item[1] == prompt_id for item in q.get("queue_running", [])):
                return
            time.sleep(0.05)
        raise TimeoutError(f"prompt {prompt_id} never started")

    def interrupt(self) -> int:
        return self.post("/interrupt")[0]

    # ---- logs ------------------------------------------------------------------------------

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]


FLOYO_KEY = "flo_test_key"


def e2e_realism() -> Any:
    """The network profile every e2e test starts with: ``Realism.internet()`` (bodies in chunked,
    gzip pieces a millisecond apart, 2-12 ms latency), so ComfyUI reads answers as the internet
    sends them. A test turns it up or off with ``floyo.realism = Realism(...)``;
    ``FLOYO_E2E_REALISM=off`` turns the default off (to tell a network effect from a bug)."""
    from floyo_scripted import Realism

    if os.environ.get("FLOYO_E2E_REALISM", "internet") == "off":
        return Realism()
    return Realism.internet()


@pytest.fixture(scope="session")
def floyo_server():
    """The local Floyo-compatible server (scripted mode) the e2e ComfyUI talks to, over HTTPS with
    a test CA and the ``e2e_realism`` profile on.

    ``FLOYO_CA_BUNDLE`` (the CA's PEM) is also set in this process's environment for the session,
    so every ComfyUI started after this fixture, whatever its own env, trusts the server.
    """
    from floyo_scripted import Scenario, ServerThread

    with ServerThread(Scenario(realism=e2e_realism()), tls=True) as server:
        previous = os.environ.get("FLOYO_CA_BUNDLE")
        os.environ["FLOYO_CA_BUNDLE"] = server.ca_file
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("FLOYO_CA_BUNDLE", None)
            else:
                os.environ["FLOYO_CA_BUNDLE"] = previous


@pytest.fixture(scope="session")
def comfy_env(floyo_server) -> dict[str, str | None]:
    """Extra env vars for the ComfyUI process: point the pack at the local Floyo server (https)
    and make it trust the server's test CA."""
    return {"FLOYO_API_URL": floyo_server.api_url, "FLOYO_CDN_URL": floyo_server.cdn_url,
            "FLOYO_API_KEY": FLOYO_KEY, "FLOYO_MAX_OUTPUT_MB": "32",
            "FLOYO_CA_BUNDLE": floyo_server.ca_file}


@pytest.fixture
def floyo(floyo_server):
    """The local Floyo server with a fresh default scenario (the ``e2e_realism`` profile on) and
    an empty request record."""
    from floyo_scripted import Scenario

    floyo_server.server.scenario = Scenario(realism=e2e_realism())
    floyo_server.requests.clear()
    floyo_server.reset_rate_limits()  # each test starts with the key's whole 100/minute budget
    floyo_server.server.keys.clear()
    floyo_server.server.keys.add(FLOYO_KEY)
    yield floyo_server


@pytest.fixture(scope="session")
def comfy_factory(tmp_path_factory):
    """Start ComfyUI servers: ``comfy_factory(env=None, name="comfy")`` -> running Comfy."""
    require_comfyui()
    servers: list[Comfy] = []

    def start(env: dict[str, str | None] | None = None, name: str = "comfy", pack: bool = True) -> Comfy:
        server = Comfy(tmp_path_factory.mktemp(name), env=env, pack=pack)
        servers.append(server)
        try:
            server.start()
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def comfy(comfy_factory, comfy_env) -> Comfy:
    """The shared ComfyUI server for the session, started with ``comfy_env``."""
    return comfy_factory(env=comfy_env, name="comfy-base")


def pytest_terminal_summary(terminalreporter) -> None:
    """Lines a test asked to show at the end (``record_property("summary", line)``), also from
    xdist workers, whose own output is not shown: the templates corpus prints its counts so."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == "summary":
                terminalreporter.write_line(str(value))


# ---- Shared test data and helpers of the e2e tests: test modules import them from here, never
# from each other (tests/test_boundaries.py) ----

REMOTE = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                         "color": 0}},
          "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "remote"}}}


def remote_run(**inputs) -> dict:
    """A FloyoRemoteRun node; a unique run name keeps ComfyUI's cache from answering for it, and
    'always run' the journal (reuse of identical results is proven in test_reuse_e2e.py)."""
    base = {"source": "embedded", "workflow": json.dumps(REMOTE), "run_name": f"e2e {uuid.uuid4().hex[:6]}",
            "reuse": "always run"}
    return {"class_type": "FloyoRemoteRun", "inputs": {**base, **inputs}}


def save(src: str, index: int = 0, prefix: str = "local") -> dict:
    return {"class_type": "SaveImage", "inputs": {"images": [src, index], "filename_prefix": prefix}}


def saved_images(comfy, entry: dict, node: str) -> list[Path]:
    return [comfy.base / "output" / i["subfolder"] / i["filename"] for i in entry["outputs"][node]["images"]]


def node_error(entry: dict) -> dict:
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert errors, f"expected an execution error, got {entry['status']}"
    return errors[0]


def succeeded(entry: dict) -> bool:
    errors = [m[1].get("exception_message") for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert entry["status"]["status_str"] == "success", errors or entry["status"]
    return True


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if value := check():
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def wait_for_new_run(floyo, known: set[str], timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        fresh = [r for r in floyo.runs.values() if r.id not in known]
        if fresh:
            return fresh[0]
        time.sleep(0.05)
    raise TimeoutError("no run reached the Floyo server")

FAULT_SUITE_STATS = {"scenarios": 0, "duplicate_creates": 0, "uncancelled_abandoned": 0, "key_leaks": 0}


class Socket:
    """Collects a ComfyUI websocket's JSON events and progress-text frames in a thread."""

    def __init__(self, url: str):
        self.client_id = "pytest-" + uuid.uuid4().hex[:8]
        self.url = f"{url.replace('http', 'ws', 1)}/ws?clientId={self.client_id}"
        self.events: list[dict] = []
        self.texts: list[tuple[float, str, str]] = []
        self._ready = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(self.url) as ws:
            self._ready.set()
            while not self._stop:
                try:
                    msg = await ws.receive(timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(msg.data))
                elif msg.type == aiohttp.WSMsgType.BINARY and struct.unpack(">I", msg.data[:4])[0] == 3:
                    (n,) = struct.unpack(">I", msg.data[4:8])
                    node, text = msg.data[8:8 + n].decode(), msg.data[8 + n:].decode()
                    self.texts.append((time.monotonic(), node, text))
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return

    def __enter__(self) -> Socket:
        self._thread.start()
        assert self._ready.wait(10), "websocket did not connect"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join(5)


def start_run_elsewhere(floyo) -> str:
    """A run created straight on Floyo (the web app, another machine): only its id is known here."""
    body = json.dumps({"workflow": REMOTE, "name": "started elsewhere"}).encode()
    req = urllib.request.Request(floyo.api_url + "/runs", data=body, method="POST", headers={
        "Authorization": "Bearer flo_test_key", "Content-Type": "application/json"})
    trust = ssl.create_default_context(cafile=floyo.ca_file)  # the e2e server speaks https
    with urllib.request.urlopen(req, timeout=10, context=trust) as r:
        return json.loads(r.read())["id"]


def two_outputs(floyo) -> None:
    """Two output files for every run: one per remote save node (a base + upscale pair's two)."""
    from floyo_scripted import OutputSpec

    floyo.server.scenario.outputs = [OutputSpec(size=(96, 80)), OutputSpec(size=(96, 80), seed=1)]

GATEWAY_KEY = "flo_gateway_e2e"


def remote_run_of(workflow: dict, **inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "embedded", "workflow": json.dumps(workflow), "run_name": f"gw {uuid.uuid4().hex[:6]}",
        "reuse": "always run", **inputs}}


@dataclass
class Stack:
    worker: Comfy
    gateway: ServerThread
    client: Comfy

    def new_run(self, known: set[str], timeout: float = 30.0):
        """The first gateway run not in ``known`` that has reached the worker."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            fresh = [r for r in self.gateway.runs.values() if r.id not in known]
            if fresh:
                return fresh[0]
            time.sleep(0.05)
        raise TimeoutError("no run reached the gateway")

    def api(self, path: str) -> dict:
        req = urllib.request.Request(self.gateway.api_url + path,
                                     headers={"Authorization": f"Bearer {GATEWAY_KEY}"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def gateway_stack(tmp_path_factory, name: str, realism: Any = None, worker_leg: matrix.Leg = COMFY_LEG,
                  client_leg: matrix.Leg = COMFY_LEG):
    """A worker ComfyUI (no pack) and a client ComfyUI (the pack, keyed for the gateway) with the
    Floyo-compatible gateway between them; both ComfyUIs start in parallel (~12 s). Both run the
    ComfyUI under test unless ``worker_leg``/``client_leg`` name another of the matrix."""
    from floyo_scripted import GatewayServer

    require_comfyui()
    worker = Comfy(tmp_path_factory.mktemp(f"{name}-worker"), pack=False, leg=worker_leg)
    gateway = ServerThread(server=GatewayServer(worker.url, keys=[GATEWAY_KEY])).start()
    gateway.server.store.scenario.realism = realism
    client = Comfy(tmp_path_factory.mktemp(f"{name}-client"), env={
        "FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": GATEWAY_KEY},
        leg=client_leg)
    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(worker.start), pool.submit(client.start)]:
                started.result()
        yield Stack(worker, gateway, client)
    finally:
        for comfy in (client, worker):
            comfy.stop()
        gateway.stop()

def center_is(path: Path, rgb: tuple[int, int, int]) -> bool:
    """The middle pixel is ``rgb``, give or take float rounding on the way."""
    with Image.open(path) as im:
        got = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
    return all(abs(a - b) <= 2 for a, b in zip(got, rgb, strict=True))

UI = pathlib.Path(__file__).parent / "ui"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

SLOW_RUN = [Step("queued", seconds=3), Step("processing", seconds=60), Step("done")]


def fresh_remote() -> str:
    """REMOTE as JSON with a prefix never sent before: the UI's default 'identical results' finds
    no saved run to reuse, so the browser's prompt makes a real run."""
    return json.dumps({**REMOTE, "2": {**REMOTE["2"], "inputs": {**REMOTE["2"]["inputs"],
                                                                 "filename_prefix": f"ui_{time.time_ns()}"}}})


def browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM}"
    if not shutil.which("node"):
        return "no node on PATH"
    if not (UI / "node_modules" / "playwright-core").exists():
        return "no tests/e2e/ui/node_modules (npm ci)"
    return None


@pytest.fixture
def needs_browser():
    """Skips a test that drives the headless browser when it is missing (fails in CI)."""
    reason = browser_missing()
    if reason is None:
        return
    reason += ": run `bash .ci/setup.sh`"
    if os.environ.get("FLOYO_TEST_REQUIRE_COMFYUI") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run_script(name: str, comfy, timeout: float = 100, **env: str) -> dict:
    """Run ``ui/<name>`` against ``comfy``; returns its RESULT dict (asserts it ran cleanly)."""
    proc = subprocess.run(["node", str(UI / name)], cwd=UI, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COMFY_URL": comfy.url, "CHROMIUM": CHROMIUM, **env})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("RESULT "):])
    assert "error" not in result, f"{name}: {result['error']}\n{json.dumps(result, indent=1)[:3000]}"
    return result
