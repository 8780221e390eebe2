"""How many runs one API key may have on Floyo at once (``FLOYO_MAX_CONCURRENT_RUNS``, default 8),
and how many one queued prompt may create at all (``FLOYO_MAX_FANOUT``, default 20; the glue
enforces it, nodes/current_graph/fanout_cap.py).

A fan-out (a ComfyUI list into ``FloyoRemoteRun``) starts every element's call at once; the calls
beyond the bound wait here, locally, and send no create until a slot frees, so a long list never
queues (and bills) more runs than the user allowed. Slots are process-wide per key (held by the
key's ``KeyState``, keystate.py), shared by every event loop (nodes, the resume thread, benches),
so they are ``threading`` objects polled from async code. Waiting honours the caller's stop within
a second. Must not make requests.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from .errors import ConfigError, Interrupted
from .request import StopCheck

ENV_MAX_CONCURRENT_RUNS = "FLOYO_MAX_CONCURRENT_RUNS"
DEFAULT_MAX_CONCURRENT_RUNS = 8
ENV_MAX_FANOUT = "FLOYO_MAX_FANOUT"
DEFAULT_MAX_FANOUT = 20
T = TypeVar("T")
CHECK_S = 0.05  # how often a waiter looks for a free slot (and at its stop flag)


def max_concurrent_runs(env: Mapping[str, str] | None = None) -> int:
    """The per-key bound on runs in flight (``FLOYO_MAX_CONCURRENT_RUNS``, default 8, at least 1)."""
    env = os.environ if env is None else env
    raw = env.get(ENV_MAX_CONCURRENT_RUNS) or DEFAULT_MAX_CONCURRENT_RUNS
    try:
        return max(int(raw), 1)
    except ValueError:
        raise ConfigError(f"{ENV_MAX_CONCURRENT_RUNS} must be a whole number of runs (default "
                          f"{DEFAULT_MAX_CONCURRENT_RUNS}).") from None


def max_fanout(env: Mapping[str, str] | None = None) -> int:
    """The most runs one queued prompt may create, lists included (``FLOYO_MAX_FANOUT``, default
    20, at least 1): a typo (200 for 20) or a linked count must not become hundreds of paid runs."""
    env = os.environ if env is None else env
    raw = env.get(ENV_MAX_FANOUT) or DEFAULT_MAX_FANOUT
    try:
        return max(int(raw), 1)
    except ValueError:
        raise ConfigError(f"{ENV_MAX_FANOUT} must be a whole number of runs per prompt (default "
                          f"{DEFAULT_MAX_FANOUT}).") from None


class RunSlots:
    """A first-come, first-served counting semaphore for one key's runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets = itertools.count()
        self._queue: list[int] = []  # tickets waiting, oldest first
        self.in_use = 0
        self.most_in_use = 0  # the high-water mark: what tests and benches check the bound with

    def _try(self, ticket: int, limit: int) -> bool:
        with self._lock:
            if self.in_use >= limit or self._queue[0] != ticket:
                return False
            self._queue.pop(0)
            self.in_use += 1
            self.most_in_use = max(self.most_in_use, self.in_use)
            return True

    async def acquire(self, stop: StopCheck, limit: int | None = None) -> None:
        """Wait for a free slot (in arrival order); raises Interrupted when stopped first."""
        limit = limit or max_concurrent_runs()
        with self._lock:
            ticket = next(self._tickets)
            self._queue.append(ticket)
        try:
            while not self._try(ticket, limit):
                if stop():
                    raise Interrupted("Stopped while waiting for a free Floyo run slot; nothing was "
                                      "created for it.")
                await asyncio.sleep(CHECK_S)
        except BaseException:
            with self._lock:
                if ticket in self._queue:
                    self._queue.remove(ticket)
            raise

    def release(self) -> None:
        with self._lock:
            self.in_use = max(self.in_use - 1, 0)


class _Held:
    """One acquired slot, freed once: when the run has ended on Floyo (its downloads need no
    slot) or when the caller leaves, whichever comes first."""

    def __init__(self, slots: RunSlots) -> None:
        self.slots, self.held = slots, True

    def free(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()

    async def then(self, finishing: Awaitable[T]) -> T:
        self.free()
        return await finishing


@asynccontextmanager
async def run_slot(client: Any, stop: StopCheck) -> AsyncIterator[_Held]:
    """Hold one of the client's key's run slots (waiting for it first) for the block."""
    slots = client.state.slots
    await slots.acquire(stop)
    held = _Held(slots)
    try:
        yield held
    finally:
        held.free()
