"""How many downloads a run keeps in flight (run_files.Window), seen by the server.

Small files: enough at once to hide round trips, never more than ``DownloadLimits.concurrency``.
Large files: few at once, bounded by the bytes still to come (``Window``, checked directly).
The server records the most connections it saw open at once on the CDN
(``Realism.most_connections``); a round trip of latency holds each answer so the downloads
overlap for real.
"""

from __future__ import annotations

import asyncio

from floyo_pack.floyo_client import Hooks, Limits, download_outputs, start_run
from floyo_pack.floyo_client.models import RunOutput
from floyo_pack.floyo_client.run_files import FEW, Window
from floyo_scripted import OutputSpec, Realism

from .test_create_at_most_once import WORKFLOW


async def _download(floyo, client, fake_time, tmp_path, limits):
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock),
                             limits=limits)
    run = await handle.wait()
    floyo.realism = Realism(latency_s=0.05)  # only the downloads are counted
    paths = await download_outputs(handle, run.outputs, tmp_path / "run")
    assert [p.read_bytes() for p in paths] == [floyo.files[o.id].data for o in run.outputs]
    return floyo.realism.most_connections["cdn"]


async def test_120_small_outputs_download_exactly_the_bound_at_once_never_more(floyo, client, fake_time,
                                                                              tmp_path):
    floyo.scenario.outputs = [OutputSpec(format="bin", nbytes=4000, seed=i) for i in range(120)]
    assert await _download(floyo, client, fake_time, tmp_path, Limits()) == 16
    assert len(floyo.requests.downloads()) == 120  # one request per file: no retries needed


async def test_window_admits_in_order_by_bytes_still_owed_and_always_a_few():
    window = Window(most=16, window_bytes=10)
    entered = []

    async def one(i):
        await window.enter(8)
        entered.append(i)

    tasks = [asyncio.ensure_future(one(i)) for i in range(6)]
    await asyncio.sleep(0)
    assert FEW == 2 and entered == [0, 1]  # FEW always; then 16 bytes owed >= 10 holds the rest
    window.arrived(7)  # download 0 got 7 bytes: 9 owed, the next one may start, in order
    await asyncio.sleep(0)
    assert entered == [0, 1, 2]
    window.arrived(1)
    window.leave(8, 8)  # download 0 done: still 16 owed by the two running, nothing starts
    await asyncio.sleep(0)
    assert entered == [0, 1, 2] and window.running == 2
    tasks[3].cancel()  # a cancelled waiter takes no place
    window.leave(8, 0)  # download 1 failed having got nothing: 8 owed, one running
    await asyncio.sleep(0)
    assert entered == [0, 1, 2, 4] and window.running == 2
    tasks[5].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_bound_of_one_downloads_one_file_at_a_time_whatever_the_window():
    window = Window(most=1, window_bytes=10**9)
    tasks = [asyncio.ensure_future(window.enter(1)) for _ in range(8)]
    await asyncio.sleep(0)
    assert window.running == 1
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_a_file_of_unknown_size_counts_as_a_quarter_of_the_window():
    window = Window(most=16, window_bytes=8 * 1024 * 1024)
    assert window.cost(RunOutput(id="f", file_name="a.png")) == 2 * 1024 * 1024
    assert window.cost(RunOutput(id="f", file_name="a.png", size_bytes=5)) == 5
