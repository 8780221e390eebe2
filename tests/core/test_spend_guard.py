"""The spend guard's core: a prompt's cost is known before it is paid for and capped while it runs.

Every run costs the user money, so the estimate must come only from runs really measured (the
journal's earlier runs of the same graph shape: a new seed or prompt still matches, another
model does not), never be invented, and count a list N times; a budget or the balance refuses
with the figures and the way on; a run past its FloTime cap is cancelled once, saying what it
had cost; and a run resumed after a restart counts in the totals with its partner cost.
"""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import (
    NO_HISTORY,
    Balance,
    Budgets,
    ConfigError,
    Estimate,
    FloTimeCapped,
    Hooks,
    Journal,
    Limits,
    Override,
    Planned,
    RecoveryHost,
    Run,
    RunHandle,
    RunMeta,
    budget_problem,
    history_estimate,
    recover_runs,
    run_tracked,
    shape_of,
    start_run,
)
from floyo_scripted import Fault, Step

from .conftest import WORKFLOW

GRAPH = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "model": ["4", 0]}},
         "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
         "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
         "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["3", 0]}}}


def changed(node: str, name: str, value) -> dict:
    return {**GRAPH, node: {**GRAPH[node], "inputs": {**GRAPH[node]["inputs"], name: value}}}


def test_a_new_seed_or_prompt_is_the_same_shape_but_another_model_or_step_count_is_not():
    same = shape_of(GRAPH)
    assert shape_of(changed("3", "seed", 987654)) == same
    assert shape_of(changed("6", "text", "a dog on a skateboard")) == same
    assert shape_of(changed("4", "ckpt_name", "flux.safetensors")) != same
    assert shape_of(changed("3", "steps", 40)) != same


def test_what_an_override_sets_is_masked_so_queue_time_and_run_time_hash_the_same_shape():
    overrides = [Override("3", "steps", 33)]  # a linked value at queue time: unknown then
    assert shape_of(changed("3", "steps", 33), overrides) == shape_of(GRAPH, [Override("3", "steps", None)])


async def _run(client, journal, flotime_ms: int, floyo, shape: str, t) -> None:
    floyo.scenario.flotime_ms = flotime_ms

    async def saved(handle, run):
        journal.saved(run.id, [])
        return run

    await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="t", shape=shape),
                      hooks=Hooks(sleep=t.sleep, clock=t.clock),
                      limits=None, finish=saved)


async def test_the_estimate_is_the_median_of_earlier_runs_of_the_shape_and_none_without_them(
        floyo, client, tmp_path, fake_time):
    journal = Journal(tmp_path / "runs.sqlite3")
    team = client.transport.config.team
    assert history_estimate(journal.path, "shape-a", client.api, team) is None  # never invented
    for ms in (10_000, 30_000, 20_000):
        await _run(client, journal, ms, floyo, "shape-a", fake_time)
    await _run(client, journal, 999_000, floyo, "shape-b", fake_time)  # another graph: not counted
    found = history_estimate(journal.path, "shape-a", client.api, team)
    assert found is not None and found.flotime_ms == 20_000 and found.runs == 3 and found.wall_s is not None
    assert history_estimate(journal.path, "shape-a", client.api, "another team") is None
    assert "≈ 20 s FloTime" in found.text() and "3 earlier run(s)" in found.text()


def test_no_history_refuses_nothing_and_says_so():
    plan = [Planned("7", None, runs=10)]
    assert budget_problem(plan, Budgets(prompt_flotime_s=1), {}, None) is None
    assert "no earlier run" in NO_HISTORY


def test_a_list_counts_n_times_the_estimate_against_the_prompt_budget():
    each = Estimate(flotime_ms=5_000, wall_s=8.0, runs=2)
    assert budget_problem([Planned("7", each, runs=5)], Budgets(prompt_flotime_s=30), {}, None) is None
    problem = budget_problem([Planned("7", each, runs=10)], Budgets(prompt_flotime_s=30), {}, None)
    assert problem and "≈ 50 s FloTime" in problem and "FLOYO_BUDGET_PROMPT_FLOTIME_S=30 s" in problem
    assert "Nothing was sent" in problem and "raise or clear FLOYO_BUDGET_PROMPT_FLOTIME_S" in problem


def test_the_day_budget_counts_what_was_spent_today():
    each = Estimate(flotime_ms=20_000, wall_s=None, runs=1)
    day = Budgets(day_flotime_s=100)
    assert budget_problem([Planned("7", each)], day, {"flotime_ms": 70_000}, None) is None
    problem = budget_problem([Planned("7", each)], day, {"flotime_ms": 90_000}, None)
    assert problem and "on top of 90 s spent today" in problem and "FLOYO_BUDGET_DAY_FLOTIME_S" in problem


def test_partner_dollars_have_their_own_budgets():
    each = Estimate(flotime_ms=1_000, wall_s=None, runs=1, partner_usd=0.4)
    problem = budget_problem([Planned("7", each, runs=3)], Budgets(prompt_usd=1.0), {}, None)
    assert problem and "≈ $1.20 partner API" in problem and "FLOYO_BUDGET_PROMPT_USD=$1.00" in problem
    day = budget_problem([Planned("7", each)], Budgets(day_usd=2.0), {"partner_cost_usd": 1.8}, None)
    assert day and "FLOYO_BUDGET_DAY_USD" in day


def test_a_prompt_over_the_balance_is_refused_with_the_balance_and_the_way_on():
    each = Estimate(flotime_ms=60_000, wall_s=None, runs=1)
    assert budget_problem([Planned("7", each)], Budgets(), {}, Balance(120_000, 5.0)) is None
    problem = budget_problem([Planned("7", each, runs=3)], Budgets(), {}, Balance(120_000, 5.0))
    assert problem and "balance of 120 s FloTime" in problem and "Add FloTime" in problem
    assert budget_problem([Planned("7", None)], Budgets(), {}, Balance(0, 5.0))  # nothing left at all


def test_budgets_come_from_the_environment_and_a_bad_value_names_the_variable():
    env = {"FLOYO_BUDGET_PROMPT_FLOTIME_S": "600", "FLOYO_BUDGET_DAY_USD": "2.5",
           "FLOYO_BUDGET_DAY_FLOTIME_S": "0"}
    assert Budgets.from_env(env) == Budgets(prompt_flotime_s=600, day_usd=2.5)  # 0: off
    with pytest.raises(ConfigError, match="FLOYO_BUDGET_PROMPT_USD"):
        Budgets.from_env({"FLOYO_BUDGET_PROMPT_USD": "five dollars"})


async def test_a_flotime_cap_cancels_a_live_run_once_and_says_what_it_had_cost(floyo, client, fake_time):
    floyo.scenario.steps = [Step("queued", polls=5), Step("processing")]  # FloTime only at the end
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock),
                             limits=Limits(max_flotime_s=30))
    with pytest.raises(FloTimeCapped) as caught:
        async with handle:
            await handle.wait()
    run_id = floyo.last_run.id
    assert len(floyo.requests.cancel_requests(run_id)) == 1
    message = str(caught.value)
    assert "max_flotime_s=30" in message and "counted here since it began processing" in message
    assert "Remote run cancel: cancelled" in message
    spent = float(message.split("about ")[1].split(" s")[0])
    assert 30 <= spent < 40  # queued time is not FloTime: the count starts at processing


async def test_a_flotime_figure_floyo_reports_while_processing_is_used_by_the_cap(floyo, client, fake_time):
    floyo.scenario.steps, floyo.scenario.flotime_live = [Step("processing")], True  # 48.2 s reported
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock),
                             limits=Limits(max_flotime_s=30))
    with pytest.raises(FloTimeCapped, match=r"about 48\.2 s of FloTime \(as Floyo reported it\)"):
        async with handle:
            await handle.wait()
    assert len(floyo.requests.cancel_requests(floyo.last_run.id)) == 1
    assert fake_time.now - 1000.0 < 30  # at its first answer, not after 30 s of counting


def test_the_cap_uses_floyos_own_figure_when_an_answer_reports_one(client):
    handle = RunHandle(client, "run_abc123", limits=Limits(max_flotime_s=30))
    assert handle.flotime_s() == (0.0, False)  # nothing reported, nothing processed yet
    handle.run = Run.from_json({"id": "run_abc123", "status": "processing", "flotime_ms": 45_000})
    assert handle.flotime_s() == (45.0, True)
    with pytest.raises(FloTimeCapped, match="as Floyo reported it"):
        handle.check_cap()


async def test_team_balance_reads_the_balance_and_hides_a_refusal_or_a_missing_route(floyo, client):
    floyo.scenario.balance_flotime_ms, floyo.scenario.balance_partner_usd = 90_000, 3.5
    assert await client.team_balance() == Balance(90_000, 3.5)
    for status in (403, 404):
        floyo.scenario.faults = [Fault(method="GET", path="/team/balance", status=status,
                                       body={"error": "Forbidden" if status == 403 else "Not Found"})]
        assert await client.team_balance() is None


async def test_a_resumed_run_records_its_partner_cost_as_well_as_its_flotime(floyo, client, tmp_path):
    floyo.scenario.partner_nodes_cost_usd = 0.42
    journal = Journal(tmp_path / "runs.sqlite3")
    run = await client.create_run(WORKFLOW, name="left by a restart [m_resume]", marker="m_resume")
    journal.begin("m_resume", name="left", prompt_id=None, node_id=None, api_url=client.api)
    journal.created("m_resume", run.id)
    host = RecoveryHost(folder=lambda i: tmp_path / i)
    await recover_runs(client, journal, [journal.get(run.id)], [], host)
    today = journal.totals()["today"]
    assert today["flotime_ms"] == 48210 and today["partner_cost_usd"] == pytest.approx(0.42)
