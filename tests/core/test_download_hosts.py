"""Downloads against file hosts that misbehave in ways the local CDN does not: a resume answered
with the whole file, the wrong range or 416; a length that disagrees with Floyo's size_bytes; no
answer at all; files far larger than memory should hold; runs whose sizes were never declared.
Whatever happens, the final name holds the whole file or nothing, and memory stays flat.

Each host is a real aiohttp server on loopback whose answers the test scripts in order.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from floyo_pack.floyo_client import (
    Config,
    DownloadError,
    DownloadLimits,
    FloyoClient,
    Limits,
    RunHandle,
    RunOutput,
    Transport,
    download_outputs,
)
from floyo_pack.floyo_client.download import download_file
from floyo_scripted import ScriptedServer

DATA = bytes(range(256)) * 40  # 10 KiB
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]
HOLD_S = 30  # a dropped connection: bytes, then silence until the client's stall window gives up
SHORT = DownloadLimits(stall_s=0.5)


class Host:
    """A loopback file host answering each request with the next scripted answer (the last repeats)."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[dict[str, str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return await answer(request)


@pytest.fixture
async def host():
    h = Host()
    app = web.Application()
    app.router.add_get("/{name}", h.handle)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    h.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield h
    await runner.cleanup()


def whole(data: bytes = DATA, ranges: bool = True) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        headers = {"Accept-Ranges": "bytes", "ETag": '"v1"'} if ranges else {}
        return web.Response(body=data, headers=headers)
    return answer


def dropped(after: int, data: bytes = DATA, ranges: bool = True, chunked: bool = False) -> Answer:
    """``after`` bytes of a full-length (or chunked) answer, then nothing."""
    async def answer(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Accept-Ranges": "bytes", "ETag": '"v1"'} if ranges else {})
        if chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(data[:after])
        await asyncio.sleep(HOLD_S)
        return resp
    return answer


def ranged(content_range: str, body: bytes) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=206, body=body, headers={"Content-Range": content_range})
    return answer


def status(code: int) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code)
    return answer


def generated(size: int, block: int = 64 * 1024) -> Answer:
    """``size`` bytes streamed from one small block, so the host itself holds no big buffer."""
    async def answer(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = size
        await resp.prepare(request)
        chunk = b"\xab" * block
        for start in range(0, size, block):
            await resp.write(chunk[:min(block, size - start)])
        await resp.write_eof()
        return resp
    return answer


def output(host: Host, name: str = "x.bin", size: int | None = len(DATA)) -> RunOutput:
    return RunOutput(id=f"file_{name.split('.')[0]}", file_name=name, size_bytes=size,
                     presigned_url=f"{host.url}/{name}")


async def _same(o: RunOutput) -> RunOutput:
    return o


async def fetch(client, host, tmp_path, limits=SHORT, **kw):
    dest = tmp_path / "x.bin"
    size = await asyncio.wait_for(download_file(client.transport, output(host, **kw), _same, dest,
                                                limits=limits), 60)
    return dest, size


@pytest.mark.parametrize("resume", [whole(), ranged("bytes 0-10239/10240", DATA),
                                    ranged("bytes 1000-10239/99999", DATA[1000:]), status(416)],
                         ids=["whole file again", "wrong start", "other total", "416"])
async def test_a_resume_the_host_cannot_honour_starts_over_and_never_splices(client, host, tmp_path, resume):
    host.answers = [dropped(1000), resume, whole()]
    dest, size = await fetch(client, host, tmp_path)
    assert dest.read_bytes() == DATA and size == len(DATA) and list(tmp_path.iterdir()) == [dest]
    assert host.seen[1]["Range"] == "bytes=1000-" and host.seen[1]["If-Range"] == '"v1"'


async def test_a_host_that_ignores_ranges_and_cuts_each_answer_later_fails_after_the_attempt_limit(
        client, host, tmp_path):
    # It says Accept-Ranges, answers every Range with 200 and the whole file, and each answer
    # gets further than the last: every try restarts the .part, so every try is a failed one.
    host.answers = [dropped(1500 * k) for k in range(1, 7)] + [whole()]
    with pytest.raises(DownloadError, match="failed 4 times"):
        await fetch(client, host, tmp_path, limits=DownloadLimits(stall_s=0.5, chunk_bytes=1024))
    # the first answer (to no Range) made progress; each of the 4 after it restarted the file
    assert len(host.seen) == 5 and all(h["Range"] for h in host.seen[1:])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("link", ["{local}/x.bin", "http://localhost:8188/x.bin", "http://[::1]:8188/x.bin",
                                  "http://0.0.0.0:8188/x.bin", "http://10.1.2.3/x.bin",
                                  "http://192.168.0.7:8188/x.bin", "http://169.254.169.254/x.bin"])
async def test_against_an_https_api_a_plain_http_link_to_this_machine_or_a_private_network_is_refused(
        host, tmp_path, link):
    host.answers = [whole()]
    async with ScriptedServer(tls=True) as https_api:
        config = Config(api_key="flo_test_key", api_url=https_api.api_url, cdn_url=https_api.cdn_url,
                        ca_bundle=https_api.ca_file)
        async with FloyoClient(Transport(config)) as client:
            target = RunOutput(id="file_x", file_name="x.bin", size_bytes=len(DATA),
                               presigned_url=link.format(local=host.url))
            with pytest.raises(DownloadError, match="could make the pack call a local service"):
                await asyncio.wait_for(download_file(client.transport, target, _same, tmp_path / "x.bin",
                                                     limits=SHORT), 60)
    assert host.seen == [] and list(tmp_path.iterdir()) == []


async def test_a_resume_honoured_with_the_matching_range_appends(client, host, tmp_path):
    host.answers = [dropped(1000), ranged("bytes 1000-10239/10240", DATA[1000:])]
    dest, _ = await fetch(client, host, tmp_path)
    assert dest.read_bytes() == DATA and len(host.seen) == 2


async def test_a_chunked_answer_resumes_at_the_length_floyo_gave(client, host, tmp_path):
    host.answers = [dropped(1000, chunked=True), ranged("bytes 1000-10239/10240", DATA[1000:])]
    dest, _ = await fetch(client, host, tmp_path)
    assert dest.read_bytes() == DATA and host.seen[1]["Range"] == "bytes=1000-"


async def test_a_host_without_ranges_is_asked_for_the_whole_file_again(client, host, tmp_path):
    host.answers = [dropped(1000, ranges=False), whole(ranges=False)]
    dest, _ = await fetch(client, host, tmp_path)
    assert dest.read_bytes() == DATA and "Range" not in host.seen[1]


async def test_a_file_longer_or_shorter_than_floyo_says_is_never_saved(client, host, tmp_path):
    host.answers = [whole()]
    with pytest.raises(DownloadError, match="Floyo says the file has 10,241"):
        await fetch(client, host, tmp_path, size=len(DATA) + 1)
    assert list(tmp_path.iterdir()) == [], "neither the file nor its .part is left"


async def test_a_body_cut_short_is_never_saved(client, host, tmp_path):
    host.answers = [dropped(1000)]
    with pytest.raises(DownloadError, match="failed 4 times"):
        await fetch(client, host, tmp_path, size=None)
    assert list(tmp_path.iterdir()) == []


async def test_a_host_that_never_answers_is_a_stall(client, host, tmp_path):
    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(HOLD_S)
        return web.Response(body=DATA)

    host.answers = [silent, whole()]
    dest, _ = await fetch(client, host, tmp_path)
    assert dest.read_bytes() == DATA and len(host.seen) == 2


async def test_memory_stays_flat_whatever_the_file_size(client, host, tmp_path):
    size = 48 * 1024 * 1024
    host.answers = [generated(size)]
    tracemalloc.start()
    try:
        dest, got = await fetch(client, host, tmp_path, limits=DownloadLimits(), size=size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == size == dest.stat().st_size
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB held for a {size / 2**20:.0f} MiB file"


async def test_bytes_over_the_run_budget_stop_undeclared_downloads(client, host, tmp_path):
    host.answers = [generated(3 * 1024 * 1024)]
    handle = RunHandle(client, "run_budget", limits=Limits(download=DownloadLimits(max_run_bytes=4 * 2**20)))
    outputs = [output(host, "a.bin", size=None), output(host, "b.bin", size=None)]
    with pytest.raises(DownloadError, match="FLOYO_MAX_RUN_MB"):
        await asyncio.wait_for(download_outputs(handle, outputs, tmp_path / "run"), 60)
    left = [p.name for p in (tmp_path / "run").iterdir()]
    assert len(left) < 2 and not any(n.endswith(".part") for n in left)


async def test_a_slow_disk_moves_writes_to_a_worker_thread_and_the_file_is_whole(client, host, tmp_path,
                                                                                 monkeypatch, caplog):
    from floyo_pack.floyo_client import download

    monkeypatch.setattr(download, "SLOW_WRITE_S", -1.0)  # every write counts as slow
    size = 6 * 1024 * 1024
    host.answers = [generated(size)]
    with caplog.at_level("INFO", logger="floyo_pack.floyo_client.download"):
        dest, got = await fetch(client, host, tmp_path, limits=DownloadLimits(), size=size)
    assert got == size and dest.read_bytes() == b"\xab" * size
    assert [r.message for r in caplog.records if "worker thread" in r.message]


async def test_two_downloads_of_the_same_output_at_once_both_end_whole(client, host, tmp_path):
    size = 4 * 1024 * 1024  # a resumed run and a Fetch node can fetch the same output together
    host.answers = [generated(size)]
    dest = tmp_path / "x.bin"
    got = await asyncio.wait_for(asyncio.gather(*(
        download_file(client.transport, output(host, size=size), _same, dest) for _ in range(2))), 60)
    assert got == [size, size] and dest.read_bytes() == b"\xab" * size and list(tmp_path.iterdir()) == [dest]
