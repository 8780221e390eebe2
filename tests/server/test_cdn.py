"""The CDN origin: uploads with conflict handling, bearer downloads, and presigned links that
are signed, expire, and refuse any Authorization header (a leaked key must be caught)."""

from __future__ import annotations

import asyncio
import hashlib
import time

import aiohttp
import pytest
from floyo_scripted import DownloadFault, OutputSpec, Scenario, ScriptedServer, Step

EXPAND = {"expand": "outputs.presigned_url"}


@pytest.fixture
def done(server):
    server.scenario.steps = [Step("done")]


async def _output(api):
    return (await api.finished(**EXPAND))["outputs"][0]


async def test_presigned_url_serves_bytes_without_auth(done, server, api, http):
    out = await _output(api)
    async with http.get(out["presigned_url"]) as resp:
        assert resp.status == 200 and resp.content_type == "image/png"
        data = await resp.read()
    assert data == server.files[out["id"]].data and len(data) == out["size_bytes"]
    assert server.requests.auth_leaks() == []


async def test_presigned_url_rejects_authorization_header_and_records_it(done, server, api, http):
    out = await _output(api)
    async with http.get(out["presigned_url"], headers={"Authorization": "Bearer flo_test_key"}) as resp:
        assert resp.status == 403
    [leak] = server.requests.auth_leaks()
    assert leak.authorization == "Bearer flo_test_key" and leak.note == "authorization_on_presigned"


@pytest.mark.parametrize("tamper", [
    lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"),          # signature
    lambda u: u.replace("expires=", "expires=9"),                # expiry
    lambda u: u.replace("/p/file_", "/p/file_x"),                # file id
    lambda u: u.split("?")[0],                                   # no query
])
async def test_tampered_presigned_url_is_403(done, api, http, tamper):
    out = await _output(api)
    async with http.get(tamper(out["presigned_url"])) as resp:
        assert resp.status == 403


async def test_expired_links_knob_issues_already_expired_urls(done, server, api, http):
    server.scenario.expired_links = 1
    run_id = await api.create()
    stale = (await api.get(run_id, **EXPAND))[1]["outputs"][0]["presigned_url"]
    fresh = (await api.get(run_id, **EXPAND))[1]["outputs"][0]["presigned_url"]
    async with http.get(stale) as resp:
        assert resp.status == 403 and (await resp.json())["message"] == "Request has expired"
    async with http.get(fresh) as resp:
        assert resp.status == 200


async def test_presigned_url_expires_on_the_injected_wall_clock(http):
    now = [2_000_000_000.0]
    auth = {"Authorization": "Bearer flo_test_key"}
    async with ScriptedServer(Scenario(steps=[Step("done")]), wall_clock=lambda: now[0]) as srv:
        async with http.post(f"{srv.api_url}/runs", json={"workflow": {}}, headers=auth) as resp:
            run_id = (await resp.json())["id"]
        params = {**EXPAND, "presigned_url_expires_in": "30"}
        async with http.get(f"{srv.api_url}/runs/{run_id}", params=params, headers=auth) as resp:
            url = (await resp.json())["outputs"][0]["presigned_url"]
        now[0] += 29
        async with http.get(url) as resp:
            assert resp.status == 200
        now[0] += 2
        async with http.get(url) as resp:
            assert resp.status == 403


async def test_presign_ttl_knob_overrides_the_requested_lifetime(done, server, api):
    server.scenario.presign_ttl_s = -5
    url = (await _output(api))["presigned_url"]
    assert int(url.split("expires=")[1].split("&")[0]) < time.time()


async def test_bearer_download_has_content_disposition(done, server, api, http):
    out = await _output(api)
    async with http.get(f"{server.cdn_url}/{out['id']}/download") as resp:
        assert resp.status == 401
    async with http.get(f"{server.cdn_url}/{out['id']}/download", headers=api.AUTH) as resp:
        assert resp.status == 200 and out["file_name"] in resp.headers["Content-Disposition"]
        assert await resp.read() == server.files[out["id"]].data
    async with http.get(f"{server.cdn_url}/file_missing/download", headers=api.AUTH) as resp:
        assert resp.status == 404


async def test_redirect_to_other_origin_records_headers(done, server, api, http):
    server.scenario.redirect_downloads = True
    out = await _output(api)
    async with http.get(out["presigned_url"], allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"].startswith(server.other_url)
    async with http.get(out["presigned_url"], headers={"X-Probe": "1"}) as resp:
        assert resp.status == 200 and await resp.read() == server.files[out["id"]].data
    [hit] = server.requests.filter("GET", "/blob/.*", origin="other")
    assert hit.headers.get("X-Probe") == "1" and hit.authorization is None


async def _upload(server, http, auth, data, name="cat.png", **fields):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/png")
    for key, value in fields.items():
        form.add_field(key, value)
    async with http.post(f"{server.cdn_url}/upload", data=form, headers=auth) as resp:
        return resp.status, await resp.json()


async def test_upload_returns_file_object_and_records_sha256(server, api, http):
    data = b"\x89PNG fake bytes" * 10
    status, body = await _upload(server, http, api.AUTH, data, path="/api/uploads")
    assert status == 200 and body["id"].startswith("file_") and body["object"] == "file"
    assert body["input_path"] == "#inputs/api/uploads/cat.png" and body["size_bytes"] == len(data)
    [up] = server.uploads
    assert up.sha256 == hashlib.sha256(data).hexdigest() and up.file_id == body["id"]
    async with http.get(f"{server.cdn_url}/{body['id']}/download", headers=api.AUTH) as resp:
        assert await resp.read() == data


async def test_upload_conflict_fail_is_409_with_suggestion_and_rename_works(server, api, http):
    assert (await _upload(server, http, api.AUTH, b"a", filename="x.png"))[0] == 200
    status, body = await _upload(server, http, api.AUTH, b"b", filename="x.png")
    assert status == 409 and body["error"] == "Upload Failed" and body["suggestion"] == "x (1).png"
    status, body = await _upload(server, http, api.AUTH, b"b", filename="x.png", on_conflict="rename")
    assert status == 200 and body["file_name"] == "x (1).png" and body["input_path"] == "#inputs/x (1).png"
    assert (await _upload(server, http, api.AUTH, b"c", filename="x.png", on_conflict="rename"))[1][
        "file_name"] == "x (2).png"
    assert len(server.uploads) == 3


async def test_upload_needs_a_key_and_a_file(server, api, http):
    assert (await _upload(server, http, {}, b"a"))[0] == 401
    form = aiohttp.FormData()
    form.add_field("path", "x")
    async with http.post(f"{server.cdn_url}/upload", data=form, headers=api.AUTH) as resp:
        assert resp.status == 400


@pytest.mark.parametrize("kind", ["truncate", "reset"])
async def test_download_cut_short_under_full_content_length(done, server, api, http, kind):
    server.scenario.outputs = [OutputSpec(size=(256, 256))]
    server.scenario.download_faults = [DownloadFault(kind=kind, after_bytes=1000)]
    out = await _output(api)
    async with http.get(out["presigned_url"]) as resp:
        assert resp.status == 200 and resp.content_length == out["size_bytes"]
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    async with http.get(out["presigned_url"]) as resp:  # count=1: the next download is whole
        assert len(await resp.read()) == out["size_bytes"]


async def test_download_stall_sends_some_bytes_then_hangs(done, server, api, http):
    server.scenario.download_faults = [DownloadFault(kind="stall", after_bytes=100, stall_s=30)]
    out = await _output(api)
    async with http.get(out["presigned_url"], timeout=aiohttp.ClientTimeout(sock_read=0.1)) as resp:
        assert len(await resp.content.readexactly(100)) == 100
        with pytest.raises(TimeoutError):
            await resp.content.read(1)


async def test_download_faults_filter_by_route(done, server, api, http):
    server.scenario.download_faults = [DownloadFault(kind="truncate", where=frozenset({"bearer"}))]
    out = await _output(api)
    async with http.get(out["presigned_url"]) as resp:
        assert len(await resp.read()) == out["size_bytes"]
    assert server.scenario.download_faults[0].count == 1


async def test_presigned_downloads_serve_a_single_range_like_a_cdn(done, server, api, http):
    out = await _output(api)
    data = server.files[out["id"]].data
    async with http.get(out["presigned_url"]) as resp:
        etag = resp.headers["ETag"]
        assert resp.headers["Accept-Ranges"] == "bytes" and not etag.startswith("W/")
    async with http.get(out["presigned_url"], headers={"Range": "bytes=100-", "If-Range": etag}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
        assert await resp.read() == data[100:]
    async with http.get(out["presigned_url"], headers={"Range": "bytes=10-19"}) as resp:
        assert resp.status == 206 and await resp.read() == data[10:20]
    async with http.get(out["presigned_url"], headers={"Range": "bytes=100-", "If-Range": '"other"'}) as resp:
        assert resp.status == 200 and await resp.read() == data, "a changed file is sent whole"
    async with http.get(out["presigned_url"], headers={"Range": f"bytes={len(data)}-"}) as resp:
        assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(data)}"


async def test_range_requests_knob_off_serves_the_whole_file_without_accept_ranges(done, server, api, http):
    out = await _output(api)
    async with http.get(out["presigned_url"], headers={"Range": "bytes=100-"}) as resp:
        assert resp.status == 206
    server.scenario.range_requests = False
    async with http.get(out["presigned_url"], headers={"Range": "bytes=100-"}) as resp:
        assert resp.status == 200 and "Accept-Ranges" not in resp.headers and "ETag" not in resp.headers
        assert await resp.read() == server.files[out["id"]].data


async def test_download_faults_apply_to_a_range_answer(done, server, api, http):
    server.scenario.outputs = [OutputSpec(size=(256, 256))]
    server.scenario.download_faults = [DownloadFault(kind="truncate", after_bytes=50)]
    out = await _output(api)
    async with http.get(out["presigned_url"], headers={"Range": "bytes=100-"}) as resp:
        assert resp.status == 206 and resp.content_length == out["size_bytes"] - 100
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()


async def test_download_trickle_sends_a_byte_a_second(done, server, api, http):
    server.scenario.download_faults = [DownloadFault(kind="trickle", after_bytes=100)]
    out = await _output(api)
    async with http.get(out["presigned_url"]) as resp:
        assert len(await resp.content.readexactly(100)) == 100
        assert len(await asyncio.wait_for(resp.content.readexactly(2), 10)) == 2
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resp.content.readexactly(10), 2.5)  # 10 bytes take 10 s
    assert server.requests.downloads()[0].note == "download_trickle"
