"""Fixtures for the local Floyo server's own tests: a started server and a plain HTTP session.

Each test gets a fresh server (fresh runs, limiter and recorder) on random loopback ports;
``tls_server`` is the same over HTTPS. Network realism is off unless a test sets
``server.realism``.
"""

from __future__ import annotations

import aiohttp
import pytest
from floyo_scripted import Scenario, ScriptedServer

KEY = "flo_test_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WORKFLOW = {"3": {"class_type": "KSampler", "inputs": {"seed": 1}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "floyo_n9", "images": ["8", 0]}}}


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(clock):
    async with ScriptedServer(Scenario(), clock=clock) as srv:
        yield srv


@pytest.fixture
async def tls_server(clock):
    """A fresh server over HTTPS; trust ``tls_server.ca_file`` (e.g. ``tls_context(ca_file)``)."""
    async with ScriptedServer(Scenario(), clock=clock, tls=True) as srv:
        yield srv


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


class Api:
    """Small request helpers bound to one server and session (``api`` fixture)."""

    AUTH = AUTH
    WORKFLOW = WORKFLOW

    def __init__(self, http: aiohttp.ClientSession, server: ScriptedServer):
        self.http, self.server = http, server

    async def create(self, workflow=None, **extra) -> str:
        """POST /runs and return the run id."""
        body = {"workflow": WORKFLOW if workflow is None else workflow, **extra}
        async with self.http.post(f"{self.server.api_url}/runs", json=body, headers=AUTH) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["id"]

    async def get(self, run_id: str, **params) -> tuple[int, dict]:
        async with self.http.get(f"{self.server.api_url}/runs/{run_id}", params=params,
                                 headers=AUTH) as resp:
            return resp.status, await resp.json()

    async def cancel(self, run_id: str) -> tuple[int, dict]:
        async with self.http.post(f"{self.server.api_url}/runs/{run_id}/cancel", headers=AUTH) as resp:
            return resp.status, await resp.json()

    async def statuses(self, run_id: str, n: int) -> list[str]:
        """The status words of the next ``n`` GETs."""
        return [(await self.get(run_id))[1]["status"] for _ in range(n)]

    async def finished(self, workflow=None, **params) -> dict:
        """Create a run, GET it once (scenario steps should make it terminal) and return the body."""
        return (await self.get(await self.create(workflow), **params))[1]


@pytest.fixture
def api(http, server) -> Api:
    return Api(http, server)
