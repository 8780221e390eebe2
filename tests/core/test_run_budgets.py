"""Per-run budgets are checked before anything is downloaded: a hostile or buggy answer listing
thousands of outputs, or more bytes than the run may take, gets a clear error naming the numbers
and the way out, and not one file request leaves. The limits come from the environment."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import DownloadError, DownloadLimits, Hooks, Limits, download_outputs, start_run
from floyo_pack.floyo_client.config import ConfigError, max_batch_pixels, max_outputs, max_run_bytes
from floyo_scripted import OutputSpec

from .conftest import WORKFLOW


async def _finished(client, t, limits=None):
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=t.sleep, clock=t.clock), limits=limits)
    return handle, await handle.wait()


async def test_a_run_listing_thousands_of_outputs_is_refused_before_any_download(floyo, client, fake_time,
                                                                                tmp_path, monkeypatch):
    monkeypatch.delenv("FLOYO_MAX_OUTPUTS", raising=False)
    floyo.scenario.outputs = [OutputSpec(format="txt", nbytes=8)] * 3000
    handle, run = await _finished(client, fake_time, Limits(download=DownloadLimits.from_env()))
    assert len(run.outputs) == 3000
    with pytest.raises(DownloadError) as caught:
        await download_outputs(handle, run.outputs, tmp_path / "run")
    message = str(caught.value)
    assert "3,000 output files" in message and "1,000" in message and "FLOYO_MAX_OUTPUTS" in message
    assert run.id in message and "Fetch Outputs" in message
    assert floyo.requests.downloads() == [] and not (tmp_path / "run").exists()


async def test_outputs_declaring_more_bytes_than_the_run_may_take_are_refused_before_any_download(
        floyo, client, fake_time, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_RUN_MB", "1")
    floyo.scenario.outputs = [OutputSpec(format="bin", nbytes=600_000, seed=i) for i in range(2)]
    handle, run = await _finished(client, fake_time, Limits(download=DownloadLimits.from_env()))
    with pytest.raises(DownloadError, match=r"add up to 1\.1 MB, over the 1 MB per-run limit; raise "
                                            r"FLOYO_MAX_RUN_MB"):
        await download_outputs(handle, run.outputs, tmp_path)
    assert floyo.requests.downloads() == []


def test_budgets_come_from_the_environment_with_generous_defaults(monkeypatch):
    for name in ("FLOYO_MAX_OUTPUTS", "FLOYO_MAX_RUN_MB", "FLOYO_MAX_OUTPUT_MB"):
        monkeypatch.delenv(name, raising=False)
    limits = DownloadLimits.from_env()
    assert (limits.max_outputs, limits.max_run_bytes, limits.max_bytes) == (1000, 4096 * 2**20, 1024 * 2**20)
    env = {"FLOYO_MAX_OUTPUTS": "5", "FLOYO_MAX_RUN_MB": "2", "FLOYO_MAX_MEGAPIXELS": "1.5"}
    assert (max_outputs(env), max_run_bytes(env), max_batch_pixels(env)) == (5, 2 * 2**20, 1_500_000)
    assert max_batch_pixels({}) == 512_000_000
    with pytest.raises(ConfigError, match="FLOYO_MAX_OUTPUTS must be a number"):
        max_outputs({"FLOYO_MAX_OUTPUTS": "many"})
