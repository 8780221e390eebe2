"""Floyo allows 100 requests/minute/key. Every run, route and thread of the process shares one
budget per key, so concurrent runs slow down together instead of being answered 429."""

from __future__ import annotations

import asyncio

import pytest
from floyo_pack.floyo_client import (
    CancelResult,
    Config,
    Hooks,
    Interrupted,
    RateLimiter,
    Transport,
    key_state,
    start_run,
)
from floyo_pack.floyo_client.policy import RetryPolicy, parse_retry_after, rate_limited_delay
from floyo_scripted import Fault, Scenario, ScriptedServer, Step

from .conftest import WORKFLOW, FakeTime, make_client


async def test_twenty_concurrent_waits_share_the_100_per_minute_limit_with_no_429():
    # Floyo's real limit (100 requests per 60 s per key) on the server, the pack's default limiter
    # on the client, and one injected clock for both, so the minute passes without waiting for it.
    t = FakeTime()
    # run_list off: each run polled alone, the busiest case (list polls: tests/core/test_list_poll.py)
    scenario = Scenario(steps=[Step("queued", polls=2), Step("processing", polls=4), Step("done")],
                        run_list=False)
    async with ScriptedServer(scenario, clock=t.clock) as floyo:
        shared = RateLimiter(clock=t.clock)  # what key_state() gives every run of one key
        hooks = Hooks(sleep=t.sleep, clock=t.clock)

        async def one_run(i: int) -> str:
            async with make_client(floyo, time=t, limiter=shared) as client:  # own sessions, one budget
                handle = await start_run(client, WORKFLOW, label=f"r{i}", hooks=hooks)
                async with handle:
                    return (await handle.wait()).status

        statuses = await asyncio.gather(*(one_run(i) for i in range(20)))
        answered = [r.status for r in floyo.requests.all() if "ids" not in r.query]
    assert statuses == ["done"] * 20
    assert 429 not in [r.status for r in floyo.requests.all()]  # the one list request too
    assert len(answered) == 160 and 429 not in answered  # 160 > 100: the minute really was shared
    assert t.now - 1000.0 > 60


def test_limiter_paces_after_a_small_burst_and_never_exceeds_the_window():
    t = FakeTime()
    limiter = RateLimiter(rate=100, window_s=60.0, margin_s=1.0, clock=t.clock)
    at = [t.now + limiter.reserve() for _ in range(250)]
    assert at[:10] == [t.now] * 10  # a burst, so a single run's first polls are not delayed
    assert abs((at[10] - t.now) - 6.1) < 1e-9  # then the steady rate: 100 per 61 s
    assert at == sorted(at)  # first come, first served
    assert max(sum(1 for x in at if start <= x < start + 61.0) for start in at) <= 100


def test_one_limiter_per_key_is_shared_process_wide():
    a, b = (Config(api_key=key, api_url="https://x", cdn_url="https://c") for key in ("flo_a_key_0001",
                                                                                   "flo_b_key_0002"))
    assert key_state(a) is key_state(a) and key_state(a).limiter is key_state(a).limiter
    assert key_state(a).limiter is not key_state(b).limiter
    # every Transport of the key, whatever its loop, spends the one budget of its state
    assert Transport(a).limiter is Transport(a).twin().limiter is key_state(a).limiter


async def test_429_with_retry_after_waits_that_long_then_succeeds(floyo, fake_time):
    floyo.scenario.faults.append(Fault("GET", r"^/runs/", status=429, count=1, retry_after=7,
                                       body={"error": "Too Many Requests"}))
    async with make_client(floyo, time=fake_time) as client:
        run = await (await start_run(client, WORKFLOW)).refresh()
    assert run.status == "queued"
    assert abs(sum(fake_time.sleeps) - 7.0) < 0.3
    assert floyo.requests.count("GET", r"/runs/.*") == 2


def test_429_without_retry_after_backs_off_exponentially_and_caps():
    policy = RetryPolicy()
    delays = [rate_limited_delay(None, n, policy) for n in range(1, 8)]
    assert delays[:3] == [2.0, 4.0, 8.0] and max(delays) == 60.0
    assert rate_limited_delay(500.0, 1, policy) == policy.max_retry_after_s


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12", 0) == 12.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


async def test_poll_loop_survives_a_5xx_burst(floyo, fake_time):
    floyo.scenario.faults.append(Fault("GET", r"^/runs/", status=502, count=3, body="bad gateway"))
    async with make_client(floyo, time=fake_time) as client:
        handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock))
        async with handle:
            assert (await handle.wait()).status == "done"


async def test_a_cancel_answered_429_waits_out_retry_after_once_before_resending():
    # Server and client share one clock, so the server's own request times show the wait.
    t = FakeTime()
    async with ScriptedServer(clock=t.clock, wall_clock=t.clock) as floyo:
        floyo.scenario.faults.append(Fault("POST", r"/cancel$", status=429, count=1, retry_after=3,
                                           body={"error": "Too Many Requests"}))
        async with make_client(floyo, time=t) as client:
            handle = await start_run(client, WORKFLOW)
            outcome = await handle.cancel()
        cancels = floyo.requests.cancel_requests(handle.run_id)
    assert outcome.result is CancelResult.CANCELLED
    assert [r.status for r in cancels] == [429, 200]
    assert cancels[1].time - cancels[0].time >= 3.0  # not resent back-to-back
    assert sum(t.sleeps) < 3.5  # one wait, not the transport's and the limiter's


async def test_a_cancel_never_waits_a_retry_after_past_its_deadline():
    t = FakeTime()
    async with ScriptedServer(clock=t.clock, wall_clock=t.clock) as floyo:
        floyo.scenario.faults.append(Fault("POST", r"/cancel$", status=429, count=-1, retry_after=3600,
                                           body={"error": "Too Many Requests"}))
        async with make_client(floyo, time=t) as client:
            handle = await start_run(client, WORKFLOW)
            before = t.now
            outcome = await handle.cancel()  # Limits.cancel_timeout_s: 10 s in all
        cancels = floyo.requests.cancel_requests(handle.run_id)
    assert outcome.result is CancelResult.UNCONFIRMED and "rate limit" in outcome.describe()
    assert [r.status for r in cancels] == [429]  # neither resent at once nor after a capped wait
    assert t.now - before < 10.0


async def test_a_stop_ends_the_wait_after_a_429_within_a_second():
    t = FakeTime()
    async with ScriptedServer(clock=t.clock, wall_clock=t.clock) as floyo:
        async with make_client(floyo, time=t) as client:
            run = await (await start_run(client, WORKFLOW)).refresh()
            floyo.scenario.faults.append(Fault("GET", r"^/runs/", status=429, count=1, retry_after=60,
                                               body={"error": "Too Many Requests"}))
            stop_at = t.now + 5.0
            with pytest.raises(Interrupted):
                await client.get_run(run.id, stop=lambda: t.now >= stop_at)
    assert stop_at <= t.now < stop_at + 1.0
    assert floyo.requests.count("GET", rf"/runs/{run.id}$") == 2  # the refresh, then the 429
