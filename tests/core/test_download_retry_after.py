"""A busy download host (429, or 503 with Retry-After) is waited out the way the API is: the
transport's one wait, Retry-After honoured and capped, never past the file's wait budget, and a
stop ends it within a second.

Real HTTP to the scripted server's CDN. The transport sleeps on an injected clock that only moves
when it sleeps, so the waits are measured exactly without being spent.
"""

from __future__ import annotations

import asyncio

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
from floyo_scripted import Fault

from .conftest import WORKFLOW

DEADLINE_S = 60  # "does not hang": far above what any of these takes
PRESIGNED = r"^/p/"


def _busy(floyo, status: int, retry_after: int, count: int = 1) -> None:
    floyo.scenario.faults.append(Fault("GET", PRESIGNED, status=status, body="busy", count=count,
                                       retry_after=retry_after, origin="cdn"))


async def _finished(client, t, limits=None, should_stop=lambda: False):
    handle = await start_run(client, WORKFLOW, limits=limits,
                             hooks=Hooks(sleep=t.sleep, clock=t.clock, should_stop=should_stop))
    run = await handle.wait()
    return handle, run


@pytest.mark.parametrize("status", [429, 503])
async def test_a_busy_download_host_is_waited_out_for_its_retry_after_then_the_file_is_saved(
        floyo, client, fake_time, tmp_path, status):
    _busy(floyo, status, retry_after=7)
    handle, run = await _finished(client, fake_time)
    before = fake_time.now
    [path] = await asyncio.wait_for(download_outputs(handle, run.outputs, tmp_path), DEADLINE_S)
    waited = fake_time.now - before
    assert path.read_bytes() == floyo.files[run.outputs[0].id].data
    assert [r.status for r in floyo.requests.downloads()] == [status, 200]
    assert 7.0 <= waited < 8.0  # Retry-After, not a sub-second backoff, and not more


async def test_a_download_never_waits_a_retry_after_past_its_wait_budget(floyo, client, fake_time, tmp_path):
    _busy(floyo, 503, retry_after=50, count=-1)
    limits = Limits(download=DownloadLimits(retry_wait_s=120.0))
    handle, run = await _finished(client, fake_time, limits)
    before = fake_time.now
    with pytest.raises(DownloadError, match="Retry-After 50s"):
        await asyncio.wait_for(download_outputs(handle, run.outputs, tmp_path), DEADLINE_S)
    assert fake_time.now - before <= 120.0  # two waits of 50 s fit the budget; a third would not
    assert [r.status for r in floyo.requests.downloads()] == [503, 503, 503]
    assert list(tmp_path.iterdir()) == [], "neither a final file nor a .part is left"


async def test_a_stop_ends_a_download_s_retry_after_wait_within_a_second(floyo, client, fake_time, tmp_path):
    stop_at: list[float] = []
    handle, run = await _finished(client, fake_time,
                                  should_stop=lambda: bool(stop_at) and fake_time.now >= stop_at[0])
    _busy(floyo, 429, retry_after=60)
    stop_at.append(fake_time.now + 5.0)
    with pytest.raises(Interrupted):
        await asyncio.wait_for(download_outputs(handle, run.outputs, tmp_path), DEADLINE_S)
    assert stop_at[0] <= fake_time.now < stop_at[0] + 1.0
    assert [r.status for r in floyo.requests.downloads()] == [429]  # not resent before the wait ended
    assert list(tmp_path.iterdir()) == []


async def test_an_api_503_with_retry_after_is_waited_out_by_the_same_wait(floyo, client, fake_time):
    handle, run = await _finished(client, fake_time)
    floyo.scenario.faults.append(Fault("GET", r"^/runs/", status=503, body="busy", count=1, retry_after=7))
    before = fake_time.now
    again = await client.get_run(run.id)
    assert again.id == run.id and 7.0 <= fake_time.now - before < 8.0
