"""Answers whose body starts seconds after their headers (a busy origin, a cold object store):
a download, a create's answer and a poll's answer are each read whole, the create is sent once,
and the run is never cancelled. The silence before the first byte is judged like any other: a
body that never starts is a stall with a deadline, retried. The realism layer's ``LateBody``
sends the headers at once and holds the body back, over real loopback HTTP."""

from __future__ import annotations

import asyncio

from floyo_pack.floyo_client import DownloadLimits, Hooks, Limits, download_outputs, start_run
from floyo_scripted import LateBody, OutputSpec, Realism, Step

from .conftest import WORKFLOW

LATE_S = 1.5  # longer than the download's one-second read slice, where the body's silence began
DEADLINE_S = 60  # "does not hang": far above what any of these takes


def late(floyo, *rules: LateBody) -> None:
    floyo.realism = Realism(late_bodies=list(rules))


async def _saved(client, t, folder, limits=None):
    hooks = Hooks(sleep=t.sleep, clock=t.clock)
    handle = await start_run(client, WORKFLOW, hooks=hooks, limits=limits)
    async with handle:
        run = await handle.wait()
        paths = await asyncio.wait_for(download_outputs(handle, run.outputs, folder), DEADLINE_S)
    return handle, run, [p.read_bytes() for p in paths]


async def test_a_download_whose_body_starts_seconds_after_its_headers_is_saved_whole(
        floyo, client, fake_time, tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(128, 128))]
    late(floyo, LateBody(seconds=LATE_S, origin="cdn"))
    handle, run, blobs = await _saved(client, fake_time, tmp_path)
    assert blobs == [floyo.files[o.id].data for o in run.outputs]
    assert len(floyo.requests.downloads()) == 1  # the first answer was taken, not retried
    [download] = floyo.realism.sent_for("cdn")
    assert download.late_s == LATE_S and download.fate == "whole"
    assert floyo.run(run.id).cancels == 0 and handle.cancel_outcome is None


async def test_a_download_body_that_never_starts_after_its_headers_is_a_stall_and_is_retried(
        floyo, client, fake_time, tmp_path):
    floyo.scenario.outputs = [OutputSpec(size=(128, 128))]
    # the first answer's body is held far past the stall window; the second comes at once
    late(floyo, LateBody(seconds=4, origin="cdn", count=1))
    limits = Limits(download=DownloadLimits(stall_s=0.5))
    _, run, blobs = await _saved(client, fake_time, tmp_path, limits)
    assert blobs == [floyo.files[o.id].data for o in run.outputs]
    assert len(floyo.requests.downloads()) == 2
    assert [p.name for p in tmp_path.iterdir()] == [run.outputs[0].file_name]  # no .part left


async def test_a_create_answer_whose_body_starts_seconds_after_its_headers_returns_the_run_sent_once(
        floyo, client):
    late(floyo, LateBody(seconds=LATE_S, method="POST", path="^/runs$"))
    run = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    assert list(floyo.runs) == [run.id] and len(floyo.requests.creates()) == 1
    [create] = floyo.realism.sent_for("api", "^/runs$")
    assert create.late_s == LATE_S and create.fate == "whole"


async def test_a_poll_answer_whose_body_starts_seconds_after_its_headers_is_read_and_never_cancels(
        floyo, client, fake_time, tmp_path):
    floyo.scenario.steps = [Step("processing", polls=1), Step("done")]
    late(floyo, LateBody(seconds=LATE_S, method="GET", path=r"^/runs/run_"))
    handle, run, blobs = await _saved(client, fake_time, tmp_path)
    assert run.status == "done" and blobs == [floyo.files[o.id].data for o in run.outputs]
    polls = floyo.realism.sent_for("api", r"^/runs/run_")
    assert len(polls) >= 2 and all(p.late_s == LATE_S and p.fate == "whole" for p in polls)
    assert all(r.status == 200 for r in floyo.requests.polls(run.id))
    assert floyo.run(run.id).cancels == 0 and handle.cancel_outcome is None
