"""On SIGTERM (a ComfyUI shutdown), cancel every Floyo run still being waited on.

ComfyUI keeps Python's default SIGTERM action (exit at once), which would leave paid runs going.
This handler sets every active run's Cancel flag, waits a bounded time for the runners (which own
the HTTP sessions) to send their remote cancels, then hands over to the previous handler.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from .active_runs import REGISTRY

log = logging.getLogger(__name__)
GRACE_S = 8.0
_installed = False


def _handler(previous: Any) -> Any:
    def on_sigterm(signum: int, frame: Any) -> None:
        if REGISTRY.cancel_all():
            log.info("Floyo: shutting down; cancelling active Floyo runs")
            deadline = time.monotonic() + GRACE_S
            while REGISTRY.count() and time.monotonic() < deadline:
                time.sleep(0.05)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    return on_sigterm


def install() -> bool:
    """Chain our handler in front of the current one (main thread only, once)."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return _installed
    signal.signal(signal.SIGTERM, _handler(signal.getsignal(signal.SIGTERM)))
    _installed = True
    return True
