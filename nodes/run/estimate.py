"""A node's run against its estimate: the shape the journal keeps, and the ETA its status line shows.

Before its create, the node looks up the estimate of its workflow's shape (the journal's earlier
runs of the same graph, floyo_client/spend.py) and keeps it on its ``ActiveRun``; each
``floyo.run`` event then carries ``estimate`` and ``eta_s``, the time left by that estimate. No
history, no ETA: a figure is never invented. Must not send anything.
"""

from __future__ import annotations

from typing import Any

from ...floyo_client import Config, Estimate, RunUpdate, history_estimate, shape_of
from .. import comfy
from .active_runs import ActiveRun


def prepare(active: ActiveRun, workflow: dict[str, Any], overrides: Any, config: Config) -> str:
    """The run's shape (journaled with it); its estimate kept on ``active`` for the events."""
    shape = shape_of(workflow, overrides)
    active.estimate = history_estimate(comfy.journal().path, shape, config.api_url, config.team)
    return shape


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
