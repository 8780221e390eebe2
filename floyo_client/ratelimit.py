"""One request budget per API key, shared by every run, route and thread of the process.

Floyo allows 100 requests/minute/key (docs/floyo-api.md, "Rate limit"); the key's ``KeyState``
(keystate.py) holds its one limiter. Nodes run on ComfyUI's worker thread
and routes on the server thread, each with its own event loop, so the state is guarded by a
``threading.Lock`` and no asyncio object is shared. Must not hold or log the key itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

STOP_CHECK_S = 0.25


class RateLimiter:
    """A paced sliding window: any ``window_s`` interval holds at most ``rate`` granted slots, and
    after a burst of ``rate // 10`` slots they come no faster than the steady rate.

    A sliding window also satisfies the server's fixed window; ``margin_s`` absorbs the time a
    request spends in flight, so the server never counts 101 in one of its minutes.
    """

    def __init__(self, rate: int = 100, window_s: float = 60.0, margin_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.rate, self.window_s = rate, window_s + margin_s
        # Spending the whole minute's budget in one burst and then stalling for ~60 s makes every
        # run notice its end late; pacing after a small burst shares the budget evenly instead.
        self.burst = max(1, rate // 10)
        self._clock = clock
        self._slots: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next free slot and return how many seconds to wait for it."""
        with self._lock:
            now = self._clock()
            while self._slots and self._slots[0] <= now - self.window_s:
                self._slots.popleft()
            at = max(now, self._blocked_until)
            if self._slots:  # first come, first served
                at = max(at, self._slots[-1])
            if len(self._slots) >= self.burst:  # paced: at most a burst ahead of the steady rate
                at = max(at, self._slots[-self.burst] + self.burst * self.window_s / self.rate)
            if len(self._slots) >= self.rate:  # the hard guarantee the server enforces
                at = max(at, self._slots[-self.rate] + self.window_s)
            self._slots.append(at)
            return at - now

    def block_for(self, seconds: float) -> None:
        """After a 429: hold every request of this key back for ``seconds``."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    async def acquire(self, should_stop: Callable[[], bool] = lambda: False,
                      sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Wait for a slot, checking ``should_stop`` at least every quarter second."""
        wait = self.reserve()
        deadline = self._clock() + wait
        while wait > 0 and not should_stop():
            await sleep(min(wait, STOP_CHECK_S))
            wait = deadline - self._clock()

