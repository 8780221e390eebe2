"""Outputs are paid for: downloads survive expired links, truncation and resets, stop within a
second when asked, refuse what is too large; uploads send the same bytes once per process."""

from __future__ import annotations

import asyncio
import time

import pytest
from floyo_pack.floyo_client import DownloadError, DownloadLimits, Hooks, Interrupted, Limits, start_run
from floyo_pack.floyo_server import DownloadFault, OutputSpec

from .test_create_at_most_once import WORKFLOW


async def _run(client, t, limits=None, should_stop=lambda: False):
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=t.sleep, clock=t.clock,
                                                           should_stop=should_stop), limits=limits)
    async with handle:
        run = await handle.wait()
        return run, await handle.download(run.outputs)


def _served(floyo, run) -> list[bytes]:
    return [floyo.files[o.id].data for o in run.outputs]


async def test_expired_link_is_refreshed_and_the_download_completes(floyo, client, fake_time):
    floyo.scenario.expired_links = 1
    run, blobs = await _run(client, fake_time)
    assert blobs == _served(floyo, run)
    assert any(r.status == 403 for r in floyo.requests.downloads())


@pytest.mark.parametrize("kind", ["truncate", "reset"])
async def test_a_broken_download_is_retried_from_scratch(floyo, client, fake_time, kind):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    floyo.scenario.download_faults.append(DownloadFault(kind=kind, after_bytes=500))
    run, blobs = await _run(client, fake_time)
    assert blobs == _served(floyo, run)
    assert len(floyo.requests.downloads()) == 2


async def test_a_stalled_download_stops_within_a_second_of_a_stop(floyo, client, fake_time):
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
        await _run(client, fake_time, should_stop=should_stop)
    await stopper
    assert time.monotonic() - asked[0] < 1.5


async def test_a_stalled_download_is_abandoned_and_retried(floyo, client, fake_time):
    floyo.scenario.download_faults.append(DownloadFault(kind="stall", after_bytes=100, stall_s=30))
    limits = Limits(download=DownloadLimits(stall_s=0.5))
    run, blobs = await _run(client, fake_time, limits=limits)
    assert blobs == _served(floyo, run)


async def test_outputs_over_the_size_cap_are_refused(floyo, client, fake_time):
    floyo.scenario.outputs = [OutputSpec(size=(256, 256))]
    with pytest.raises(DownloadError) as caught:
        await _run(client, fake_time, limits=Limits(download=DownloadLimits(max_bytes=1000)))
    assert "cap" in str(caught.value)


async def test_the_same_bytes_are_uploaded_once_per_process(floyo, client):
    first = await client.upload(b"\x89PNG fake bytes", "a.png")
    second = await client.upload(b"\x89PNG fake bytes", "a.png")
    other = await client.upload(b"other bytes", "a.png")
    assert first == second and first.input_path and other.input_path != first.input_path
    uploads = floyo.requests.uploads()
    assert len(uploads) == 2 and {u.on_conflict for u in uploads} == {"rename"}
    assert all(r.authorization for r in floyo.requests.filter("POST", "/upload", "cdn"))


async def test_file_metadata_comes_with_a_link_and_bad_ids_never_leave(floyo, client):
    from floyo_pack.floyo_client import NotFound

    uploaded = await client.upload(b"metadata bytes", "m.txt")
    info = await client.get_file(uploaded.id, url=True, url_ttl_s=10**9)
    assert info.id == uploaded.id and info.presigned_url and "/p/" in info.presigned_url
    assert floyo.requests.filter("GET", r"/files/.*")[-1].query["presigned_url_expires_in"] == "604800"
    before = len(floyo.requests.all())
    with pytest.raises(NotFound):
        await client.get_file("../runs")
    assert len(floyo.requests.all()) == before
