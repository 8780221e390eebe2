"""Fan-out bound: past ``FLOYO_MAX_CONCURRENT_RUNS`` runs of one key wait locally, uncreated.

Real HTTP to the scripted server; runs stay "processing" until the test finishes them, so what
the server saw created at each moment is exact, not a matter of timing.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from floyo_pack.floyo_client import Hooks, Interrupted, Phase
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.slots import max_concurrent_runs
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Step

from .conftest import WORKFLOW, make_client


async def _until(check, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, "the condition never came (hang)"
        await asyncio.sleep(0.02)


def _track(client, journal, label: str, stop=lambda: False):
    async def finish(handle, run):
        return (label, run.id)

    return run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label=label, node_id="5"),
                       hooks=Hooks(should_stop=stop), limits=None, finish=finish)


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "runs.jsonl")


async def test_runs_past_the_key_bound_wait_uncreated_and_results_keep_list_order(floyo, journal,
                                                                                   monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_CONCURRENT_RUNS", "2")
    floyo.scenario.steps = [Step(Phase.RUNNING)]  # processing until the test finishes it
    async with make_client(floyo) as client:
        tasks = [asyncio.ensure_future(_track(client, journal, f"e{i}")) for i in range(5)]
        await _until(lambda: len(floyo.requests.creates()) == 2)
        await asyncio.sleep(0.5)  # the other three are waiting, and must not have created
        assert len(floyo.requests.creates()) == 2
        for created in (2, 4, 5):
            for run_id, record in list(floyo.runs.items()):
                if record.phase is not Phase.SUCCEEDED:
                    floyo.finish(run_id)
            await _until(lambda n=created: len(floyo.requests.creates()) == n)
        for run_id in list(floyo.runs):
            floyo.finish(run_id)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert [label for label, _ in results] == [f"e{i}" for i in range(5)]
    assert client.state.slots.most_in_use == 2


async def test_a_stop_while_waiting_for_a_slot_ends_within_a_second_with_nothing_created(
        floyo, journal, monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_CONCURRENT_RUNS", "1")
    floyo.scenario.steps = [Step(Phase.RUNNING)]
    stop = [False]
    async with make_client(floyo) as client:
        first = asyncio.ensure_future(_track(client, journal, "first", lambda: stop[0]))
        await _until(lambda: len(floyo.requests.creates()) == 1)
        waiting = asyncio.ensure_future(_track(client, journal, "waiting", lambda: stop[0]))
        await asyncio.sleep(0.3)
        stop[0] = True
        stopped_at = time.monotonic()
        with pytest.raises(Interrupted):
            await asyncio.wait_for(waiting, 10)
        assert time.monotonic() - stopped_at < 1.0  # honours stop within a second
        with pytest.raises(Interrupted):
            await asyncio.wait_for(first, 30)
    assert len(floyo.requests.creates()) == 1  # the waiting element never created a run
    assert client.state.slots.in_use == 0  # both slots given back


def test_the_bound_defaults_to_8_and_reads_the_env():
    assert max_concurrent_runs({}) == 8
    assert max_concurrent_runs({"FLOYO_MAX_CONCURRENT_RUNS": "3"}) == 3
