"""Riding out a network outage while a run is watched: which failures are transient, how long
to wait between tries, and when to stop waiting.

A paid run keeps running on Floyo whatever our network does, so an outage is never a reason to
cancel it: polling goes on with capped, jittered backoff, and past the outage limit the wait ends
with ``OutageTooLong`` while the run is left running (a cancel could not cross a dead network
anyway). Sans-IO: the caller passes the time in; nothing here sleeps, polls or cancels.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import (
    AnswerTooLarge,
    FloyoError,
    NetworkError,
    OutageTooLong,
    ProtocolError,
    RateLimited,
    ServerError,
)
from .policy import RETRYABLE_STATUSES, RetryPolicy, backoff_delay

log = logging.getLogger(__name__)
DEFAULT_OUTAGE_LIMIT_S = 30 * 60.0
MAX_RETRY_DELAY_S = 30.0  # the promise: never more than this between tries during an outage


def is_transient(error: BaseException) -> bool:
    """True for failures that say nothing about the run: 5xx/52x pages, resets, DNS and connect
    errors, timeouts, unreadable or non-JSON answers, rate limits. An answer too large to read,
    a refused key or an unknown run are not transient."""
    if isinstance(error, (OutageTooLong, AnswerTooLarge)):
        return False
    if isinstance(error, (NetworkError, ServerError, RateLimited, ProtocolError)):
        return True
    return isinstance(error, FloyoError) and error.status in RETRYABLE_STATUSES


@dataclass
class Outage:
    """The current outage of one watched run, if any."""

    limit_s: float = DEFAULT_OUTAGE_LIMIT_S
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(base_delay_s=1.0,
                                                                    max_delay_s=MAX_RETRY_DELAY_S))
    rand: Callable[[], float] = random.random
    since: float | None = None
    failures: int = 0
    last_error: str = ""

    def seconds(self, now: float) -> float | None:
        """How long Floyo has been unreachable, or None when it answers."""
        return None if self.since is None else max(0.0, now - self.since)

    def failed(self, now: float, error: str, run_id: str) -> float:
        """Count one failed poll; the delay before the next one. Raises OutageTooLong past the
        limit."""
        if self.since is None:
            self.since = now
            log.warning("Floyo unreachable while watching run %s (%s); reconnecting", run_id, error)
        self.failures += 1
        self.last_error = error
        lasted = now - self.since
        if lasted >= self.limit_s:
            raise OutageTooLong(
                f"Floyo could not be reached for {lasted / 60:.0f} min while watching run {run_id} "
                f"(last error: {error[:300]}). The run was NOT cancelled (a cancel cannot cross a "
                "dead network) and keeps running on Floyo: get its outputs later with Floyo Fetch "
                f"Outputs and run id {run_id}, or restart ComfyUI and the pack resumes the runs it "
                "started. FLOYO_OUTAGE_LIMIT_MIN sets how long to wait.", run_id=run_id)
        return min(backoff_delay(self.failures, self.policy, self.rand), MAX_RETRY_DELAY_S)

    def recovered(self, now: float, run_id: str) -> None:
        if self.since is not None:
            log.info("Floyo reachable again after %.0fs; still watching run %s", now - self.since, run_id)
        self.since, self.failures = None, 0
