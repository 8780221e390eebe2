"""One writer per run's output folder: the resume thread and a Fetch node (each on its own thread
and event loop) asking for the same run's outputs at once never write the same files; the second
waits for the first, then takes what it saved, so every output is downloaded once."""

from __future__ import annotations

import asyncio
import threading

import pytest
from floyo_pack.floyo_client import Hooks, Interrupted, RunHandle, download_outputs, start_run
from floyo_pack.floyo_client.keystate import FolderClaims
from floyo_pack.floyo_client.run_files import one_writer
from floyo_scripted import DownloadFault, OutputSpec

from .conftest import WORKFLOW, make_client


async def _finished_run(floyo, client):
    handle = await start_run(client, WORKFLOW)
    run = await handle.wait()
    return run


def _resume_thread(floyo, run_id, folder, result: dict) -> threading.Thread:
    """The resume thread: its own event loop and client, as nodes/comfy_server/resume.py runs it."""

    async def resume():
        async with make_client(floyo) as client:
            handle = RunHandle(client, run_id)
            run = await handle.refresh(urls=True)
            result["paths"] = await download_outputs(handle, run.outputs, folder)

    thread = threading.Thread(target=lambda: asyncio.run(resume()), daemon=True)
    thread.start()
    return thread


async def _first_download_seen(floyo) -> None:
    for _ in range(200):  # 10 s at most
        if floyo.requests.downloads():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the resume thread never started downloading")


async def test_resume_and_fetch_of_one_run_download_each_output_once(floyo, client, tmp_path):
    floyo.scenario.outputs = [OutputSpec(format="bin", nbytes=200_000, seed=i) for i in range(3)]
    run = await _finished_run(floyo, client)
    folder = tmp_path / "output" / "floyo" / run.id
    fetch = RunHandle(client, run.id)  # the Fetch node, its links in hand
    fetched_run = await fetch.refresh(urls=True)
    # the resume thread's first file pauses mid-body, so it is surely still writing when Fetch asks
    floyo.scenario.download_faults.append(DownloadFault(kind="stall", after_bytes=1024, stall_s=5))
    resumed: dict = {}
    thread = _resume_thread(floyo, run.id, folder, resumed)
    await _first_download_seen(floyo)  # the resume thread holds the run's folder now
    fetched = await download_outputs(fetch, fetched_run.outputs, folder)
    await asyncio.to_thread(thread.join, 30)
    assert resumed["paths"] == fetched
    assert [p.read_bytes() for p in fetched] == [floyo.files[o.id].data for o in run.outputs]
    assert len(floyo.requests.downloads()) == len(run.outputs)  # not twice
    assert not list(folder.glob("*.part")) and sorted(folder.iterdir()) == sorted(fetched)


async def test_a_stop_while_waiting_for_the_other_writer_is_honoured(tmp_path):
    stop, claims = threading.Event(), FolderClaims()
    async with one_writer(claims, tmp_path / "run_x", lambda: False) as waited:
        assert waited is False
        asyncio.get_running_loop().call_later(0.2, stop.set)
        with pytest.raises(Interrupted):
            async with one_writer(claims, tmp_path / "run_x", stop.is_set):
                raise AssertionError("a second writer got in")
    async with one_writer(claims, tmp_path / "run_x", lambda: False) as waited:  # released on the way out
        assert waited is False


async def test_a_stopped_first_writer_leaves_the_files_to_the_next(floyo, client, tmp_path):
    floyo.scenario.outputs = [OutputSpec(format="bin", nbytes=50_000, seed=i) for i in range(2)]
    run = await _finished_run(floyo, client)
    folder = tmp_path / "run"
    stopped = RunHandle(client, run.id, Hooks(should_stop=lambda: True))
    with pytest.raises(Interrupted):
        await download_outputs(stopped, (await stopped.refresh(urls=True)).outputs, folder)
    handle = RunHandle(client, run.id)
    paths = await download_outputs(handle, (await handle.refresh(urls=True)).outputs, folder)
    assert [p.read_bytes() for p in paths] == [floyo.files[o.id].data for o in run.outputs]
