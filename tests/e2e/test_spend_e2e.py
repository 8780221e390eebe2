"""The spend guard in the real ComfyUI against the scripted Floyo (its balance and FloTime scripted):
a prompt whose estimate (the journal's earlier runs of the same graph, a new seed included)
crosses a budget or the team's balance is refused when it is queued, with nothing sent; a run
past its FloTime cap is cancelled on Floyo once; a list over FLOYO_MAX_FANOUT (default 20, or
the settings panel's value) is refused at queue time; Preflight reports the estimate and the
check. Budgets are set through ComfyUI's own settings route, as the panel does, on the shared
ComfyUI, and put back after each test."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from floyo_scripted import Fault, Step

from .support.graphs import remote_run, save, shaped
from .support.results import node_error

pytestmark = pytest.mark.e2e
DEFAULT_BALANCE_MS = 4_080_000  # the scripted server's


def paid_once(comfy, steps: int) -> None:
    """One run of the shape, journaled with the scripted FloTime (48.2 s): the estimate's history."""
    entry = comfy.run({"1": remote_run(workflow=json.dumps(shaped(steps, seed=1))), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]


@contextmanager
def setting(comfy, name: str, value):
    """A Floyo setting as the settings panel stores it, put back to off afterwards."""
    assert comfy.post(f"/settings/{name}", value)[0] == 200
    try:
        yield
    finally:
        comfy.post(f"/settings/{name}", 0)


def queued(comfy, node: dict) -> tuple[int, str]:
    """ComfyUI's answer to the prompt: its status, and the node errors (or the answer) as text;
    a prompt it accepted is waited for, so the shared ComfyUI is idle again."""
    status, body = comfy.post("/prompt", {"prompt": {"1": node, "2": save("1")}})
    if status == 200:
        comfy.wait(body["prompt_id"], timeout=60)
    return status, json.dumps(body.get("node_errors", body), ensure_ascii=False)


@pytest.mark.timeout(120)
def test_a_prompt_over_its_flotime_budget_is_refused_at_queue_time_with_0_creates(comfy, floyo):
    paid_once(comfy, steps=101)
    creates = len(floyo.requests.creates())
    with setting(comfy, "Floyo.Budget.PromptFloTimeS", 30):
        status, errors = queued(comfy, remote_run(workflow=json.dumps(shaped(101, seed=2))))  # a new seed
        assert status == 400 and "FLOYO_BUDGET_PROMPT_FLOTIME_S=30 s" in errors, errors
        assert "≈ 48 s FloTime" in errors and "Nothing was sent to Floyo" in errors
        assert comfy.get("/floyo/runs")[1]["budgets"]["FLOYO_BUDGET_PROMPT_FLOTIME_S"] == 30
        status, _ = queued(comfy, remote_run(workflow=json.dumps(shaped(999, seed=2))))  # no history
        assert status == 200, "a graph never run has no estimate, so no budget refuses it"
    assert len(floyo.requests.creates()) == creates + 1  # only the graph with no history ran


@pytest.mark.timeout(120)
def test_a_floyo_workflow_over_its_flotime_budget_is_refused_at_queue_time_with_0_creates(comfy, floyo):
    """Source 'floyo workflow' (issue 26): the graph fetched at queue time is estimated like an
    embedded one, so a team workflow run here before is held to the same budget."""
    paid_once(comfy, steps=107)
    floyo.workflows.reset()
    floyo.workflows.add("wf_budget1", "Budgeted", shaped(107, seed=4))
    creates = len(floyo.requests.creates())
    try:
        with setting(comfy, "Floyo.Budget.PromptFloTimeS", 30):
            status, errors = queued(comfy, remote_run(source="floyo workflow", floyo_workflow="Budgeted",
                                                      workflow=""))
    finally:
        floyo.workflows.reset()
    assert status == 400 and "FLOYO_BUDGET_PROMPT_FLOTIME_S=30 s" in errors, errors
    assert "Nothing was sent to Floyo" in errors
    assert len(floyo.requests.creates()) == creates


@pytest.mark.timeout(120)
def test_a_prompt_over_the_balance_is_refused_at_queue_time_with_0_creates(comfy, floyo):
    paid_once(comfy, steps=102)
    floyo.server.scenario.balance_flotime_ms = 20_000
    try:
        assert comfy.get("/floyo/balance")[1] == {"available": True, "available_flotime_ms": 20_000,
                                                  "partner_nodes_usd": 25.5}  # as the panel reads it
        creates = len(floyo.requests.creates())
        status, errors = queued(comfy, remote_run(workflow=json.dumps(shaped(102, seed=3))))
        assert status == 400 and "balance of 20 s FloTime" in errors and "Add FloTime" in errors, errors
        assert len(floyo.requests.creates()) == creates
    finally:  # the shared ComfyUI remembers the balance: give it the usual one back
        floyo.server.scenario.balance_flotime_ms = DEFAULT_BALANCE_MS
        assert comfy.get("/floyo/balance")[1]["available_flotime_ms"] == DEFAULT_BALANCE_MS


def test_a_key_that_may_not_read_the_balance_hides_it_without_an_error(comfy, floyo):
    for status in (403, 404):
        floyo.server.scenario.faults = [Fault(method="GET", path="/team/balance", status=status, count=-1,
                                              body={"error": "Forbidden"})]
        assert comfy.get("/floyo/balance") == (200, {"available": False})
    floyo.server.scenario.faults = []
    assert comfy.get("/floyo/balance")[1]["available"] is True


@pytest.mark.timeout(120)
def test_a_flotime_cap_cancels_a_live_run_with_one_remote_cancel_and_says_what_it_cost(comfy, floyo):
    floyo.server.scenario.steps = [Step("queued", polls=1), Step("processing")]  # FloTime only at the end
    entry = comfy.run({"1": remote_run(max_flotime_s=2), "2": save("1")}, timeout=60)
    error = node_error(entry)["exception_message"]
    run = floyo.last_run
    assert "passed its FloTime cap (max_flotime_s=2)" in error and "s of FloTime" in error, error
    assert "Remote run cancel: cancelled" in error
    assert len(floyo.requests.cancel_requests(run.id)) == 1


def test_a_fanout_of_30_is_refused_at_queue_time_and_the_setting_moves_the_cap(comfy, floyo):
    def seeds(count: int) -> dict:
        return {"5": {"class_type": "FloyoSeedList", "inputs": {"count": count, "start": 0}},
                "6": {"class_type": "FloyoOverrideInt", "inputs": {"target": "1", "input": "color",
                                                                    "value": ["5", 0]}},
                "1": remote_run(overrides=["6", 0]), "2": save("1")}

    status, body = comfy.post("/prompt", {"prompt": seeds(30)})
    assert status == 400 and "30 Floyo runs" in json.dumps(body) and "FLOYO_MAX_FANOUT=20" in json.dumps(body)
    with setting(comfy, "Floyo.MaxFanout", 5):
        status, body = comfy.post("/prompt", {"prompt": seeds(10)})
        assert status == 400 and "FLOYO_MAX_FANOUT=5" in json.dumps(body), body
    assert floyo.requests.creates() == []


@pytest.mark.timeout(120)
def test_preflight_reports_the_estimate_and_the_budget_check(comfy, floyo):
    paid_once(comfy, steps=103)
    node = {"class_type": "FloyoPreflight", "inputs": {"source": "embedded",
                                                       "workflow": json.dumps(shaped(103, seed=4))}}
    prompt = {"1": node, "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 1]}}}
    with setting(comfy, "Floyo.Budget.PromptFloTimeS", 10):
        entry = comfy.run(prompt)
    report = "".join(entry["outputs"]["2"]["text"])
    assert "Estimate: ≈ 48 s FloTime" in report and "1 earlier run(s) of this graph" in report, report
    assert "Budget check: the run would be refused" in report and "FLOYO_BUDGET_PROMPT_FLOTIME_S" in report


def test_the_estimate_route_counts_a_lists_runs_and_says_when_there_is_no_history(comfy, floyo):
    paid_once(comfy, steps=105)
    seeds = {"5": {"class_type": "FloyoSeedList", "inputs": {"count": 3, "start": 0}},
             "6": {"class_type": "FloyoOverrideInt",
                   "inputs": {"target": "3", "input": "seed", "value": ["5", 0]}},
             "1": remote_run(workflow=json.dumps(shaped(105, seed=8)), overrides=["6", 0]),
             "7": remote_run(workflow=json.dumps(shaped(998, seed=8)))}
    before = len(floyo.requests.all())
    status, body = comfy.post("/floyo/estimate", {"prompt": seeds})
    assert status == 200 and body["problem"] is None, body
    listed, fresh = body["nodes"]["1"], body["nodes"]["7"]
    assert listed["runs"] == 3 and listed["estimate"]["flotime_ms"] == 48210
    assert "≈ 145 s FloTime" in listed["text"] and "for 3 runs" in listed["text"]
    assert fresh["estimate"] is None and "no earlier run of this graph" in fresh["text"]
    assert len(floyo.requests.all()) == before, "an estimate sends nothing to Floyo"


@pytest.mark.timeout(120)
def test_a_list_whose_length_is_linked_is_checked_against_the_budget_when_it_arrives_with_0_creates(
        comfy, floyo):
    """At queue time a count from another node is unknown (one run counted: 48 s fits 100 s); when
    the list arrives its 3 × 48 s is checked before any element creates or uploads anything."""
    paid_once(comfy, steps=106)
    prompt = {"8": {"class_type": "PrimitiveInt", "inputs": {"value": 3}},
              "5": {"class_type": "FloyoSeedList", "inputs": {"count": ["8", 0], "start": 0}},
              "6": {"class_type": "FloyoOverrideInt",
                    "inputs": {"target": "3", "input": "seed", "value": ["5", 0]}},
              "1": remote_run(workflow=json.dumps(shaped(106, seed=8)), overrides=["6", 0]),
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 2]}}}
    creates = len(floyo.requests.creates())
    with setting(comfy, "Floyo.Budget.PromptFloTimeS", 100):
        entry = comfy.run(prompt, timeout=60)
    error = node_error(entry)
    message = error["exception_message"]
    assert error["node_type"] == "FloyoRemoteRun" and "≈ 145 s FloTime" in message, error
    assert "3 × " in message and "FLOYO_BUDGET_PROMPT_FLOTIME_S=100 s" in message
    assert len(floyo.requests.creates()) == creates
