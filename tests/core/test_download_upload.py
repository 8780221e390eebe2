"""Outputs are paid for: downloads stream to disk and survive expired links, truncation, resets
and trickles, resume where the host allows it, stop within a second when asked, refuse what is
too large, and never leave a file under its final name that is not whole; uploads send the same
bytes once per process."""

from __future__ import annotations

import asyncio
import time

import pytest
from floyo_pack.floyo_client import (
    DownloadError,
    DownloadLimits,
    Hooks,
    Interrupted,
    Limits,
    download_outputs,
    start_run,
)
from floyo_scripted import DownloadFault, OutputSpec

from .conftest import WORKFLOW

DEADLINE_S = 60  # "does not hang": far above what any of these takes


async def _run(client, t, folder, limits=None, should_stop=lambda: False):
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=t.sleep, clock=t.clock,
                                                           should_stop=should_stop), limits=limits)
    async with handle:
        run = await handle.wait()
        paths = await asyncio.wait_for(download_outputs(handle, run.outputs, folder), DEADLINE_S)
        return run, [p.read_bytes() for p in paths]


def _served(floyo, run) -> list[bytes]:
    return [floyo.files[o.id].data for o in run.outputs]


def _run_gets(floyo) -> int:
    return len(floyo.requests.filter("GET", r"/runs/run_\w+", "api"))


async def test_expired_link_is_refreshed_and_the_download_completes(floyo, client, fake_time, tmp_path):
    floyo.scenario.expired_links = 1
    run, blobs = await _run(client, fake_time, tmp_path)
    assert blobs == _served(floyo, run)
    assert any(r.status == 403 for r in floyo.requests.downloads())


@pytest.mark.parametrize("kind", ["truncate", "reset"])
async def test_a_broken_download_is_retried_and_saved_whole(floyo, client, fake_time, tmp_path, kind):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    floyo.scenario.download_faults.append(DownloadFault(kind=kind, after_bytes=500))
    run, blobs = await _run(client, fake_time, tmp_path)
    assert blobs == _served(floyo, run)
    assert len(floyo.requests.downloads()) == 2 and [p.name for p in tmp_path.iterdir()] == [
        run.outputs[0].file_name]


# A dropped connection (here: a stall the meter gives up on, so every byte sent was read first;
# after a reset aiohttp discards what it buffered, so the resume point would vary)
async def test_a_dropped_download_resumes_with_range_where_the_host_supports_it(floyo, client, fake_time,
                                                                                 tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    floyo.scenario.download_faults.append(DownloadFault(kind="stall", after_bytes=500, stall_s=30))
    run, blobs = await _run(client, fake_time, tmp_path, limits=Limits(download=DownloadLimits(stall_s=0.5)))
    assert blobs == _served(floyo, run)
    first, second = floyo.requests.downloads()
    assert "Range" not in first.headers and second.headers["Range"] == "bytes=500-"
    assert second.status == 206 and second.headers["If-Range"] == f'"{run.outputs[0].id}-{len(blobs[0])}"'


async def test_without_range_support_a_dropped_download_restarts_from_zero_with_a_fresh_link(
        floyo, client, fake_time, tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    floyo.scenario.range_requests = False
    floyo.scenario.download_faults.append(DownloadFault(kind="stall", after_bytes=500, stall_s=30))
    limits = Limits(download=DownloadLimits(stall_s=0.5))
    handle = await start_run(client, WORKFLOW, limits=limits,
                             hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock))
    run = await handle.wait()
    gets = _run_gets(floyo)
    [path] = await asyncio.wait_for(download_outputs(handle, run.outputs, tmp_path), DEADLINE_S)
    assert path.read_bytes() == _served(floyo, run)[0]
    assert ["Range" in r.headers for r in floyo.requests.downloads()] == [False, False]
    assert _run_gets(floyo) == gets + 1, "the run was asked again for a fresh link"


async def test_a_body_cut_short_every_time_is_never_saved(floyo, client, fake_time, tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256)), OutputSpec(seed=2)]
    floyo.scenario.download_faults.append(DownloadFault(kind="truncate", after_bytes=100, count=-1))
    with pytest.raises(DownloadError, match="failed 4 times"):
        await _run(client, fake_time, tmp_path)
    assert list(tmp_path.iterdir()) == [], "neither a final file nor a .part is left"


async def test_a_trickle_of_a_byte_a_second_is_a_stall_and_is_retried(floyo, client, fake_time, tmp_path):
    floyo.scenario.download_faults.append(DownloadFault(kind="trickle", after_bytes=100))
    limits = Limits(download=DownloadLimits(stall_s=2.5))  # a byte a second never leaves a 2.5 s gap
    run, blobs = await _run(client, fake_time, tmp_path, limits=limits)
    assert blobs == _served(floyo, run)
    assert [r.note for r in floyo.requests.downloads()] == ["download_trickle", None]


async def test_a_stalled_download_stops_within_a_second_of_a_stop(floyo, client, fake_time, tmp_path):
    floyo.scenario.download_faults.append(DownloadFault(kind="stall", after_bytes=100, stall_s=30))
    asked: list[float] = []

    def should_stop() -> bool:
        return bool(asked) and time.monotonic() > asked[0]

    async def stop_soon():
        while not floyo.requests.downloads():
            await asyncio.sleep(0.02)
        asked.append(time.monotonic() + 0.3)

    stopper = asyncio.create_task(stop_soon())
    with pytest.raises(Interrupted):
        await _run(client, fake_time, tmp_path, should_stop=should_stop)
    await stopper
    assert time.monotonic() - asked[0] < 1.5
    assert list(tmp_path.iterdir()) == []


async def test_outputs_over_the_size_cap_are_refused_before_downloading(floyo, client, fake_time, tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    with pytest.raises(DownloadError) as caught:
        await _run(client, fake_time, tmp_path, limits=Limits(download=DownloadLimits(max_bytes=1000)))
    assert "FLOYO_MAX_OUTPUT_MB" in str(caught.value) and floyo.requests.downloads() == []


async def test_the_same_bytes_are_uploaded_once_per_process(floyo, client):
    from floyo_pack.floyo_client import upload_once

    first = await upload_once(client, b"\x89PNG fake bytes", "a.png")
    second = await upload_once(client, b"\x89PNG fake bytes", "a.png")
    other = await upload_once(client, b"other bytes", "a.png")
    assert first == second and first.input_path and other.input_path != first.input_path
    uploads = floyo.requests.uploads()
    assert len(uploads) == 2 and {u.on_conflict for u in uploads} == {"fail"}
    assert all(r.authorization for r in floyo.requests.filter("POST", "/upload", "cdn"))


async def test_file_metadata_comes_with_a_link_and_bad_ids_never_leave(floyo, client):
    from floyo_pack.floyo_client import NotFound

    uploaded = await client.send_upload(b"metadata bytes", "m.txt", path="/comfyui", on_conflict="fail")
    info = await client.get_file(uploaded.id, url=True, url_ttl_s=10**9)
    assert info.id == uploaded.id and info.presigned_url and "/p/" in info.presigned_url
    assert floyo.requests.filter("GET", r"/files/.*")[-1].query["presigned_url_expires_in"] == "604800"
    before = len(floyo.requests.all())
    with pytest.raises(NotFound):
        await client.get_file("../runs")
    assert len(floyo.requests.all()) == before
