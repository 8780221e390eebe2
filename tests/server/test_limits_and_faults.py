"""Auth, the 100-per-minute limiter and scripted faults: the failure modes a Floyo client must
survive (docs/floyo-api.md, "Rate limit", "Creating a run"), including a create whose answer never comes."""

from __future__ import annotations

import aiohttp
import pytest
from floyo_scripted import Fault, Scenario, ScriptedServer


async def _hammer(http, url, n, auth):
    codes = []
    for _ in range(n):
        async with http.get(url, headers=auth) as resp:
            codes.append((resp.status, resp.headers.get("Retry-After"), await resp.json()))
    return codes


async def test_bad_or_missing_key_is_401(server, http):
    for headers in ({}, {"Authorization": "Bearer flo_wrong"}, {"Authorization": "flo_test_key"}):
        async with http.get(f"{server.api_url}/runs/run_x", headers=headers) as resp:
            assert resp.status == 401
            assert await resp.json() == {"error": "Unauthorized", "message": "Invalid API key"}


async def test_keys_are_configurable(http):
    async with ScriptedServer(keys={"flo_a", "flo_b"}) as srv:
        for key, code in (("flo_a", 404), ("flo_b", 404), ("flo_test_key", 401)):
            async with http.get(f"{srv.api_url}/runs/run_x", headers={"Authorization": f"Bearer {key}"}) as r:
                assert r.status == code


async def test_request_101_in_a_window_is_429_without_retry_after(server, api, http):
    codes = await _hammer(http, f"{server.api_url}/runs/run_x", 101, api.AUTH)
    assert {c[0] for c in codes[:100]} == {404}
    status, retry_after, body = codes[100]
    assert status == 429 and retry_after is None and body["error"] and body["message"]


async def test_limiter_spans_api_and_cdn_and_resets_with_the_window(server, api, http, clock):
    server.update(rate_limit=3, rate_limit_retry_after=True)
    await _hammer(http, f"{server.api_url}/runs/run_x", 2, api.AUTH)
    assert (await _hammer(http, f"{server.cdn_url}/file_x/download", 1, api.AUTH))[0][0] == 404
    status, retry_after, _ = (await _hammer(http, f"{server.cdn_url}/file_x/download", 1, api.AUTH))[0]
    assert status == 429 and retry_after == "60"
    clock.advance(45)
    assert (await _hammer(http, f"{server.api_url}/runs/run_x", 1, api.AUTH))[0][1] == "15"
    clock.advance(15)
    assert (await _hammer(http, f"{server.api_url}/runs/run_x", 1, api.AUTH))[0][0] == 404


async def test_limiter_is_per_key_and_resettable(http):
    async with ScriptedServer(Scenario(rate_limit=1), keys={"flo_a", "flo_b"}) as srv:
        url = f"{srv.api_url}/runs/run_x"
        assert [c[0] for c in await _hammer(http, url, 2, {"Authorization": "Bearer flo_a"})] == [404, 429]
        assert [c[0] for c in await _hammer(http, url, 1, {"Authorization": "Bearer flo_b"})] == [404]
        srv.reset_rate_limits()
        assert [c[0] for c in await _hammer(http, url, 1, {"Authorization": "Bearer flo_a"})] == [404]


async def test_fault_burst_then_normal_service(server, api, http):
    server.scenario.faults = [Fault("GET", r"^/runs/", status=502, body="Bad gateway", count=2),
                              Fault("GET", r"^/runs/", status=429, body={"error": "Too Many Requests"},
                                    retry_after=7)]
    run_id = await api.create()
    for _ in range(2):
        async with http.get(f"{server.api_url}/runs/{run_id}", headers=api.AUTH) as resp:
            assert resp.status == 502 and await resp.text() == "Bad gateway"
    async with http.get(f"{server.api_url}/runs/{run_id}", headers=api.AUTH) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "7"
    assert (await api.get(run_id))[0] == 200
    assert server.run(run_id).polls == 1  # faulted GETs never reached the run
    assert [r.note for r in server.requests.polls(run_id)] == ["fault"] * 3 + [None]


async def test_create_fault_does_not_create_a_run(server, api, http):
    server.scenario.faults = [Fault("POST", r"^/runs$")]
    async with http.post(f"{server.api_url}/runs", json={"workflow": {}}, headers=api.AUTH) as resp:
        assert resp.status == 500 and (await resp.json())["message"] == "Failed to create run"
    assert server.runs == {} and len(server.requests.creates()) == 1


async def test_fault_origin_filter_and_endless_count(server, api, http):
    server.scenario.faults = [Fault(path=".*", origin="cdn", status=503, body=None, count=-1)]
    for _ in range(3):
        async with http.get(f"{server.cdn_url}/file_x/download", headers=api.AUTH) as resp:
            assert resp.status == 503
    assert (await api.get("run_x"))[0] == 404


async def test_dropped_create_still_creates_and_records_the_run(server, api, http):
    server.scenario.create_drop_connection = 1
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        async with http.post(f"{server.api_url}/runs", json={"workflow": api.WORKFLOW, "name": "m1"},
                             headers=api.AUTH) as resp:
            await resp.read()
    [run] = server.runs.values()
    assert run.name == "m1" and run.workflow == api.WORKFLOW
    [rec] = server.requests.creates()
    assert rec.status is None and rec.note == "dropped"
    assert server.scenario.create_drop_connection == 0
    await api.create()  # the next create answers normally
    assert len(server.runs) == 2
