"""Watching a run to its end and cancelling what we abandon: ``RunHandle`` does these two things only.

A ``RunHandle`` polls fast at first and then backs off; queued time does not count against the
timeout; an unknown status word means "still running". Every caller uses it the same way, as an
async context manager: leaving it on an error before the run reached a terminal state sends a
best-effort, time-bounded remote cancel when the handle's ``cancels`` rule says the error means
it (a run the pack created: any failure; a run watched for the user: their stop; a finished run
looked at: never), and a failed cancel never replaces the original error. The exit yields the
cancel's outcome: ``cancel_outcome``, and a FloyoError leaves as a new error of its kind carrying
it (``FloyoError.outcome``); the error raised inside is never rewritten. Downloading the run's
files is run_files.py's; time and sleep come from ``Hooks``. Must not download nor journal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .client import FloyoClient, new_marker
from .download_limits import DownloadLimits
from .errors import (
    BillingError,
    FloTimeCapped,
    FloyoError,
    Interrupted,
    OutageTooLong,
    RunFailed,
    RunTimedOut,
)
from .list_poll import ListPoller, poller_for, usable
from .models import Phase, Run
from .outage import DEFAULT_OUTAGE_LIMIT_S, Outage, is_transient
from .outcome import CancelOutcome, CancelResult
from .policy import PollSchedule
from .transport import StopCheck, never_stop

log = logging.getLogger(__name__)
SLICE_S = 1.0  # stop checks and status ticks at least once a second
LISTED_SLICE_S = 0.1  # while list-polled: how soon a round that saw this run end is taken up
OUTAGE_CANCEL_S = 2.0


@dataclass(frozen=True)
class RunUpdate:
    """What a status callback receives: at least once a second, and on every change."""

    run_id: str
    status: str
    phase: Phase
    elapsed_s: float
    active_s: float
    flotime_ms: int | None = None
    message: str | None = None
    reconnecting_s: float | None = None  # set while Floyo is unreachable: seconds since it began
    progress: str | None = None  # "KSampler 7/20" while a gateway reports the running node's step


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    should_stop: StopCheck = never_stop
    on_status: Callable[[RunUpdate], None] = _ignore
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Limits:
    timeout_s: float | None = 3600.0  # processing time; queued time is not counted
    max_wait_s: float = 7 * 24 * 3600.0  # everything included: no wait is without a deadline
    schedule: PollSchedule = field(default_factory=PollSchedule)
    cancel_timeout_s: float = 10.0
    url_ttl_s: float = 3600.0
    download: DownloadLimits = field(default_factory=DownloadLimits)  # read by run_files only
    outage_limit_s: float = DEFAULT_OUTAGE_LIMIT_S  # then stop waiting, leave the run running
    max_flotime_s: float | None = None  # the run's FloTime cap (max_flotime_s); None: no cap


def failure_of(run: Run) -> FloyoError:
    """The typed error for a run that ended without success."""
    detail = run.error_message or "Floyo gave no details"
    node = run.raw.get("error", {}).get("details", {}) if isinstance(run.raw.get("error"), dict) else {}
    where = f" (remote node {node['node_id']})" if isinstance(node, dict) and node.get("node_id") else ""
    if run.is_billing_failure:
        return BillingError(f"Floyo run {run.id} stopped: {run.status.replace('_', ' ')}. Add FloTime "
                            f"or API credits to the team, then run again. ({detail})", run_id=run.id)
    if run.phase is Phase.CANCELLED:
        return RunFailed(f"Floyo run {run.id} was cancelled outside this node (on Floyo or by "
                         "another client).", run=run, run_id=run.id)
    return RunFailed(f"Floyo run {run.id} failed{where}: {detail}", run=run, run_id=run.id)


CancelRule = Callable[[BaseException], bool]  # does leaving the handle on this error cancel the run?


def cancel_on_failure(exc: BaseException) -> bool:
    """A run the pack created: any failure cancels it, except an outage (a cancel cannot cross a
    dead network; the run stays journaled and is resumed)."""
    return not isinstance(exc, OutageTooLong)


def cancel_on_stop(exc: BaseException) -> bool:
    """A run watched for the user (resumed after a restart): only their stop cancels it."""
    return isinstance(exc, Interrupted)


def never_cancel(exc: BaseException) -> bool:
    """A run looked at for its outputs (reuse, the runs tab): leaving it never cancels it."""
    return False


class RunHandle:
    """One remote run: wait for it, and cancel it if we give up on it (``cancels`` says when)."""

    def __init__(self, client: FloyoClient, run_id: str, hooks: Hooks | None = None,
                 limits: Limits | None = None, *, cancels: CancelRule = cancel_on_failure):
        self.client, self.run_id, self.cancels = client, run_id, cancels
        self.hooks, self.limits = hooks or Hooks(), limits or Limits()
        self.run: Run | None = None
        self.cancel_outcome: CancelOutcome | None = None
        self._started = self.hooks.clock()
        self._active_s = 0.0
        self._unknown_logged: set[str] = set()
        self.outage = Outage(limit_s=self.limits.outage_limit_s)
        self._retry_delay = 0.0
        self._shared: ListPoller | None = None  # the key's run list poll, while wait() runs
        self._looked = self._started  # when its last look (or the list round it took) began

    @property
    def terminal(self) -> bool:
        return self.run is not None and self.run.phase.terminal

    def _update(self, now: float) -> RunUpdate:
        run = self.run
        return RunUpdate(self.run_id, run.status if run else "queued", run.phase if run else Phase.QUEUED,
                         now - self._started, self._active_s, run.flotime_ms if run else None,
                         run.error_message if run and run.phase is Phase.FAILED else None,
                         self.outage.seconds(now),
                         run.progress_text if run and run.phase is Phase.RUNNING else None)

    async def refresh(self, *, urls: bool = False, attempts: int | None = None) -> Run:
        run = await self.client.get_run(self.run_id, urls=urls, url_ttl_s=self.limits.url_ttl_s,
                                        stop=self.hooks.should_stop, attempts=attempts)
        if run.phase is Phase.UNKNOWN and run.status not in self._unknown_logged:
            self._unknown_logged.add(run.status)
            log.warning("Floyo run %s has an unknown status %r; treating it as still running",
                        self.run_id, run.status)
        self.run = run
        return run

    async def wait(self) -> Run:
        """Poll until terminal. Returns the run on success; raises RunFailed, BillingError,
        RunTimedOut, Interrupted, or OutageTooLong (the run left running)."""
        self._shared = poller_for(self.client, self.hooks.clock)
        self._shared.watched.add(self.run_id)
        try:
            return await self._wait()
        finally:
            self._shared.unwatch(self.run_id)

    async def _wait(self) -> Run:
        last, counting = self.hooks.clock(), False
        while True:
            run = await self._poll()
            now = self.hooks.clock()
            if counting:  # the interval since the last poll was spent processing
                self._active_s += now - last
            last = now
            if run is None:  # Floyo unreachable: the run goes on there, so keep trying
                self._check_deadlines(now)
                await self._sleep(self._retry_delay)
                continue
            counting = run.phase is not Phase.QUEUED
            self.hooks.on_status(self._update(now))
            if run.phase is Phase.SUCCEEDED:
                return run
            if run.phase.terminal:
                raise failure_of(run)
            self._check_deadlines(now)
            await self._sleep(self.limits.schedule.delay(now - self._started))

    def flotime_s(self) -> tuple[float, bool]:
        """FloTime so far, and whether Floyo reported it (it promises ``flotime_ms`` only on a
        finished run): else the time since the run was first seen processing, what FloTime measures."""
        if self.run is not None and self.run.flotime_ms is not None:
            return self.run.flotime_ms / 1000, True
        return self._active_s, False

    def check_cap(self) -> None:
        """Raise FloTimeCapped once the run's FloTime reaches ``max_flotime_s``."""
        spent, reported = self.flotime_s()
        if self.limits.max_flotime_s and spent >= self.limits.max_flotime_s:
            raise FloTimeCapped.of(self.run_id, self.limits.max_flotime_s, spent, reported)

    def _check_deadlines(self, now: float) -> None:
        """The node's own timeout (processing time), its FloTime cap and the overall deadline."""
        self.check_cap()
        timeout = self.limits.timeout_s
        if timeout is not None and self._active_s >= timeout:
            raise RunTimedOut(f"Floyo run {self.run_id} did not finish within {timeout:.0f}s of "
                              "processing (queued time is not counted).", run_id=self.run_id)
        if now - self._started >= self.limits.max_wait_s:
            status = self.run.status if self.run else "queued"
            raise RunTimedOut(f"Floyo run {self.run_id} was still {status} after "
                              f"{self.limits.max_wait_s:.0f}s of waiting.", run_id=self.run_id)

    async def _poll(self) -> Run | None:
        """One poll, retried by the wait loop: None while Floyo is unreachable. Transient
        failures never end the wait before the outage limit, and never cancel the run."""
        try:
            run = await self._look()
        except FloyoError as e:
            if not is_transient(e):
                raise
            now = self.hooks.clock()
            self._retry_delay = self.outage.failed(now, self.client.transport.safe(str(e)), self.run_id)
            self.hooks.on_status(self._update(now))
            return None
        self.outage.recovered(self.hooks.clock(), self.run_id)
        return run

    async def _look(self) -> Run:
        """This poll: the key's shared run list while several runs are watched (list_poll.py);
        the run's own GET when not listed, or ended without all it needs (list_poll.usable)."""
        since, shared = self._looked, self._shared
        self._looked = self.hooks.clock()
        if shared is not None and shared.active():
            if self.run is not None and self._looked - self._started < self.limits.schedule.fast_s:
                return self.run  # just created: its create's answer is news enough, and a fan-out's
                # creates need the key's first requests (the limiter's burst) more than a look
            listed, self._looked = await shared.look(self.client, self.run_id, since, self.hooks.should_stop,
                                                     self.limits.url_ttl_s)
            if listed is not None and usable(listed):
                self.run = listed
                return listed
        return await self.refresh(urls=True, attempts=1)

    async def _sleep(self, seconds: float) -> None:
        end = ticked = self.hooks.clock()
        end += seconds
        while (left := end - self.hooks.clock()) > 0:
            if self.hooks.should_stop():
                raise Interrupted(f"Floyo run {self.run_id} was stopped by the user.", run_id=self.run_id)
            if self._shared is not None and self.run_id in self._shared.ended:
                return  # another run's list round saw this one end: take it now, not a second later
            listed = self._shared is not None and self._shared.active()
            await self.hooks.sleep(min(left, LISTED_SLICE_S if listed else SLICE_S))
            if (now := self.hooks.clock()) - ticked >= SLICE_S or now >= end:  # a tick a second
                ticked = now
                self.hooks.on_status(self._update(now))
        if self.hooks.should_stop():
            raise Interrupted(f"Floyo run {self.run_id} was stopped by the user.", run_id=self.run_id)

    async def cancel(self) -> CancelOutcome:
        """Best effort, bounded in time, never raises."""
        try:
            bound = self.limits.cancel_timeout_s  # in an outage, a stop must not wait out the dead link
            bound = bound if self.outage.since is None else min(bound, OUTAGE_CANCEL_S)
            outcome = await asyncio.wait_for(self.client.cancel_run(self.run_id, timeout_s=bound), bound)
        except (FloyoError, asyncio.TimeoutError, OSError) as e:
            outcome = CancelOutcome(CancelResult.UNCONFIRMED, detail=self.client.transport.safe(str(e))[:200]
                                    or "no answer in time")
        self.cancel_outcome = outcome
        log.info("Cancel of Floyo run %s: %s", self.run_id, outcome.describe())
        return outcome

    async def __aenter__(self) -> RunHandle:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> None:
        if exc is None or not self.cancels(exc):
            return
        if self.terminal:  # nothing to cancel; a user stop now only leaves outputs to fetch later
            if isinstance(exc, Interrupted) and self.run is not None:
                raise Interrupted(f"{exc.message} Floyo run {self.run_id} had already finished "
                                  f"({self.run.status}); Floyo Fetch Outputs can still get its outputs.",
                                  run_id=exc.run_id) from None
            return
        outcome = await self.cancel()  # also kept as ``cancel_outcome`` for the journal
        if isinstance(exc, FloyoError):  # a new error of its kind that carries the outcome from the start
            raise exc.after_cancel(outcome).with_traceback(exc.__traceback__) from None


def run_name(label: str | None, marker: str) -> str:
    """The run's name on Floyo: the user's label plus the marker that finds it by hand."""
    label = (label or "").strip()[:80] or "ComfyUI"
    return f"{label} [{marker}]"


async def start_run(client: FloyoClient, workflow: dict[str, Any], *, label: str | None = None,
                    marker: str | None = None, hooks: Hooks | None = None,
                    limits: Limits | None = None) -> RunHandle:
    """Create the run (at most once) and return its handle; use the handle as a context manager."""
    marker = marker or new_marker()
    hooks = hooks or Hooks()
    run = await client.create_run(workflow, name=run_name(label, marker), marker=marker,
                                  stop=hooks.should_stop)
    handle = RunHandle(client, run.id, hooks, limits)
    handle.run = run
    return handle
