"""A node's run against its estimate: the shape the journal keeps, the budget check once the list
is known, and the ETA its status line shows.

Before its create, the node looks up the estimate of its workflow's shape (the journal's earlier
runs of the same graph, floyo_client/spend.py) and keeps it on its ``ActiveRun``; each
``floyo.run`` event then carries ``estimate`` and ``eta_s``, the time left by that estimate. No
history, no ETA: a figure is never invented. The queue-time check counts only lists whose length
is a constant; here, after ``fanout.admit``, the whole list is known, so its N × estimate is
checked against the budgets and the balance again, once per list (all elements or none). Must
not send anything.
"""

from __future__ import annotations

import threading
from typing import Any

from ...floyo_client import (
    Budgets,
    Config,
    Estimate,
    Planned,
    RunUpdate,
    WorkflowError,
    budget_problem,
    history_estimate,
    shape_of,
)
from .. import comfy
from ..current_graph.spend_checks import known_balance
from ..current_graph.spend_settings import spend_env
from .active_runs import ActiveRun

_lock = threading.Lock()  # a list's elements run concurrently: its check is made by the first


def prepare(active: ActiveRun, workflow: dict[str, Any], overrides: Any, config: Config) -> str:
    """The run's shape (journaled with it); its estimate kept on ``active`` for the events."""
    shape = shape_of(workflow, overrides)
    active.estimate = history_estimate(comfy.journal().path, shape, config.api_url, config.team)
    return shape


def check_spend(active: ActiveRun, config: Config) -> None:
    """Refuse (WorkflowError, nothing created) when the node's runs, its whole list counted, would
    cross a budget or the balance; decided once for the list, by its first element."""
    group = active.group
    with _lock:
        if not group.spend_checked:
            plan = [Planned(active.node_id, active.estimate, max(group.total, 1))]
            today = comfy.journal().totals()["today"]
            group.refused = group.refused or budget_problem(plan, Budgets.from_env(spend_env()), today,
                                                            known_balance(config))
            group.spend_checked = True
        problem = group.refused
    if problem:
        raise WorkflowError(problem)


def eta_fields(estimate: Estimate | None, update: RunUpdate) -> dict[str, object]:
    """``estimate`` (its text) and ``eta_s``: the estimated wall time left, else the FloTime left
    once processing; nothing when there is no estimate."""
    if estimate is None:
        return {}
    if estimate.wall_s is not None:
        left = estimate.wall_s - update.elapsed_s
    else:
        left = estimate.flotime_ms / 1000 - update.active_s
    return {"estimate": estimate.text(), "eta_s": round(max(left, 0.0))}
