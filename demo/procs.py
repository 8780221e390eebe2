"""The demo's processes: ComfyUI servers and the gateway, each in its own process group on loopback.

Starts, waits for, talks to (plain JSON over urllib) and stops only the processes it started.
Knows nothing about Floyo runs or the example workflows (``demo.py`` drives those).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger("floyo.demo")

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    """(status, parsed JSON or bytes); HTTP errors are returned, not raised."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the demo only talks to its own loopback servers, not {url}")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - checked above
            raw = r.read()
            return r.status, json.loads(raw) if r.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


class Process:
    """One child process in its own session (so stopping it stops its whole group)."""

    def __init__(self, name: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name, self.log_path = name, log_path
        with open(log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,  # noqa: S603
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=env, cwd=cwd)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL after STOP_TIMEOUT_S."""
        if not self.alive():
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop after SIGTERM; killing it", self.name)


class ComfyUI:
    """A ComfyUI server with its own base dir (``custom_nodes``, ``input``, ``output``, ``user``)."""

    def __init__(self, name: str, comfy_dir: Path, base: Path, *, pack: Path | None = None,
                 env: dict[str, str] | None = None, python: str = sys.executable):
        self.name, self.comfy_dir, self.base, self.pack = name, comfy_dir, base, pack
        self.python = python  # the venv of that ComfyUI (each ComfyUI of the CI matrix has its own)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process: Process | None = None
        for sub in ("custom_nodes", "input", "output", "temp", "user/default/workflows", "models"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        link = base / "custom_nodes" / "comfyui-floyo"
        if pack is not None and not link.exists():  # exists when --workdir is reused
            link.symlink_to(pack, target_is_directory=True)
        # a new user otherwise gets the Templates dialog over the canvas
        (base / "user" / "default" / "comfy.settings.json").write_text('{"Comfy.TutorialCompleted": true}')

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    def start(self) -> None:
        """Launch without waiting (see ``wait_ready``)."""
        cmd = [self.python, str(self.comfy_dir / "main.py"), "--cpu", "--listen", "127.0.0.1",
               "--port", str(self.port), "--base-directory", str(self.base),
               "--database-url", "sqlite:///:memory:", "--disable-auto-launch", "--disable-api-nodes"]
        self.process = Process(self.name, cmd, self.base / "comfyui.log", env=self.env, cwd=self.base)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Raises RuntimeError (with the log's tail) if the server exits or is not up in time."""
        assert self.process is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.process.alive():
                raise RuntimeError(f"{self.name} ComfyUI exited during startup:\n{self.process.log_tail()}")
            try:
                if http("GET", self.url + "/system_stats", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} ComfyUI not up after {timeout:.0f}s:\n{self.process.log_tail()}")

    def get(self, path: str) -> Any:
        return http("GET", self.url + path)[1]

    def run(self, prompt: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        """Queue an API-format prompt and return its finished /history entry."""
        status, body = http("POST", self.url + "/prompt", {"prompt": prompt, "client_id": "floyo-demo"})
        if status != 200:
            raise RuntimeError(f"{self.name} ComfyUI rejected the prompt: {json.dumps(body)[:1500]}")
        prompt_id, end = body["prompt_id"], time.monotonic() + timeout
        while time.monotonic() < end:
            entry = (self.get(f"/history/{prompt_id}") or {}).get(prompt_id)
            if entry and entry.get("status", {}).get("status_str") in ("success", "error"):
                return entry
            time.sleep(0.2)
        raise TimeoutError(f"prompt {prompt_id} not finished after {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


class Gateway:
    """``python -m floyo_server --gateway <worker>`` from the repo root, on two free loopback ports."""

    def __init__(self, repo: Path, worker_url: str, key: str, log_path: Path):
        ports = free_port(), free_port()
        self.api_url, self.cdn_url = (f"http://127.0.0.1:{port}" for port in ports)
        cmd = [sys.executable, "-m", "floyo_server", "--gateway", worker_url, "--key", key,
               "--api-port", str(ports[0]), "--cdn-port", str(ports[1]),
               "--state", str(log_path.parent / "gateway-state")]  # the demo's own, not the user's
        self.process = Process("gateway", cmd, log_path, cwd=repo)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Up once the API answers (401 without a key). Raises RuntimeError."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.process.alive():
                raise RuntimeError(f"the gateway exited:\n{self.process.log_tail()}")
            try:
                if http("GET", self.api_url + "/runs/run_probe", timeout=2)[0] == 401:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the gateway is not up after {timeout:.0f}s:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()
