"""ComfyUI processes forked from a warm start server (``zygote.py`` beside this file), one per
ComfyUI of the CI matrix in each pytest worker: a start costs ~1 s of CPU instead of ~8.

``spawn`` hands back what :class:`support.comfy.Comfy` needs of a ``subprocess.Popen``: ``pid``,
``poll()``, ``wait(timeout)`` and ``returncode``. The child is ComfyUI's own ``main.py`` with the
same arguments, environment, working directory and log as an exec'd start, in a session of its
own, so signals, ``killpg`` and exit codes behave as before. ``FLOYO_TEST_COMFY_START=exec``
starts every ComfyUI the plain way instead (``tests/e2e/test_comfyui_harness.py`` proves both
load the same nodes).

This module must not decide anything about the tests: it only starts processes.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .zygote import alive

log = logging.getLogger("floyo.e2e")

ZYGOTE = pathlib.Path(__file__).with_name("zygote.py")
READY_TIMEOUT = 180.0
# Every test ComfyUI runs torch's CPU ops on one thread. A leg runs six pytest workers, each with
# ComfyUIs, on two cores: with OpenMP's default of a thread per core, each parallel op waits at its
# barrier until the other thread is scheduled again, and the gateway's media demo (Canny, a video)
# took 60-75 s on its worker instead of ~2 s alone (docs/performance.md, "CI time"). OpenMP reads
# this when torch's library loads, so it must be in the start server's environment, not only in
# the environment of each ComfyUI it forks.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def enabled() -> bool:
    return os.environ.get("FLOYO_TEST_COMFY_START", "fork") != "exec"


class ForkedProcess:
    """A ComfyUI the zygote forked, seen as a ``Popen``: the zygote is its parent, so it reaps
    it and reports its exit code."""

    def __init__(self, zygote: Zygote, pid: int, argv: list[str]):
        self.zygote, self.pid, self.args = zygote, pid, argv
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.05)
        return self.returncode


class Zygote:
    """The start server for one ComfyUI (a leg's Python): one for the whole pytest run, shared by
    its xdist workers through ``FLOYO_TEST_ZYGOTES`` (a folder tests/conftest.py makes), started by
    whichever process needs it first and owned by the run's main process; else one per process.
    Its imports take ~10 s of CPU, which each worker paid before, all at once at the start."""

    def __init__(self, python: pathlib.Path, name: str):
        shared = os.environ.get("FLOYO_TEST_ZYGOTES")
        self.folder = pathlib.Path(shared or tempfile.mkdtemp(prefix="floyo-zygotes-")) / name
        self.socket_path = str(self.folder / "s")  # short: a Unix socket path has ~107 bytes
        self.log_path = self.folder / "zygote.log"
        self.owned = not shared  # else the run's main process stops it (tests/conftest.py)
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder.parent / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one start server per leg, whoever asks first
            pid_file = self.folder / "pid"
            if pid_file.exists() and alive(int(pid_file.read_text())):
                self.pid = int(pid_file.read_text())
                return
            self.pid = self._launch(python, int(os.environ.get("FLOYO_TEST_ZYGOTE_OWNER") or os.getpid()))
            pid_file.write_text(str(self.pid))

    def _launch(self, python: pathlib.Path, owner: int) -> int:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **ONE_THREAD,
               # main.py sets these before it imports torch and huggingface_hub; here they are
               # imported before main.py runs, so they read them from this environment
               "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
        with open(self.log_path, "ab") as logf:
            return subprocess.Popen(
                [str(python), str(ZYGOTE), self.socket_path, str(owner)], stdout=logf,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)).pid

    def _call(self, request: dict, timeout: float = 30) -> dict:
        end = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(self.socket_path):  # still importing torch & co.
            if not alive(self.pid) or time.monotonic() > end:
                raise RuntimeError(f"the ComfyUI start server is not up: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(self.socket_path)
            with conn.makefile("rwb") as stream:
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                return json.loads(stream.readline())

    def spawn(self, argv: list[str], env: dict[str, str], cwd: pathlib.Path,
              log_path: pathlib.Path) -> ForkedProcess:
        answer = self._call({"op": "spawn", "argv": argv, "env": env, "cwd": str(cwd), "log": str(log_path)})
        return ForkedProcess(self, int(answer["pid"]), argv)

    def exit_code(self, pid: int) -> int | None:
        return self._call({"op": "poll", "pid": pid})["code"]

    def close(self) -> None:
        if self.owned:
            _stop(self.pid)
            shutil.rmtree(self.folder.parent, ignore_errors=True)


def _stop(pid: int) -> None:
    """SIGTERM a start server, SIGKILL it if it is still there 10 s later. It is this process's
    child when this process launched it (then reaped here: a zombie would look alive)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


_zygotes: dict[str, Zygote] = {}


def zygote(python: pathlib.Path, name: str) -> Zygote:
    """The start server for a leg, started on first use."""
    if name not in _zygotes:
        _zygotes[name] = Zygote(python, name)
        log.info("ComfyUI %s: start server %d (log %s)", name, _zygotes[name].pid, _zygotes[name].log_path)
    return _zygotes[name]


@atexit.register
def _close_all() -> None:
    for each in _zygotes.values():
        each.close()
