"""A ComfyUI start server for the tests: imports the heavy libraries ComfyUI imports (torch,
transformers, scipy, ...) once, then forks a child for each ComfyUI a test starts, and that child
runs ComfyUI's own ``main.py`` unchanged, as ``python main.py ...`` would.

Why: a leg of CI starts ComfyUI 25+ times, and each start spent ~8 s of CPU importing the same
libraries (on 2 cores with 4 workers, 12-16 s), about half of a leg's CPU (docs/performance.md,
"CI time"). A forked child starts with those modules already in memory.

What it must not do: import anything of ComfyUI itself (``comfy.cli_args`` parses ``sys.argv`` at
import and ``folder_paths`` reads the base directory, so they must run in the child after its
arguments are set), start a thread (a fork copies only the forking thread), or import pytest.

Run as ``python zygote.py SOCKET OWNER_PID`` with the leg's Python. It serves JSON lines on a Unix socket:
``{"op": "spawn", "argv", "env", "cwd", "log"}`` answers ``{"pid"}`` (the child is in a new
session, like ``Popen(start_new_session=True)``); ``{"op": "poll", "pid"}`` answers ``{"code"}``,
null while the child runs, else its exit code as ``Popen.returncode`` gives it (``-signal`` when
a signal ended it). It exits when its owner (pid in argv, the pytest run) is gone.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import select
import signal
import socket
import sys

# What ComfyUI imports and its own code does not configure: the libraries that take most of a
# start (python -X importtime main.py: torch ~2.4 s of ~7 s, then transformers, scipy, sympy,
# pydantic_settings, sqlalchemy, alembic, kornia). Only modules ComfyUI itself imports at start
# (that same list), so the child holds nothing a plain start would not. One missing on a leg is
# skipped.
PRELOAD = (
    "torch", "torch.nn.functional", "torch._dynamo", "torchvision", "torchaudio", "numpy",
    "scipy.stats", "sympy", "PIL.Image", "av", "aiohttp.web", "yarl",
    "transformers", "safetensors.torch", "einops", "kornia.filters", "kornia.augmentation",
    "spandrel", "sqlalchemy.orm", "alembic.runtime.environment", "alembic.command",
    "pydantic", "pydantic_settings", "huggingface_hub", "tokenizers", "yaml", "psutil",
    "comfy_kitchen",
)
# transformers loads its models lazily; comfy/sd1_clip.py imports this one at start.
TRANSFORMERS_NAMES = ("CLIPTokenizer",)


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - absent or broken on this leg: the child imports it itself
            continue
    transformers = sys.modules.get("transformers")
    for name in TRANSFORMERS_NAMES if transformers else ():
        try:
            getattr(transformers, name)
        except Exception:  # noqa: BLE001 - as above
            continue


def _exit_code(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _reaped.get(pid)
    if done == 0:
        return None
    _reaped[pid] = os.waitstatus_to_exitcode(status)
    return _reaped[pid]


_reaped: dict[int, int] = {}


def _become(req: dict) -> None:
    """In the child: the process ``python main.py ARGV`` would be, in a session of its own."""
    os.setsid()
    log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    # Ctrl-C as in a fresh interpreter (a background start may hand SIGINT down as ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = list(req["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))


def alive(pid: int) -> bool:
    """Whether a process exists (it may be a zombie): the owner's, or a start server's."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serve(path: str, owner: int) -> dict | None:
    """Answer requests until the owner (the pytest run) is gone (returns None), or return a spawn
    request in the forked child, which then becomes ComfyUI."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    while alive(owner):
        if not select.select([listener], [], [], 1.0)[0]:
            continue
        conn, _ = listener.accept()
        with conn, conn.makefile("rwb") as stream:
            req = json.loads(stream.readline())
            if req["op"] == "spawn":
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    return req
                answer = {"pid": pid}
            else:
                answer = {"code": _exit_code(int(req["pid"]))}
            stream.write(json.dumps(answer).encode() + b"\n")
            stream.flush()
    listener.close()
    os.unlink(path)
    return None


if __name__ == "__main__":
    preload()
    request = serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else os.getppid())
    if request is not None:
        _become(request)
        runpy.run_path(sys.argv[0], run_name="__main__")
