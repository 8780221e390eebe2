"""Waits with a deadline for what a test cannot be told about: a condition coming true, a new run
reaching the scripted Floyo server. Every wait raises TimeoutError at its deadline; none sleeps a
fixed time and then asserts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


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
