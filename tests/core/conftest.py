"""Fixtures for core tests: a scripted Floyo-compatible server on loopback and clients for it.

Time is injected: ``FakeTime`` gives the client a clock that only moves when it sleeps, so
backoffs, Retry-After waits and poll schedules are checked without waiting for them.
"""

from __future__ import annotations

import asyncio

import pytest
from floyo_pack.floyo_client import Config, FloyoClient, KeyState, RateLimiter, RetryPolicy, Transport
from floyo_pack.floyo_client.keystate import forget_key_states
from floyo_scripted import ScriptedServer

KEY = "flo_test_key"
# The smallest workflow a run is created with (shared by the core and glue tests).
WORKFLOW = {"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["8", 0]}},
            "8": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64}}}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def floyo():
    forget_key_states()  # a verdict on an earlier server must not follow its port to this one
    async with ScriptedServer() as server:
        yield server
    forget_key_states()


def make_client(server: ScriptedServer, *, key: str = KEY, time: FakeTime | None = None,
                limiter: RateLimiter | None = None, api_url: str | None = None) -> FloyoClient:
    """A client with a key state of its own, as a fresh process has (tests must not share the
    process-wide one), over ``limiter`` when given (several clients, one budget)."""
    time = time or FakeTime()
    config = Config(api_key=key, api_url=api_url or server.api_url, cdn_url=server.cdn_url)
    policy = RetryPolicy(base_delay_s=0.05, max_delay_s=0.2)
    limiter = limiter or RateLimiter(clock=time.clock)
    return FloyoClient(Transport(config, policy=policy, state=KeyState(limiter), sleep=time.sleep,
                                 clock=time.clock))


@pytest.fixture
async def client(floyo, fake_time):
    async with make_client(floyo, time=fake_time) as c:
        yield c
