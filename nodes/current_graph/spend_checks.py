"""The spend guard at queue time: a prompt's estimate, checked against the budgets and the balance.

Each Floyo node's cost is estimated from the journal's earlier runs of the same graph shape
(seeds, texts and what its overrides set masked), times the runs a list makes it create. The
prompt hook refuses a prompt whose estimate crosses a ``FLOYO_BUDGET_*`` budget (today's spend
included) or the team's balance, so nothing is sent; Preflight reports the same check. The
balance is the one last read from Floyo (the settings panel, the runs tab, the end of each run):
the hook runs on ComfyUI's server loop and must never wait on the network. Must not send a run.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ...floyo_client import (
    NO_HISTORY,
    Balance,
    Budgets,
    Config,
    ConfigError,
    Estimate,
    Planned,
    Prompt,
    WorkflowError,
    budget_problem,
    history_estimate,
    load_config,
    open_client,
    parse_embedded,
    shape_of,
)
from .. import comfy
from .contract import FLOYO_WORKFLOW
from .fanout_cap import planned_runs
from .hosted import hosted_graph
from .queue_checks import constant_overrides
from .spend_settings import spend_env

log = logging.getLogger(__name__)
BALANCE_FRESH_S = 15 * 60.0  # an older balance is not used to refuse a prompt
_lock = threading.Lock()
_balances: dict[tuple[str, str], tuple[float, Balance | None]] = {}  # (api, team) -> (when, balance)


def remember_balance(config: Config, balance: Balance | None) -> None:
    with _lock:
        _balances[(config.api_url, config.team)] = (time.monotonic(), balance)


def known_balance(config: Config) -> Balance | None:
    """The balance last read for this key, while fresh; None when unknown or not readable."""
    with _lock:
        when, balance = _balances.get((config.api_url, config.team), (0.0, None))
    return balance if time.monotonic() - when < BALANCE_FRESH_S else None


async def fetch_balance(config: Config) -> Balance | None:
    """``GET /team/balance`` now, remembered for the queue-time check; None when this key may not
    read it, Floyo has no such route, or Floyo cannot be reached (logged, never raised)."""
    try:
        async with open_client(config) as client:
            balance = await client.team_balance()
    except Exception as e:  # noqa: BLE001 - a balance is a nicety: it never fails a run or a page
        log.info("Floyo: the team's balance could not be read (%s)", type(e).__name__)
        return None
    remember_balance(config, balance)
    return balance


def estimate(workflow: Prompt | None, overrides: Any, config: Config) -> Estimate | None:
    """The estimate of one run of ``workflow`` under its override chain, from the journal."""
    if workflow is None:
        return None
    journal = comfy.journal()
    return history_estimate(journal.path, shape_of(workflow, overrides), config.api_url, config.team)


def embedded_workflow(prompt: Prompt, node_id: str) -> Prompt | None:
    """The graph a node sends: its pasted workflow, or the Floyo workflow the hook fetched and
    sealed into it (hosted.py), which is held to the same budgets."""
    inputs = prompt[node_id].get("inputs", {})
    text = inputs.get("workflow")
    try:
        if inputs.get("source") == FLOYO_WORKFLOW:
            return hosted_graph(text)
        return parse_embedded(text) if isinstance(text, str) else None
    except WorkflowError:
        return None


def plan(prompt: Prompt, remotes: dict[str, Prompt | None], config: Config) -> list[Planned]:
    """Each paying node of ``prompt``: its estimate and runs. ``remotes``: each node's workflow
    (the embedded text, or the current graph's remote part); an override chain with a linked
    target, or a workflow not known yet, gives no estimate."""
    planned = []
    for node_id, runs in planned_runs(prompt).items():
        overrides = constant_overrides(prompt, prompt[node_id].get("inputs", {}).get("overrides"))
        workflow = remotes[node_id] if node_id in remotes else embedded_workflow(prompt, node_id)
        known = None if overrides is None else estimate(workflow, overrides, config)
        planned.append(Planned(node_id, known, runs))
    return planned


def spend_check(prompt: Prompt, remotes: dict[str, Prompt | None]) -> tuple[list[Planned], str | None]:
    """Each paying node's plan, and why this prompt must not be sent (a budget, the balance) or
    None. No key: nothing planned here (the key check refuses the prompt)."""
    if not planned_runs(prompt):  # no Floyo node: nothing to pay for, nothing to read
        return [], None
    try:
        config = load_config(comfy.key_file())
    except ConfigError:
        return [], None
    try:
        budgets = Budgets.from_env(spend_env())
    except ConfigError as e:
        return [], f"{e} Nothing was sent to Floyo."
    planned = plan(prompt, remotes, config)
    today = comfy.journal().totals()["today"]
    return planned, budget_problem(planned, budgets, today, known_balance(config))


def report_lines(node_id: str, workflow: Prompt, overrides: Any) -> list[str]:
    """Preflight's lines: the estimate of one run, and the check the prompt hook would make."""
    try:
        config = load_config(comfy.key_file())
        budgets = Budgets.from_env(spend_env())
    except ConfigError as e:
        return ["Estimate: unknown without a key.", f"Budget check: not made ({e})"]
    found = estimate(workflow, overrides, config)
    lines = [f"Estimate: {found.text() if found else NO_HISTORY}."]
    balance = known_balance(config)
    problem = budget_problem([Planned(node_id, found)], budgets, comfy.journal().totals()["today"], balance)
    set_ = [f"{name}={value:g}" for name, value in budgets.to_json().items() if value is not None]
    within = f"within {', '.join(set_)}" if set_ else "no budget set (FLOYO_BUDGET_*)"
    flo = balance.flotime_ms if balance else None
    left = (f"; balance {flo / 1000:.0f} s FloTime" if flo is not None
            else "; balance not known (read when the settings panel or the runs tab opens)")
    lines.append(f"Budget check: the run would be refused: {problem}" if problem else
                 f"Budget check: passes ({within}{left}).")
    return lines
