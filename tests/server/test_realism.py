"""The network-realism layer, seen on the wire: each knob does what its docstring says.

Raw HTTP/1.1 over an asyncio stream shows the framing (chunk frames, Content-Encoding, a reset
before the declared length); aiohttp shows what a real client gets. Off by default.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import aiohttp
import pytest
from floyo_scripted import (
    CloudflarePage,
    DownloadFault,
    Fault,
    LateBody,
    Outage,
    OutputSpec,
    Realism,
    Reset,
    Scenario,
    ScriptedServer,
    Step,
)
from yarl import URL

from .conftest import AUTH

BALANCE = "/team/balance"


async def raw_get(base: str, path: str, *, gzip_ok: bool = False, auth: bool = True,
                  ssl=None) -> tuple[int, dict, list[bytes]]:
    """GET over a fresh connection: ``(status, headers, body frames)``. With chunked framing each
    chunk is one frame; else the whole Content-Length body is one frame. Raises
    ConnectionResetError / IncompleteReadError when cut."""
    url = URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port, ssl=ssl)
    try:
        accept = "Accept-Encoding: gzip, deflate\r\n" if gzip_ok else ""
        key = f"Authorization: {AUTH['Authorization']}\r\n" if auth else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n{accept}{key}"
                     "Connection: close\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if headers.get("transfer-encoding") == "chunked":
            return status, headers, await _chunk_frames(reader)
        return status, headers, [await reader.readexactly(int(headers["content-length"]))]
    finally:
        writer.close()


async def _chunk_frames(reader: asyncio.StreamReader) -> list[bytes]:
    frames = []
    while True:
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            return frames
        frames.append(await reader.readexactly(size))
        await reader.readexactly(2)


def test_realism_is_off_by_default():
    assert Scenario().realism is None  # the shipped scenario (the gateway's) has no realism at all
    knobs = ScriptedServer(Scenario()).realism
    assert not knobs.shapes and knobs.latency_s == 0 and not knobs.outages and not knobs.pages


async def test_unshaped_answer_is_one_content_length_body(server):
    status, headers, frames = await raw_get(server.api_url, BALANCE, gzip_ok=True)
    assert status == 200 and "content-encoding" not in headers and "transfer-encoding" not in headers
    assert json.loads(frames[0])["partner_nodes_usd"] == 25.5


async def test_pieces_and_chunked_split_the_body_into_several_chunk_frames(server):
    server.realism = Realism(pieces=4, piece_delay_s=0.01, chunked=True)
    status, headers, frames = await raw_get(server.api_url, BALANCE)
    assert status == 200 and headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert len(frames) == 4 and all(frames)
    assert json.loads(b"".join(frames))["partner_nodes_usd"] == 25.5


async def test_max_piece_bytes_splits_a_large_download_further(server, api, http):
    server.scenario.steps = [Step("done")]
    server.scenario.outputs = [OutputSpec(format="bin", nbytes=50_000)]
    out = (await api.finished(expand="outputs.presigned_url"))["outputs"][0]
    server.realism = Realism(max_piece_bytes=4096, chunked=True)
    url = URL(out["presigned_url"], encoded=True)
    status, _, frames = await raw_get(str(url.origin()), url.raw_path_qs, auth=False)
    assert status == 200 and len(frames) == 13 and max(map(len, frames)) == 4096
    assert b"".join(frames) == server.files[out["id"]].data


async def test_content_length_body_split_in_pieces_still_arrives_whole(server, http):
    server.realism = Realism(pieces=5, piece_delay_s=0.02)
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.headers["Content-Length"] and "Transfer-Encoding" not in resp.headers
        assert (await resp.json())["partner_nodes_usd"] == 25.5
    [sent] = server.realism.sent_for("api", BALANCE)
    assert sent.pieces == 5 and sent.fate == "whole" and not sent.chunked


async def test_gzip_only_when_the_request_accepts_it(server):
    server.realism = Realism(gzip=True)
    status, headers, frames = await raw_get(server.api_url, BALANCE, gzip_ok=True)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(frames[0]))["partner_nodes_usd"] == 25.5
    _, plain_headers, plain = await raw_get(server.api_url, BALANCE, gzip_ok=False)
    assert "content-encoding" not in plain_headers and json.loads(plain[0])["partner_nodes_usd"] == 25.5


async def test_gzip_leaves_image_downloads_as_they_are(server, api):
    server.scenario.steps = [Step("done")]
    out = (await api.finished(expand="outputs.presigned_url"))["outputs"][0]
    server.realism = Realism(gzip=True, chunked=True)
    url = URL(out["presigned_url"], encoded=True)
    _, headers, frames = await raw_get(str(url.origin()), url.raw_path_qs, gzip_ok=True, auth=False)
    assert "content-encoding" not in headers and b"".join(frames) == server.files[out["id"]].data


async def test_aiohttp_client_reads_chunked_gzip_pieces_whole(server, http):
    server.realism = Realism.internet(pieces=6, piece_delay_s=0.01)
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Transfer-Encoding"] == "chunked"
        assert (await resp.json())["available_flotime_ms"] == 4_080_000


async def test_same_seed_cuts_bodies_at_the_same_places(server):
    sizes = []
    for _ in range(2):
        server.realism = Realism(pieces=5, chunked=True, seed=7)
        sizes.append([len(f) for f in (await raw_get(server.api_url, BALANCE))[2]])
    assert sizes[0] == sizes[1]
    server.realism = Realism(pieces=5, chunked=True, seed=8)
    assert [len(f) for f in (await raw_get(server.api_url, BALANCE))[2]] != sizes[0]


async def test_latency_delays_the_answer_by_at_least_latency_s(server, http):
    server.realism = Realism(latency_s=0.3)
    start = time.monotonic()
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.status == 200
    assert time.monotonic() - start >= 0.29


async def _download_200k(server, api) -> str:
    server.scenario.steps = [Step("done")]
    server.scenario.outputs = [OutputSpec(format="bin", nbytes=100_000, seed=s) for s in (1, 2)]
    return [o["presigned_url"] for o in (await api.finished(expand="outputs.presigned_url"))["outputs"]]


async def test_shared_bandwidth_limits_all_connections_together(server, api, http):
    urls = await _download_200k(server, api)
    # 200 kB over one 400 kB/s link: 0.5 s, less the pacer's 20 ms burst allowance
    server.realism = Realism(bandwidth_bps=400_000)

    async def fetch(url):
        async with http.get(URL(url, encoded=True)) as resp:
            return len(await resp.read())

    start = time.monotonic()
    assert await asyncio.gather(*map(fetch, urls)) == [100_000, 100_000]
    assert time.monotonic() - start >= 0.45


async def test_connection_bandwidth_limits_each_answer(server, api, http):
    [url, _] = await _download_200k(server, api)
    server.realism = Realism(bandwidth_bps=200_000, bandwidth_scope="connection")
    start = time.monotonic()
    async with http.get(URL(url, encoded=True)) as resp:
        assert len(await resp.read()) == 100_000
    assert time.monotonic() - start >= 0.45  # 100 kB at 200 kB/s: 0.5 s less the 20 ms burst


async def test_reset_cuts_the_next_matching_answer_mid_body_then_stops(server, http):
    server.realism = Realism(resets=[Reset(after_bytes=20, path="^/team/", count=1)])
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await raw_get(server.api_url, BALANCE)
    with pytest.raises(aiohttp.ClientPayloadError):
        server.realism.resets[0].count = 1
        async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
            assert resp.status == 200
            await resp.read()
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert (await resp.json())["partner_nodes_usd"] == 25.5
    cut = [s for s in server.realism.sent if s.fate == "reset"]
    assert len(cut) == 2 and all(s.body_bytes == 20 for s in cut)
    assert [r.note for r in server.requests.filter("GET", BALANCE)] == ["reset", "reset", None]


async def test_reset_never_sends_the_whole_body_even_when_after_bytes_exceeds_it(server):
    server.realism = Realism(resets=[Reset(after_bytes=10**9)])
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await raw_get(server.api_url, BALANCE)


async def test_cloudflare_page_answers_before_the_handler(server, http):
    server.realism = Realism(pages=[CloudflarePage(status=520, path="^/runs$", count=1)])
    body = {"workflow": {"1": {"class_type": "KSampler", "inputs": {}}}}
    async with http.post(server.api_url + "/runs", json=body, headers=AUTH) as resp:
        assert resp.status == 520 and resp.content_type == "text/html"
        assert resp.headers["Server"] == "cloudflare" and resp.headers["CF-RAY"]
        text = await resp.text()
    assert "520: Web server is returning an unknown error" in text and "cloudflare" in text.lower()
    assert server.runs == {}  # the origin never saw it
    async with http.post(server.api_url + "/runs", json=body, headers=AUTH) as resp:
        assert resp.status == 200
    assert [r.status for r in server.requests.creates()] == [520, 200]


async def test_outage_of_pages_holds_for_its_window_then_recovers(server, http, clock):
    server.realism = Realism(outages=[Outage(seconds=6, kind="page", status=522, origin="api")])
    for step in (2.0, 2.0, 1.5, 0.5):  # requests at 0, 2, 4 and 5.5 s fail; at 6 s it is over
        async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
            assert resp.status == 522 and "cloudflare" in (await resp.text()).lower()
        clock.advance(step)
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.status == 200


async def test_outage_of_resets_drops_every_request_on_its_origin_only(server, http, clock):
    outage = server.start_outage(30, kind="reset", origin="api")
    for _ in range(2):
        with pytest.raises(aiohttp.ClientOSError):
            async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
                await resp.read()
    async with http.get(server.cdn_url + "/nope/download", headers=AUTH) as resp:
        assert resp.status == 404  # the CDN origin is up
    dropped = server.requests.filter("GET", BALANCE)  # aiohttp may retry a reset GET once
    assert len(dropped) >= 2 and {(r.status, r.note) for r in dropped} == {(None, "outage_reset")}
    clock.advance(outage.seconds)
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.status == 200


async def test_realism_knobs_apply_per_origin(server):
    server.realism = Realism(chunked=True, pieces=3, origins=frozenset({"cdn"}))
    _, headers, _ = await raw_get(server.api_url, BALANCE)
    assert "transfer-encoding" not in headers


async def test_a_raw_reader_gets_exactly_after_bytes_before_the_reset(server):
    server.realism = Realism(resets=[Reset(after_bytes=20, path=BALANCE)])
    url = URL(server.api_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    key = AUTH["Authorization"]
    writer.write(f"GET {BALANCE} HTTP/1.1\r\nHost: x\r\nAuthorization: {key}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    declared = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")))
    got = b""
    with pytest.raises(ConnectionResetError):
        while chunk := await reader.read(65536):
            got += chunk
        raise AssertionError(f"clean close after {len(got)} bytes; expected a reset")
    writer.close()
    assert head.startswith(b"HTTP/1.1 200") and len(got) == 20 < declared


async def test_download_faults_pass_through_unshaped(server, api, http):
    server.scenario.steps = [Step("done")]
    out = (await api.finished(expand="outputs.presigned_url"))["outputs"][0]
    server.scenario.download_faults = [DownloadFault(kind="truncate", after_bytes=10)]
    server.realism = Realism.internet()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(URL(out["presigned_url"], encoded=True)) as resp:
            await resp.read()
    async with http.get(URL(out["presigned_url"], encoded=True)) as resp:
        assert await resp.read() == server.files[out["id"]].data
    assert [s.fate for s in server.realism.sent_for("cdn")] == ["passthrough", "whole"]


async def test_scripted_faults_and_dropped_creates_keep_working_under_realism(server, http):
    server.realism = Realism.internet()
    server.scenario.faults = [Fault(method="GET", path=BALANCE, status=503, count=1)]
    async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
        assert resp.status == 503 and resp.headers["Transfer-Encoding"] == "chunked"
        assert (await resp.json())["error"] == "Internal Server Error"
    server.scenario.create_drop_connection = 1
    with pytest.raises(aiohttp.ClientError):
        async with http.post(server.api_url + "/runs", json={"workflow": {}}, headers=AUTH) as resp:
            await resp.read()
    assert len(server.runs) == 1 and server.realism.sent_for("api", "^/runs$")[0].fate == "dropped"


async def test_outage_of_hangs_holds_requests_unanswered_until_the_client_times_out(server, http):
    server.start_outage(60, kind="hang", path=BALANCE)
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(server.api_url + BALANCE, headers=AUTH,
                            timeout=aiohttp.ClientTimeout(total=0.5)) as resp:
            await resp.read()
    async with http.get(server.api_url + "/runs/nope", headers=AUTH) as resp:
        assert resp.status == 404  # other paths still answer
    [held] = server.requests.filter("GET", BALANCE)
    assert held.status is None and held.note == "outage_hang"


async def test_handshake_delay_falls_on_the_first_request_of_each_connection(server, http):
    server.realism = Realism(handshake_s=0.3)
    start = time.monotonic()
    for _ in range(2):  # one keep-alive connection
        async with http.get(server.api_url + BALANCE, headers=AUTH) as resp:
            assert resp.status == 200
            await resp.read()
    assert time.monotonic() - start >= 0.29
    await raw_get(server.api_url, BALANCE)  # a second connection
    assert [s.new_connection for s in server.realism.sent] == [True, False, True]


async def test_a_late_body_sends_the_headers_at_once_and_the_first_body_byte_seconds_later(server):
    server.realism = Realism(late_bodies=[LateBody(seconds=1.0, path=BALANCE)], chunked=True)
    url = URL(server.api_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(f"GET {BALANCE} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
                     "Connection: close\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        headers_at = time.monotonic()
        first = await reader.readexactly(1)
        silence = time.monotonic() - headers_at
        rest = await reader.read()
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    assert silence >= 0.5  # the headers came on their own; the body a second after them
    assert b"partner_nodes_usd" in first + rest
    [sent] = server.realism.sent_for("api", BALANCE)
    assert sent.late_s == 1.0 and sent.fate == "whole"
    status, _, _ = await raw_get(server.api_url, "/team/balance")  # count < 0: every matching answer
    assert status == 200 and [s.late_s for s in server.realism.sent_for("api", BALANCE)] == [1.0, 1.0]
    server.realism.late_bodies[0].path = "^/nothing$"
    await raw_get(server.api_url, BALANCE)
    assert server.realism.sent_for("api", BALANCE)[-1].late_s == 0.0  # other answers are not held
