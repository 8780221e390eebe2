"""How many Floyo runs one queued prompt may create: ``FLOYO_MAX_FANOUT`` (default 20), in code.

A widget's min/max is checked by ComfyUI only for a constant: a ``count`` linked from another
node reaches ``FloyoSeedList`` unchecked, and a list from any other node reaches ``FloyoRemoteRun``
as one call per element. So the cap is enforced three times, each before the first create:

- at queue time (``planned_refusal``), when the list lengths are constants in the prompt;
- by the list makers when they run (``check_list_length``), the list's length then known;
- by ``FloyoRemoteRun`` itself (``run/fanout.admit``), for a list from anywhere: the first
  element to start waits until ComfyUI has started every element, then reserves the whole list
  against the prompt's total at once, so a list that does not fit creates nothing.

This module holds the cap, its message and the two checks made before anything runs. Must not
talk to Floyo, and keeps no state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ...floyo_client import ENV_MAX_FANOUT, Prompt, is_link, max_fanout
from .contract import PAYING_NODES, SEED_LIST, TEXT_LIST
from .spend_settings import spend_env

MAX_ITEMS = 1000  # every list maker's own cap, whatever FLOYO_MAX_FANOUT says
_SETTLED_TICKS = 3  # loop turns without a new element: ComfyUI starts one element per turn
_KEPT_PROMPTS = 64
_lock = threading.Lock()
_created: OrderedDict[str, int] = OrderedDict()  # prompt id -> runs reserved so far


def too_many(runs: int, where: str, cap: int) -> str:
    return (f"{where}: {runs} Floyo runs in one prompt, more than {ENV_MAX_FANOUT}={cap} allows, so "
            f"nothing was sent to Floyo. Shorten the list, or set {ENV_MAX_FANOUT}={runs} (or more) "
            "where ComfyUI starts, or Floyo > Budgets > Most runs per prompt in ComfyUI's settings, "
            "if you mean to pay for that many runs.")


def check_list_length(length: int, node: str) -> None:
    """A list maker's length, checked in code (a linked count skips the widget's min/max)."""
    if length < 1:
        raise ValueError(f"{node} needs at least one element; got {length}.")
    cap = max_fanout(spend_env())
    if length > MAX_ITEMS:
        raise ValueError(f"{node} makes {length} runs; at most {MAX_ITEMS} runs at once, and "
                         f"{ENV_MAX_FANOUT}={cap} per prompt.")
    if length > cap:
        raise ValueError(too_many(length, node, cap))


def _constant_length(node: dict[str, Any]) -> int | None:
    inputs = node.get("inputs") or {}
    if node.get("class_type") == SEED_LIST:
        count = inputs.get("count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None
    if node.get("class_type") == TEXT_LIST:
        text = inputs.get("text")
        return sum(1 for line in text.splitlines() if line.strip()) if isinstance(text, str) else None
    return None


def _upstream(prompt: Prompt, node_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [node_id]
    while todo:
        for value in (prompt.get(todo.pop()) or {}).get("inputs", {}).values():
            if is_link(value) and str(value[0]) in prompt and str(value[0]) not in seen:
                seen.add(str(value[0]))
                todo.append(str(value[0]))
    return seen


def planned_runs(prompt: Prompt) -> dict[str, int]:
    """Each paying node's runs, as far as the prompt's constants tell. ComfyUI calls a node
    max(list lengths) times, so a Floyo node fed by lists makes as many runs as its longest
    constant list (a list known only when it runs counts as one here)."""
    paying = [i for i, n in prompt.items() if isinstance(n, dict) and n.get("class_type") in PAYING_NODES]
    runs = {}
    for node_id in paying:
        lengths = [_constant_length(prompt[u]) for u in _upstream(prompt, node_id)
                   if isinstance(prompt[u], dict)]
        runs[node_id] = max([n for n in lengths if n is not None], default=1)
    return runs


def planned_refusal(prompt: Prompt) -> tuple[list[str], str] | None:
    """At queue time: the paying nodes and why, when the list lengths known now already make
    more runs than the cap; the prompt's total is the sum of its Floyo nodes' runs."""
    runs = planned_runs(prompt)
    paying = list(runs)
    total, cap = sum(runs.values()), max_fanout(spend_env())
    if total <= cap:
        return None
    where = ", ".join(f"node {i}: {n}" for i, n in runs.items() if n > 1) or "its Floyo nodes"
    return paying, too_many(total, f"This prompt ({where})", cap)
