"""The run list (``GET /runs?search=&limit=``), how a lost create is found by its name marker: on
the scripted server (switchable off, as on a Floyo without it) and in gateway mode."""

from __future__ import annotations

import aiohttp
import pytest
from floyo_pack.floyo_server.access import owner_of
from floyo_pack.floyo_server.gateway_runs import GatewayRun
from floyo_scripted import GatewayServer, ScriptedServer

HEADERS = {"Authorization": "Bearer flo_test_key"}
WORKFLOW = {"1": {"class_type": "SaveImage", "inputs": {}}}


async def get(url: str, **params) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.get(url, params=params, headers=HEADERS) as r:
        return r.status, await r.json()


async def test_run_list_finds_runs_by_name_newest_first_within_the_limit():
    async with ScriptedServer() as srv, aiohttp.ClientSession() as s:
        for name in ("a [flyc-1]", "b [flyc-2]", "c [flyc-2]"):
            async with s.post(srv.api_url + "/runs", json={"workflow": WORKFLOW, "name": name},
                              headers=HEADERS) as r:
                assert r.status == 200
        status, body = await get(srv.api_url + "/runs", search="flyc-2", limit="1")
        assert status == 200 and body["has_more"] is True
        assert [r["name"] for r in body["data"]] == ["c [flyc-2]"] and body["data"][0]["status"]
        polls_before = sum(r.polls for r in srv.runs.values())
        status, body = await get(srv.api_url + "/runs", search="flyc-1")
        assert [r["name"] for r in body["data"]] == ["a [flyc-1]"]
        assert sum(r.polls for r in srv.runs.values()) == polls_before, "a listing is not a poll"


@pytest.mark.parametrize("limit", ["0", "101", "x"])
async def test_run_list_rejects_a_bad_limit(limit):
    async with ScriptedServer() as srv:
        status, _ = await get(srv.api_url + "/runs", limit=limit)
    assert status == 400


async def test_run_list_switched_off_answers_404_like_a_floyo_without_it():
    async with ScriptedServer() as srv:
        srv.scenario.run_list = False
        status, _ = await get(srv.api_url + "/runs", search="x")
    assert status == 404


async def test_gateway_run_list_finds_a_run_by_its_marker():
    async with GatewayServer("http://127.0.0.1:9", keys=["flo_test_key"]) as gw:
        gw.gateway.store.save_run(GatewayRun(id="run_a1", name="x [flyc-7]", owner=owner_of("flo_test_key"),
                                             prompt_id="p1"))
        gw.gateway.store.save_run(GatewayRun(id="run_b2", name="y [flyc-7]", owner=owner_of("flo_other"),
                                             prompt_id="p2"))
        status, body = await get(gw.api_url + "/runs", search="flyc-7")
    assert status == 200 and [r["id"] for r in body["data"]] == ["run_a1"], "only the key's own runs"
