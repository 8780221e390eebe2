"""The ComfyUI under test as a process: which leg of the CI matrix runs, starting and stopping a
server on its own base dir, and a small HTTP client for its API (prompts, history, queue, log).

ComfyUI and its venv come from `bash .ci/setup.sh` (in ``$FLOYO_CI_DIR``, default
``~/.cache/floyo-ci``). This module starts only what a caller asks for: the session's servers are
the ``comfy``/``comfy_factory`` fixtures in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from floyo_scripted import matrix

from . import forked

log = logging.getLogger("floyo.e2e")

REPO = pathlib.Path(__file__).resolve().parents[3]
CI_DIR = pathlib.Path(os.environ.get("FLOYO_CI_DIR") or pathlib.Path.home() / ".cache" / "floyo-ci")


# The ComfyUI under test: FLOYO_COMFYUI names a leg of .ci/comfyui-matrix.txt (.ci/test sets it);
# the base leg by default.
COMFY_LEG = matrix.leg(CI_DIR, os.environ.get("FLOYO_COMFYUI"))
COMFY_DIR = COMFY_LEG.comfyui
COMFY_PY = COMFY_LEG.python
PACK_NAME = "comfyui-floyo"  # folder name under custom_nodes/ (symlink to the repo root)
START_TIMEOUT = float(os.environ.get("FLOYO_COMFY_START_TIMEOUT", "180"))
STOP_TIMEOUT = 15.0


# ComfyUI's port is picked here and bound by ComfyUI seconds later. A port from the kernel's
# ephemeral range (32768-60999 on Linux, /proc/sys/net/ipv4/ip_local_port_range) can be taken in
# between as the local end of any outgoing connection, and ComfyUI then exits "Port ... is already
# in use" (seen once in a CI-sized run). So ports come from below that range, from a slice of
# 2,000 per xdist worker, never handed out twice by this process.
_PORTS_FROM, _SLICE = 20000, 2000
_handed: set[int] = set()


def _free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = _PORTS_FROM + (int(worker) % 6 if worker.isdigit() else 0) * _SLICE
    for port in random.sample(range(first, first + _SLICE), _SLICE):
        if port in _handed:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    raise RuntimeError(f"no free port in {first}-{first + _SLICE - 1}")


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
        self.proc: subprocess.Popen | forked.ForkedProcess | None = None
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
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **forked.ONE_THREAD}
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
            if forked.enabled():  # the same main.py and arguments, without importing torch again
                self.proc = forked.zygote(self.leg.python, self.leg.name).spawn(
                    cmd[1:], self._process_env(), self.base, self.log_path)
            else:
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

    def settle(self, left_by: str = "", timeout: float = 30) -> list[str]:
        """Leave the server idle: clear its pending prompts and interrupt the running one (a Floyo
        run there is cancelled), then wait until its queue is empty. Returns the prompt ids it
        found (logged with `left_by`, the test that left them); a server not running or idle is
        left as it is."""
        if not self.running:
            return []
        _, q = self.get("/queue")
        found = [item[1] for key in ("queue_running", "queue_pending") for item in q.get(key, [])]
        if found:
            log.warning("%s left prompts %s in ComfyUI on %s: interrupting them", left_by, found, self.url)
            self.post("/queue", {"clear": True})
            self.interrupt()
            end = time.monotonic() + timeout
            while any(self.get("/queue")[1].get(key) for key in ("queue_running", "queue_pending")):
                if time.monotonic() > end:
                    raise TimeoutError(f"ComfyUI busy {timeout}s after an interrupt; log {self.log_path}")
                time.sleep(0.1)
        return found

    # ---- logs ------------------------------------------------------------------------------

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]
