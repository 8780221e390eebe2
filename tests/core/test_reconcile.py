"""A create is never abandoned, and a lost create answer is reconciled by the run's name marker.

ComfyUI ends a prompt's ``asyncio.run`` when another node fails or on an interrupt, which cancels
every task still pending, a create in flight included. The create must still complete (bounded),
and the run then be cancelled and journaled. A create whose answer was lost is looked up in the
run list (``GET /runs?search=<marker>``): found, it is watched (or cancelled if its node gave up);
without a run list (404/405) the row stays unknown with the marker message.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from floyo_pack.floyo_client import Hooks, Interrupted, RunMayExist
from floyo_pack.floyo_client.errors import RunListUnavailable
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Fault, Step

from .conftest import WORKFLOW, make_client


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal(tmp_path / "runs.sqlite3")


async def _finish(handle, run):
    return run


async def track(client, journal, t=None, **hooks):
    kw = dict(sleep=t.sleep, clock=t.clock) if t else {}
    return await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="node 7"),
                             hooks=Hooks(**kw, **hooks), limits=None, finish=_finish)


@pytest.mark.parametrize("shape", ["data", "runs", "items"])
async def test_find_run_reads_the_run_list_under_data_runs_or_items(floyo, client, shape):
    created = await client.create_run(WORKFLOW, name="x [flyc-0123456789]", marker="flyc-0123456789")
    await client.create_run(WORKFLOW, name="y [flyc-9999999999]", marker="flyc-9999999999")
    if shape != "data":
        listed = {"id": created.id, "object": "run", "name": created.name, "status": "processing"}
        floyo.scenario.faults.append(Fault("GET", r"^/runs$", status=200, body={shape: [listed]}))
    found = await client.find_run("flyc-0123456789")
    assert found is not None and found.id == created.id
    assert await client.find_run("flyc-5555555555") is None
    assert floyo.requests.filter("GET", r"^/runs$")[-1].query["search"] == "flyc-5555555555"


@pytest.mark.parametrize("status", [404, 405])
async def test_without_a_run_list_find_run_says_it_is_unavailable(floyo, client, status):
    floyo.scenario.faults.append(Fault("GET", r"^/runs$", status=status, body={"error": "Not Found"}))
    with pytest.raises(RunListUnavailable):
        await client.find_run("flyc-0123456789")


async def test_a_run_list_that_ignores_the_search_is_not_trusted_to_say_a_run_is_missing(floyo, client):
    floyo.scenario.run_list_filters = False  # 200 with the key's newest runs, whatever the search
    other = await client.create_run(WORKFLOW, name="y [flyc-9999999999]", marker="flyc-9999999999")
    with pytest.raises(RunListUnavailable, match="ignores the search"):
        await client.find_run("flyc-0123456789")
    found = await client.find_run("flyc-9999999999")  # a run carrying the marker is still that run
    assert found is not None and found.id == other.id


async def test_a_lost_create_answer_is_found_by_its_marker_and_watched_to_the_end(floyo, client, journal,
                                                                                fake_time):
    floyo.scenario.create_drop_connection = 1
    run = await track(client, journal, fake_time)
    assert run.status == "done" and list(floyo.runs) == [run.id]
    assert len(floyo.requests.creates()) == 1 and floyo.run(run.id).cancels == 0
    row = journal.get(run.id)
    assert row.state == "running" and row.status == "done"


async def test_a_stop_while_looking_for_a_lost_create_marks_it_given_up_so_it_is_cancelled_later(
        floyo, client, journal):
    floyo.scenario.create_drop_connection = 1
    # The run is listed a moment late: the first look finds nothing, and the user stops meanwhile.
    floyo.scenario.faults.append(Fault("GET", r"^/runs$", status=200, body={"data": []}))
    looked = lambda: bool(floyo.requests.filter("GET", r"^/runs$"))  # noqa: E731
    with pytest.raises(Interrupted):
        await track(client, journal, should_stop=looked)
    (row,) = journal.list()
    assert row.state == "unknown" and row.status == GAVE_UP
    assert floyo.run(next(iter(floyo.runs))).cancels == 0  # nothing to cancel yet: the id is unknown


async def test_a_lost_create_answer_without_a_run_list_stays_unknown_with_the_marker(floyo, client, journal,
                                                                                   fake_time):
    floyo.scenario.create_drop_connection = 1
    floyo.scenario.run_list = False
    with pytest.raises(RunMayExist) as caught:
        await track(client, journal, fake_time)
    (row,) = journal.list()
    assert row.state == "unknown" and caught.value.marker == row.marker
    assert f"look for marker {row.marker}" in str(caught.value)


def _prompt_loop_cancelled_mid_create(floyo, client_factory, journal) -> BaseException | None:
    """ComfyUI's way, in a thread: the prompt runs under asyncio.run; once the create has reached
    the server, the prompt ends (another node failed) and asyncio.run cancels every pending task."""
    outcome: list[BaseException | None] = [None]

    async def prompt() -> None:
        client = client_factory()
        node = asyncio.ensure_future(track(client, journal))
        while not floyo.requests.creates():
            await asyncio.sleep(0.01)
        outcome[0] = node  # left pending: asyncio.run cancels it, as ComfyUI's executor does

    def worker() -> None:
        asyncio.run(prompt())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the cancelled node must not hang the prompt loop"
    node = outcome[0]
    return node.exception() if not node.cancelled() else asyncio.CancelledError()


async def test_a_create_in_flight_when_comfyui_cancels_the_node_completes_then_the_run_is_cancelled(
        floyo, journal):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=None, delay_s=1.0))
    floyo.scenario.steps = [Step("processing")]
    error = await asyncio.to_thread(_prompt_loop_cancelled_mid_create, floyo, lambda: make_client(floyo),
                                    journal)
    assert isinstance(error, asyncio.CancelledError)
    (run,) = floyo.runs.values()
    assert run.cancels == 1 and run.phase.value == "cancelled"
    row = journal.get(run.id)
    assert row.state == "cancelled" and "cancelled the node" in row.detail


async def test_a_cancelled_nodes_lost_create_is_found_by_marker_and_cancelled(floyo, journal):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=None, delay_s=1.0))
    floyo.scenario.create_drop_connection = 1
    floyo.scenario.steps = [Step("processing")]
    await asyncio.to_thread(_prompt_loop_cancelled_mid_create, floyo, lambda: make_client(floyo), journal)
    (run,) = floyo.runs.values()
    assert run.cancels == 1
    assert journal.get(run.id).state == "cancelled"


async def test_a_cancelled_nodes_lost_create_without_a_run_list_stays_unknown_and_given_up(floyo, journal):
    floyo.scenario.faults.append(Fault("POST", r"^/runs$", status=None, delay_s=1.0))
    floyo.scenario.create_drop_connection = 1
    floyo.scenario.run_list = False
    await asyncio.to_thread(_prompt_loop_cancelled_mid_create, floyo, lambda: make_client(floyo), journal)
    (row,) = journal.list()
    assert row.state == "unknown" and row.status == GAVE_UP and row.run_id is None
    assert len(floyo.requests.creates()) == 1
