"""``expand``/``presigned_url_expires_in`` validation (docs/floyo-api.md, "Links and expiry") and the
file metadata endpoint: a client that sends the wrong spelling or range must see the 400."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from floyo_pack.floyo_client.models import RUN_URL_EXPIRY_RANGE_S
from floyo_scripted import Step

EXPAND = {"expand": "outputs.presigned_url"}


@pytest.fixture
def done(server):
    server.scenario.steps = [Step("done")]


def _expires(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["expires"][0])


async def test_expand_adds_presigned_urls_default_300s(done, server, api):
    body = await api.finished(**EXPAND)
    url = body["outputs"][0]["presigned_url"]
    assert url.startswith(f"{server.cdn_url}/p/{body['outputs'][0]['id']}/")
    assert abs(_expires(url) - (time.time() + 300)) < 5


@pytest.mark.parametrize("seconds", list(RUN_URL_EXPIRY_RANGE_S))
async def test_expiry_at_range_edges_is_accepted(done, api, seconds):
    body = await api.finished(presigned_url_expires_in=str(seconds), **EXPAND)
    assert abs(_expires(body["outputs"][0]["presigned_url"]) - (time.time() + seconds)) < 5


@pytest.mark.parametrize("params", [
    {"presigned_url_expires_in": "600"},
    {"expand": "outputs_presigned_url"},
    {"expand": "outputs.presigned_url", "presigned_url_expires_in": "29"},
    {"expand": "outputs.presigned_url", "presigned_url_expires_in": "84601"},
    {"expand": "outputs.presigned_url", "presigned_url_expires_in": "soon"},
])
async def test_invalid_expand_or_expiry_is_400(done, api, params):
    run_id = await api.create()
    status, body = await api.get(run_id, **params)
    assert status == 400 and body["error"] == "Validation error" and body["message"]


async def test_file_metadata_with_and_without_expand(done, server, api, http):
    out = (await api.finished())["outputs"][0]
    url = f"{server.api_url}/files/{out['id']}"
    async with http.get(url, headers=api.AUTH) as resp:
        assert resp.status == 200 and await resp.json() == out
    async with http.get(url, params={"expand": "presigned_url", "presigned_url_expires_in": "604800"},
                        headers=api.AUTH) as resp:
        assert resp.status == 200 and "presigned_url" in await resp.json()
    for params in ({"presigned_url_expires_in": "60"}, {"expand": "presigned_url",
                                                         "presigned_url_expires_in": "604801"}):
        async with http.get(url, params=params, headers=api.AUTH) as resp:
            assert resp.status == 400
    async with http.get(f"{server.api_url}/files/file_nope", headers=api.AUTH) as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "File not found"


async def test_team_balance(server, api, http):
    async with http.get(f"{server.api_url}/team/balance", headers=api.AUTH) as resp:
        body = await resp.json()
    assert body["available_flotime_ms"] == 4_080_000 and body["partner_nodes_usd"] == 25.5
