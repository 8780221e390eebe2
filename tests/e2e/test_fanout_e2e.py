"""Fan-out in a real ComfyUI 0.3.75: Floyo Seed List (3) → Floyo Override Int → Floyo Remote Run
makes one run per seed, at most FLOYO_MAX_CONCURRENT_RUNS (here 2, on a ComfyUI of its own) on
Floyo at once, the rest not created until a slot frees; results come back in list order, and one
Cancel stops every element. A list longer than the caps (the list makers' 1,000, FLOYO_MAX_FANOUT's
20 per prompt) is refused before any create, at queue time when its length is a constant and when
the list maker runs when it arrives through a link."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from floyo_scripted import Step

from .support.graphs import REMOTE
from .support.results import node_error
from .support.websocket import Socket

pytestmark = pytest.mark.e2e
SEEDS = [100, 101, 102]


@pytest.fixture(scope="module")
def bounded(comfy_factory, comfy_env):
    return comfy_factory(env={**comfy_env, "FLOYO_MAX_CONCURRENT_RUNS": "2"}, name="comfy-fanout")


def fan_prompt(start: int = SEEDS[0]) -> dict:
    # 'always run': identical earlier results are not reused (that is tests/e2e/test_reuse_e2e.py)
    remote = {"source": "embedded", "workflow": json.dumps(REMOTE), "run_name": f"fan {uuid.uuid4().hex[:6]}",
              "overrides": ["2", 0], "reuse": "always run"}
    return {"1": {"class_type": "FloyoSeedList", "inputs": {"count": len(SEEDS), "start": start}},
            "2": {"class_type": "FloyoOverrideInt", "inputs": {"target": "1", "input": "color",
                                                                 "value": ["1", 0]}},
            "3": {"class_type": "FloyoRemoteRun", "inputs": remote},
            "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 2]}}}


def until(check, what: str, comfy, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"never: {what}; ComfyUI log:\n{comfy.log_tail()}"
        time.sleep(0.05)


def new_runs(floyo, known: set[str]) -> list:
    return [r for r in floyo.runs.values() if r.id not in known]


@pytest.mark.timeout(180)
def test_a_seed_list_makes_one_run_per_seed_bounded_and_in_list_order(bounded, floyo):
    floyo.server.scenario.steps = [Step("processing")]  # until the test finishes each run
    known = set(floyo.runs)
    with Socket(bounded.url) as socket:
        prompt_id = bounded.queue(fan_prompt(), client_id=socket.client_id)
        until(lambda: len(new_runs(floyo, known)) == 2, "two runs created", bounded)
        time.sleep(1.5)  # the third element waits in ComfyUI: no create while two runs are live
        assert len(new_runs(floyo, known)) == 2
        for run in new_runs(floyo, known):
            floyo.server.finish(run.id)
        until(lambda: len(new_runs(floyo, known)) == 3, "the third run created once a slot freed", bounded)
        floyo.server.finish(new_runs(floyo, known)[-1].id)
        entry = bounded.wait(prompt_id, timeout=90)
        time.sleep(0.3)  # the last events
    assert entry["status"]["status_str"] == "success", entry["status"]
    # one status line for the node: every event of node 3 says how many of the 3 are done
    counts = [(e["data"]["list_done"], e["data"]["list_total"]) for e in socket.events
              if e["type"] == "floyo.run" and e["data"]["node_id"] == "3"]
    assert counts and all(total == 3 for _, total in counts) and counts[-1] == (3, 3)
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)
    run_ids = entry["outputs"]["4"]["text"]  # FloyoRemoteRun's run_id output, element by element
    seeds = [floyo.runs[i].workflow["1"]["inputs"]["color"] for i in run_ids]
    assert seeds == SEEDS  # each element its own run, results in list order


@pytest.mark.timeout(120)
def test_one_cancel_stops_every_element_and_the_waiting_one_is_never_created(bounded, floyo):
    floyo.server.scenario.steps = [Step("processing")]
    known = set(floyo.runs)
    prompt_id = bounded.queue(fan_prompt(start=200))
    until(lambda: len(new_runs(floyo, known)) == 2, "two runs created", bounded)
    live = new_runs(floyo, known)
    until(lambda: all(floyo.requests.polls(r.id) or floyo.requests.filter("GET", r"/runs/?", "api")
                      for r in live), "the runs watched", bounded)
    assert bounded.interrupt() == 200
    entry = bounded.wait(prompt_id, timeout=30)
    kinds = [m[0] for m in entry["status"]["messages"]]
    assert "execution_interrupted" in kinds and "execution_error" not in kinds
    assert all(len(floyo.requests.cancel_requests(r.id)) == 1 for r in live)  # both cancelled
    time.sleep(1.0)
    assert len(new_runs(floyo, known)) == 2  # the third element never created a run


@pytest.mark.timeout(120)
def test_a_count_linked_from_a_primitive_node_is_capped_before_any_create(bounded, floyo):
    """ComfyUI checks a widget's max only for a constant: a count of 5,000 from a PrimitiveInt
    node made 5,000 paid runs. Now the list maker refuses it (and 30, over FLOYO_MAX_FANOUT=20)
    in code when it runs, and a constant 30 is refused at queue time: 0 creates, 0 requests."""
    for count, words in ((5000, "at most 1000"), (30, "FLOYO_MAX_FANOUT=20")):
        prompt = fan_prompt()
        prompt["5"] = {"class_type": "PrimitiveInt", "inputs": {"value": count}}
        prompt["1"]["inputs"]["count"] = ["5", 0]
        entry = bounded.wait(bounded.queue(prompt), timeout=60)
        error = node_error(entry)
        assert error["node_type"] == "FloyoSeedList" and words in error["exception_message"], error
    status, body = bounded.post("/prompt", {"prompt": {**fan_prompt(), "1": {
        "class_type": "FloyoSeedList", "inputs": {"count": 30, "start": 0}}}})
    assert status == 400 and "30 Floyo runs" in json.dumps(body["node_errors"]), body
    assert floyo.requests.creates() == [] and floyo.requests.all() == []
