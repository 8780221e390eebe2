"""Answers that parse badly or say the wrong thing never cost a run. An answer nested thousands
deep (``[[[[…``, which exhausts the JSON parser's stack) or deeper than any Floyo answer is
unreadable: a poll is retried and never cancels the run; a create becomes "unknown" and is found
by its marker, never left ``creating`` and never resent. An answer to ``GET /runs/run_A`` that
is run B is a protocol error, never taken for run A."""

from __future__ import annotations

import json

import pytest
from floyo_pack.floyo_client import Hooks, ProtocolError, RunHandle, start_run
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.models import MAX_JSON_DEPTH
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Fault, Step

from .conftest import WORKFLOW

DEEP = "[" * 100_000 + "]" * 100_000  # far past the parser's recursion limit
POLL = r"^/runs/run_\w+$"


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


async def _finish(handle, run):
    return handle, run


async def test_a_poll_answer_nested_thousands_deep_is_retried_and_never_cancels_the_run(
        floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing", polls=1), Step("done")]
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock))
    floyo.scenario.faults.append(Fault("GET", POLL, status=200, body=DEEP, count=2))
    async with handle:
        run = await handle.wait()
    assert run.status == "done" and handle.cancel_outcome is None
    assert floyo.run(run.id).cancels == 0
    assert [r.note for r in floyo.requests.polls(run.id)][:2] == ["fault", "fault"]


async def test_a_run_answer_nested_deeper_than_any_floyo_answer_is_unreadable(floyo, client):
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    # parses (well under the parser's limit), but whatever walks it later could overflow
    body = {"id": created.id, "status": "processing", "error": _nested(MAX_JSON_DEPTH + 40)}
    floyo.scenario.faults.append(Fault("GET", POLL, status=200, body=body))
    with pytest.raises(ProtocolError, match="could not be read"):
        await client.get_run(created.id)
    shallow = {"id": created.id, "status": "processing", "error": _nested(MAX_JSON_DEPTH - 2)}
    floyo.scenario.faults.append(Fault("GET", POLL, status=200, body=shallow))
    assert (await client.get_run(created.id)).raw["error"] == json.loads(json.dumps(shallow["error"]))


async def test_a_create_answered_thousands_deep_is_unknown_then_found_by_its_marker_never_resent(
        floyo, client, fake_time, tmp_path):
    journal = Journal(tmp_path / "runs.sqlite3")
    floyo.scenario.garbled_creates = [DEEP]
    handle, run = await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="node 7"),
                                    hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock),
                                    limits=None, finish=_finish)
    assert run.status == "done" and list(floyo.runs) == [run.id]
    assert len(floyo.requests.creates()) == 1 and floyo.requests.creates()[0].note == "garbled"
    assert floyo.run(run.id).cancels == 0 and handle.cancel_outcome is None
    assert floyo.requests.filter("GET", r"/runs")[0].query["search"] in run.name  # found by marker
    assert journal.get(run.id).state == "running"  # the node's finish saves it; never `creating`


async def test_an_answer_for_run_a_that_is_run_b_is_a_protocol_error_never_taken_for_run_a(
        floyo, client, fake_time):
    floyo.scenario.steps = [Step("done")]
    run_a = await client.create_run(WORKFLOW, name="a [m1]", marker="m1")
    run_b = await client.create_run(WORKFLOW, name="b [m2]", marker="m2")
    b_done = (await client.get_run(run_b.id, urls=True)).raw
    floyo.scenario.faults.append(Fault("GET", rf"^/runs/{run_a.id}$", status=200, body=b_done, count=1))
    with pytest.raises(ProtocolError) as caught:
        await client.get_run(run_a.id, urls=True)
    assert run_a.id in str(caught.value) and run_b.id in str(caught.value)
    # while watched, the wrong answer is only a failed look: the next one is run A's own
    floyo.scenario.faults.append(Fault("GET", rf"^/runs/{run_a.id}$", status=200, body=b_done, count=1))
    handle = RunHandle(client, run_a.id, Hooks(sleep=fake_time.sleep, clock=fake_time.clock))
    async with handle:
        run = await handle.wait()
    assert run.id == run_a.id and [r.note for r in floyo.requests.polls(run_a.id)][-2:] == ["fault", None]
    assert floyo.run(run_a.id).cancels == 0 and handle.cancel_outcome is None
