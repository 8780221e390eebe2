"""What a run will cost before it is paid for: the graph's shape, the estimate from earlier runs
of that shape, the team's balance, and the budgets a queued prompt must fit in.

The estimate is only ever a figure measured on an earlier run of the same shape (the workflow
with its seeds and texts masked, so a new seed or prompt matches); with none, there is no
estimate and the words say so. Budgets come from ``FLOYO_BUDGET_*`` (or the settings the glue
maps onto the same names); a budget that is not set is off. Must not do I/O nor guess a figure.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import statistics
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .workflow import Override, WorkflowError, find_node

ENV_BUDGET_PROMPT_FLOTIME_S = "FLOYO_BUDGET_PROMPT_FLOTIME_S"
ENV_BUDGET_DAY_FLOTIME_S = "FLOYO_BUDGET_DAY_FLOTIME_S"
ENV_BUDGET_PROMPT_USD = "FLOYO_BUDGET_PROMPT_USD"
ENV_BUDGET_DAY_USD = "FLOYO_BUDGET_DAY_USD"
BUDGET_ENVS = (ENV_BUDGET_PROMPT_FLOTIME_S, ENV_BUDGET_DAY_FLOTIME_S, ENV_BUDGET_PROMPT_USD,
               ENV_BUDGET_DAY_USD)
NO_HISTORY = "no estimate yet: no earlier run of this graph in the journal"
HISTORY_RUNS = 5  # the newest runs of a shape the estimate is the median of
MASK = "<masked>"
# Inputs whose value changes what is made but not what it costs: seeds, and the texts of prompts
# and file names (the routing tag and an upload's path land in these too).
_MASKED_NAMES = re.compile(r"(^|_)(seed|text|texts|prompt|positive|negative|string|caption|"
                           r"filename_prefix|image|video|audio|file)(_|$)|seed", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _masked_name(name: str) -> bool:
    return bool(_MASKED_NAMES.search(name))


def _masked(name: str, value: Any) -> Any:
    if isinstance(value, list):  # a link [node, slot]: part of the shape
        return value
    if _masked_name(name) or (isinstance(value, str) and ("\n" in value or " " in value.strip())):
        return MASK
    return value


def shape_hash(workflow: Mapping[str, Any], varied: AbstractSet[tuple[str, str]] = frozenset()) -> str:
    """The workflow's shape: node types, links and settings, with seeds and texts masked (and the
    ``varied`` (node id, input) pairs), so runs that differ only there are the same shape."""
    shape = {str(node_id): [node.get("class_type"),
                            {k: MASK if (node_id, k) in varied else _masked(k, v)
                             for k, v in (node.get("inputs") or {}).items()}]
             for node_id, node in workflow.items() if isinstance(node, dict)}
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def shape_of(workflow: Mapping[str, Any], overrides: Sequence[Override] | None = None) -> str:
    """``shape_hash`` with the inputs an override chain sets masked: what an override sets is what
    varies from run to run (a seed list's seed, a prompt), and at queue time a linked value is not
    known yet, so both ends hash the same shape. A target that is not there is refused elsewhere."""
    varied = set()
    for o in overrides or ():
        try:
            varied.add((find_node(dict(workflow), o.target), o.input.strip()))
        except WorkflowError:
            continue
    return shape_hash(workflow, varied)


@dataclass(frozen=True)
class Estimate:
    """The median FloTime, wall time and partner cost of the newest earlier runs of one shape
    (``runs`` of them); ``wall_s`` None when none was saved here, ``partner_usd`` None when Floyo
    reported no partner cost for any."""

    flotime_ms: int
    wall_s: float | None
    runs: int
    partner_usd: float | None = None

    @classmethod
    def of(cls, flotimes_ms: Sequence[int], walls_s: Sequence[float],
           partner_usd: Sequence[float] = ()) -> Estimate | None:
        if not flotimes_ms:
            return None
        return cls(int(statistics.median(flotimes_ms)),
                   float(statistics.median(walls_s)) if walls_s else None, len(flotimes_ms),
                   float(statistics.median(partner_usd)) if partner_usd else None)

    def text(self, runs: int = 1) -> str:
        """"≈ 42 s FloTime, ≈ 1 min" (times ``runs`` for a list), and what it is based on."""
        each = f"≈ {self.flotime_ms * runs / 1000:.0f} s FloTime"
        wall = f", ≈ {duration(self.wall_s)}" if self.wall_s is not None else ""
        times = f" for {runs} runs" if runs > 1 else ""
        return f"{each}{wall}{times} (from {self.runs} earlier run(s) of this graph)"

    def to_json(self) -> dict[str, Any]:
        return {"flotime_ms": self.flotime_ms, "wall_s": self.wall_s, "runs": self.runs,
                "partner_usd": self.partner_usd, "text": self.text()}


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Balance:
    """``GET /team/balance`` (unconfirmed on Floyo, docs/floyo-api.md 2.8): what the team has left."""

    flotime_ms: int | None
    partner_usd: float | None

    @classmethod
    def from_json(cls, body: Any) -> Balance | None:
        if not isinstance(body, dict):
            return None
        flo, usd = body.get("available_flotime_ms"), body.get("partner_nodes_usd")
        flo = flo if isinstance(flo, (int, float)) and not isinstance(flo, bool) else None
        usd = usd if isinstance(usd, (int, float)) and not isinstance(usd, bool) else None
        return None if flo is None and usd is None else cls(None if flo is None else int(flo), usd)

    def to_json(self) -> dict[str, Any]:
        return {"available_flotime_ms": self.flotime_ms, "partner_nodes_usd": self.partner_usd}


def _budget(env: Mapping[str, str], name: str) -> float | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (or empty for no budget), got {raw!r}.") from None
    return value if value > 0 else None  # 0: no budget, like an empty setting


@dataclass(frozen=True)
class Budgets:
    prompt_flotime_s: float | None = None
    day_flotime_s: float | None = None
    prompt_usd: float | None = None
    day_usd: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Budgets:
        env = os.environ if env is None else env
        return cls(*(_budget(env, name) for name in BUDGET_ENVS))

    def to_json(self) -> dict[str, float | None]:
        return dict(zip(BUDGET_ENVS, (self.prompt_flotime_s, self.day_flotime_s, self.prompt_usd,
                                      self.day_usd), strict=True))


@dataclass(frozen=True)
class Planned:
    """One Floyo node of a queued prompt: its estimate (None: no history) and how many runs it
    makes (a list fans out: N times the estimate)."""

    node_id: str
    estimate: Estimate | None
    runs: int = 1


HOW = ("Nothing was sent to Floyo. To go ahead, raise or clear {name} (where ComfyUI starts, or in "
       "ComfyUI's settings under Floyo > Budgets), or queue fewer or smaller runs.")
TOP_UP = ("Nothing was sent to Floyo. Add FloTime or API credit to the team on floyo.ai, then "
          "queue it again.")


def _spent(plan: Sequence[Planned]) -> tuple[float, float]:
    """The prompt's estimated FloTime (s) and partner cost (USD), known estimates only."""
    flo = sum(p.estimate.flotime_ms * p.runs for p in plan if p.estimate) / 1000
    usd = sum((p.estimate.partner_usd or 0.0) * p.runs for p in plan if p.estimate)
    return flo, usd


def _where(plan: Sequence[Planned]) -> str:
    known = [f"node {p.node_id}: {p.runs} × {p.estimate.text()}" if p.runs > 1 else
             f"node {p.node_id}: {p.estimate.text()}" for p in plan if p.estimate]
    return "; ".join(known) or "no estimate"


def budget_problem(plan: Sequence[Planned], budgets: Budgets, today: Mapping[str, Any],
                   balance: Balance | None) -> str | None:
    """Why this prompt must not be sent (over a budget, or over the balance), or None. ``today``:
    what was spent today (the journal's totals: ``flotime_ms``, ``partner_cost_usd``). A node
    with no history adds nothing: an estimate is never invented."""
    flo_s, usd = _spent(plan)
    day_flo_s = (today.get("flotime_ms") or 0) / 1000
    day_usd = today.get("partner_cost_usd") or 0.0
    where = _where(plan)
    checks = (
        (budgets.prompt_flotime_s, flo_s, f"≈ {flo_s:.0f} s FloTime", ENV_BUDGET_PROMPT_FLOTIME_S, "s"),
        (budgets.day_flotime_s, day_flo_s + flo_s,
         f"≈ {flo_s:.0f} s FloTime on top of {day_flo_s:.0f} s spent today", ENV_BUDGET_DAY_FLOTIME_S, "s"),
        (budgets.prompt_usd, usd, f"≈ ${usd:.2f} partner API", ENV_BUDGET_PROMPT_USD, "$"),
        (budgets.day_usd, day_usd + usd, f"≈ ${usd:.2f} partner API on top of ${day_usd:.2f} spent today",
         ENV_BUDGET_DAY_USD, "$"))
    for limit, total, what, name, unit in checks:
        if limit is not None and total > limit:
            shown = f"${limit:.2f}" if unit == "$" else f"{limit:g} s"
            return f"This prompt would spend {what} ({where}), over {name}={shown}. " + HOW.format(name=name)
    return _balance_problem(flo_s, usd, where, balance)


def _balance_problem(flo_s: float, usd: float, where: str, balance: Balance | None) -> str | None:
    if balance is None:
        return None
    if balance.flotime_ms is not None and (balance.flotime_ms <= 0 or flo_s * 1000 > balance.flotime_ms):
        return (f"This prompt would spend ≈ {flo_s:.0f} s FloTime ({where}), more than the team's "
                f"balance of {balance.flotime_ms / 1000:.0f} s FloTime. " + TOP_UP)
    if balance.partner_usd is not None and usd > 0 and usd > balance.partner_usd:
        return (f"This prompt would spend ≈ ${usd:.2f} partner API ({where}), more than the team's "
                f"API credit of ${balance.partner_usd:.2f}. " + TOP_UP)
    return None
