"""On SIGTERM or Ctrl-C (SIGINT), cancel the Floyo runs this ComfyUI created and still waits on.

ComfyUI keeps Python's default actions (SIGTERM: exit at once; SIGINT: KeyboardInterrupt), which
would leave paid runs going. Our handler sets the Cancel flag of each run a FloyoRemoteRun node
created and is still waiting on — never a run a FloyoFetchOutputs/FloyoRunStatus node merely
watches, nor one the resume thread watches, nor another process's — waits a bounded time
(GRACE_S) for the runners, which own the HTTP sessions, to send their remote cancels, then hands
over to the previous handler so the process still exits. A second signal skips the wait.

The handler takes no lock. It runs on the main thread between two bytecodes, and that thread
also runs ComfyUI's event loop, so it may have interrupted a route holding the registry lock, a
``threading.Event``'s lock (a route's cancel) or a log handler's lock (ComfyUI's log interceptor
uses a plain Lock): taking any of them there would deadlock. So the handler only writes a byte
to a pipe and then sleeps, reading a plain flag; a watcher thread, started at install, does the
work (flags, logging) and sets that flag. It reads the registry through its lock-free snapshot.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from ..run.active_runs import REGISTRY, ActiveRun

log = logging.getLogger(__name__)
GRACE_S = 8.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)
_previous: dict[int, Any] = {}  # signal -> the handler we chained in front of


class _State:
    """Plain attributes, written by one side and read by the other (no lock needed)."""

    wake_w: int | None = None
    requested = False  # a shutdown signal arrived
    done = False  # the watcher finished (runs cancelled, or the grace time is over)


def stop_created_runs(grace_s: float) -> int:
    """Cancel the runs this process created for a waiting node; wait up to ``grace_s`` for their
    runners to finish. Returns how many were asked to stop. Takes no registry lock."""
    mine = [a for a in REGISTRY.runs() if a.creates]
    for active in mine:
        active.cancel.set()
    if mine:
        log.info("Floyo: shutting down; cancelling %d Floyo run(s) this ComfyUI is waiting on", len(mine))
    deadline = time.monotonic() + grace_s
    while _still_waiting(mine) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [a.run_id or f"node {a.node_id}" for a in _still_waiting(mine)]
    if left:
        log.warning("Floyo: %s not confirmed cancelled after %.0fs; the journal keeps them and the "
                    "next start watches them to the end.", ", ".join(left), grace_s)
    return len(mine)


def _still_waiting(runs: list[ActiveRun]) -> list[ActiveRun]:
    now = REGISTRY.runs()
    return [a for a in runs if any(r is a for r in now)]


def _watch(wake_r: int) -> None:
    while os.read(wake_r, 1):
        try:
            stop_created_runs(GRACE_S)
        finally:
            _State.done = True


def on_signal(signum: int, frame: Any) -> None:
    """The handler: wake the watcher, wait for it (bounded), then chain to the previous handler."""
    if not _State.requested and _State.wake_w is not None:
        _State.requested = True
        os.write(_State.wake_w, b"s")
        deadline = time.monotonic() + GRACE_S + 1.0
        while not _State.done and time.monotonic() < deadline:
            time.sleep(0.05)
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)  # SIGINT: raises KeyboardInterrupt, and ComfyUI stops
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def install() -> bool:
    """Chain our handler in front of the current ones (main thread only). A signal we already
    chained (it is in ``_previous``) is left alone, so calling this again installs nothing: chaining
    twice would make the handler call itself. True when this call installed a handler."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if _State.wake_w is None:
        wake_r, _State.wake_w = os.pipe()
        threading.Thread(target=_watch, args=(wake_r,), daemon=True, name="floyo-shutdown").start()
    installed = False
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if signum not in _previous and current != signal.SIG_IGN:  # ignored (nohup, &): keep it so
            _previous[signum] = current
            signal.signal(signum, on_signal)
            installed = True
    return installed


def uninstall() -> None:
    """Put the previous handlers back and forget a past shutdown request (tests)."""
    for signum, previous in _previous.items():
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _previous.clear()
    _State.requested = _State.done = False
