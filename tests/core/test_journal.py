"""The journal is how no run is paid twice or lost across crashes: its row exists before the
create leaves, every outcome lands in it, and concurrent writers never lose an update."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import threading

import pytest
from floyo_pack.floyo_client import CancelOutcome, CancelResult, Hooks, Interrupted, Limits, RunMayExist
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.floyo_client.owner import Owner
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Fault, Step

from .conftest import WORKFLOW


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "floyo" / "runs.sqlite3")


@pytest.fixture
def dead_owner() -> Owner:
    """The owner of a process on this host that has exited (as a ComfyUI before a restart)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Owner(socket.gethostname(), child.pid, "12345")


async def _finish(handle, run):
    return run.status


def _track(client, journal, t, **kw):
    hooks = Hooks(sleep=t.sleep, clock=t.clock, should_stop=kw.pop("should_stop", lambda: False))
    return run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="j", node_id="5"),
                       hooks=hooks, limits=kw.pop("limits", None), finish=kw.pop("finish", _finish))


async def test_the_row_is_written_before_the_create_leaves(floyo, client, journal, fake_time):
    seen = []
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=None, delay_s=0.3))

    async def peek():
        while not floyo.requests.creates():
            await asyncio.sleep(0.01)
        seen.extend(journal.list())

    peeker = asyncio.create_task(peek())
    assert await _track(client, journal, fake_time) == "done"
    await peeker
    assert seen and seen[0].state == "creating" and seen[0].run_id is None
    (row,) = journal.list()
    assert row.state == "running" and row.status == "done" and row.flotime_ms == 48210


async def test_a_create_without_answer_is_unknown_with_its_marker_and_never_resent(floyo, client, journal,
                                                                                 fake_time):
    floyo.scenario.create_drop_connection = 1
    floyo.scenario.run_list = False  # nothing to reconcile with: the marker is all the user has
    with pytest.raises(RunMayExist):
        await _track(client, journal, fake_time)
    (row,) = journal.list()
    assert row.state == "unknown" and row.marker in row.hint and row.marker in row.name
    assert len(floyo.requests.creates()) == 1


async def test_a_refused_create_is_recorded_as_not_created(floyo, client, journal, fake_time):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=400, body={"message": "bad node"}))
    with pytest.raises(Exception, match="bad node"):
        await _track(client, journal, fake_time)
    assert journal.list()[0].state == "not_created"


async def test_a_stop_while_the_create_is_in_flight_still_cancels_the_created_run(floyo, client, journal,
                                                                                fake_time):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=None, delay_s=0.5))
    floyo.scenario.steps = [Step("processing")]
    with pytest.raises(Interrupted):
        await _track(client, journal, fake_time, should_stop=lambda: bool(floyo.requests.creates()))
    run_id = floyo.last_run.id
    assert len(floyo.requests.cancel_requests(run_id)) == 1
    assert journal.get(run_id).state == "cancelled"


async def test_a_run_abandoned_after_it_finished_stays_resumable(floyo, client, journal, fake_time,
                                                                dead_owner):
    async def fail_locally(handle, run):
        raise OSError("disk full")

    before = Journal(journal.path, owner=dead_owner)  # the ComfyUI that ran before the restart
    with pytest.raises(OSError):
        await _track(client, before, fake_time, finish=fail_locally)
    (row,) = journal.list()
    assert row.state == "succeeded" and "disk full" in row.detail
    assert [r.run_id for r in journal.recover()] == [row.run_id]


async def test_a_timed_out_run_is_recorded_cancelled(floyo, client, journal, fake_time):
    floyo.scenario.steps = [Step("processing")]
    with pytest.raises(Exception, match="did not finish"):
        await _track(client, journal, fake_time, limits=Limits(timeout_s=3))
    assert journal.list()[0].state == "cancelled"


def test_recover_marks_unanswered_creates_unknown_and_lists_runs_to_resume(journal, dead_owner):
    before = Journal(journal.path, owner=dead_owner)  # the ComfyUI that ran before the restart
    before.begin("m1", name="a [m1]", prompt_id="p", node_id="1", api_url="u")
    before.begin("m2", name="b [m2]", prompt_id="p", node_id="2", api_url="u")
    before.created("m2", "run_two")
    before.begin("m3", name="c [m3]", prompt_id="p", node_id="3", api_url="u")
    before.created("m3", "run_three")
    before.saved("run_three", ["/x.png"])
    before.finished("run_three", "cancelled")  # saved is final
    resumable = journal.recover()
    assert [r.run_id for r in resumable] == ["run_two"]
    states = {r.marker: r.state for r in journal.list()}
    assert states == {"m1": "unknown", "m2": "running", "m3": "saved"}


def test_concurrent_writers_from_several_threads_lose_no_update(journal):
    def writer(n: int) -> None:
        for i in range(25):
            marker = f"t{n}_{i}"
            journal.begin(marker, name=marker, prompt_id=None, node_id=str(n), api_url="u")
            journal.created(marker, f"run_{n}x{i}")
            journal.status(f"run_{n}x{i}", "processing", None)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = journal.list(limit=1000)
    assert len(rows) == 150 and {r.status for r in rows} == {"processing"}


async def test_a_user_stop_carries_its_typed_cancel_outcome_to_the_error_and_the_journal(
        floyo, client, journal, fake_time):
    floyo.scenario.steps = [Step("processing")]
    polls = floyo.requests.polls
    with pytest.raises(Interrupted) as caught:
        await _track(client, journal, fake_time, should_stop=lambda: len(polls()) >= 2)
    outcome = caught.value.outcome
    assert outcome == CancelOutcome(CancelResult.CANCELLED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.result = CancelResult.NOT_FOUND  # fixed when the error was raised
    row = journal.get(floyo.last_run.id)
    assert row.state == "cancelled" and row.cancel_result is CancelResult.CANCELLED


async def test_an_unconfirmed_cancel_is_journaled_as_such_and_given_up(floyo, client, journal, fake_time):
    floyo.scenario.steps = [Step("processing")]
    floyo.scenario.faults.append(Fault("POST", r"/cancel$", status=500, count=-1))
    polls = floyo.requests.polls
    with pytest.raises(Interrupted) as caught:
        await _track(client, journal, fake_time, should_stop=lambda: len(polls()) >= 2)
    assert caught.value.outcome.result is CancelResult.UNCONFIRMED
    row = journal.get(floyo.last_run.id)
    assert row.cancel_result is CancelResult.UNCONFIRMED and row.status == GAVE_UP
