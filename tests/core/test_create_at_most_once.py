"""A paid run must never be submitted twice: POST /runs is not resent once its body may have
reached Floyo (Floyo has no idempotency key). It may be retried only when Floyo refused it."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import NetworkError, RunMayExist, ServerError, new_marker
from floyo_scripted import Fault

from .conftest import WORKFLOW, make_client


async def test_dropped_connection_after_send_creates_exactly_one_run_and_says_it_may_exist(floyo, client):
    floyo.scenario.create_drop_connection = 1
    marker = new_marker()
    with pytest.raises(RunMayExist) as caught:
        await client.create_run(WORKFLOW, name=f"test [{marker}]", marker=marker)
    assert floyo.requests.count("POST", "/runs") == 1
    assert len(floyo.runs) == 1  # Floyo did create it: resending would have paid twice
    assert marker in str(caught.value) and "may have been created" in str(caught.value)
    assert caught.value.marker == marker


async def test_create_is_retried_after_429_because_floyo_refused_it(floyo, client):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=429, count=2,
                                       body={"error": "Too Many Requests", "message": "slow down"}))
    run = await client.create_run(WORKFLOW, name="t", marker="m")
    assert floyo.requests.count("POST", "/runs") == 3
    assert list(floyo.runs) == [run.id]


async def test_create_5xx_is_reported_and_never_retried(floyo, client):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=500, count=1))
    with pytest.raises(ServerError) as caught:
        await client.create_run(WORKFLOW, name="named-run", marker="m")
    assert floyo.requests.count("POST", "/runs") == 1
    assert "not retried" in str(caught.value) and "named-run" in str(caught.value)


async def test_create_is_retried_when_the_connection_was_refused_and_nothing_was_sent(floyo):
    import socket

    with socket.socket() as s:  # a port with nothing listening: connect fails, nothing is sent
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    async with make_client(floyo, api_url=dead) as c:
        with pytest.raises(NetworkError) as caught:
            await c.create_run(WORKFLOW, name="t", marker="m")
    assert not isinstance(caught.value, RunMayExist)
    assert "Could not reach 127.0.0.1" in str(caught.value)
    assert floyo.requests.count("POST", "/runs") == 0
