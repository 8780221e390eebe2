"""Pure retry and timing policy: which answers to retry, how long to wait, when to poll.

Sans-IO: no network, no clock reads, no sleeping — callers pass the time and the randomness in,
so every rule here is tested without waiting.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass

# 408 and 5xx are transient (Cloudflare's 52x included, docs/floyo-api.md, "Errors"); 501 is not.
RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass(frozen=True)
class RetryPolicy:
    """Budgets and delays for one request's retries."""

    max_attempts: int = 5  # transient errors (5xx, 408, network)
    max_rate_limited: int = 8  # 429s, on their own budget
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 90.0  # the limit window is 60 s; never wait much longer


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with jitter: half fixed, half random, so waits stay bounded."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * (2 ** max(attempt - 1, 0)))
    return ceiling / 2 + rand() * ceiling / 2


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_epoch_s) if when.tzinfo else None


def rate_limited_delay(retry_after: float | None, attempt: int, policy: RetryPolicy) -> float:
    """Wait after a 429: the server's Retry-After when given, else a backoff starting at 2 s."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after_s)
    return min(2.0 * (2 ** max(attempt - 1, 0)), 60.0)


def resend_delay(status: int | None, retry_after: float | None, attempt: int, policy: RetryPolicy,
                 rand: Callable[[], float] = random.random) -> float:
    """Wait before sending again after ``status`` (None: the network failed), API or CDN alike: a
    429 as ``rate_limited_delay``; a 503 the server's Retry-After when given (capped); anything
    else the capped backoff of the ``attempt``-th failure."""
    if status == 429:
        return rate_limited_delay(retry_after, attempt, policy)
    if status == 503 and retry_after is not None:
        return min(retry_after, policy.max_retry_after_s)
    return backoff_delay(attempt, policy, rand)


@dataclass(frozen=True)
class PollSchedule:
    """Fast first polls (a short run is noticed within about a second), then back off."""

    fast_s: float = 1.0
    fast_for_s: float = 30.0
    max_s: float = 5.0
    growth: float = 1.25

    def delay(self, elapsed_s: float) -> float:
        if elapsed_s < self.fast_for_s:
            return self.fast_s
        steps = (elapsed_s - self.fast_for_s) / self.max_s
        return min(self.max_s, self.fast_s * self.growth ** (1 + steps))
