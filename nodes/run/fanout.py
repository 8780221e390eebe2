"""One node fed a ComfyUI list: its calls (one per element, run concurrently by ComfyUI) as a group.

ComfyUI maps a list input over the node: every element is its own call of ``FloyoRemoteRun``,
each with its own ``ActiveRun``, all sharing the prompt id and node id. The group lets them act
as one node: a stop seen by any element (ComfyUI's interrupt flag is consumed by the first
element that raises, and the Cancel button reaches one element) stops all of them, and the
status events carry "n of N done" for the node's one status line. Before an element creates,
``admit`` reserves the group's runs against the prompt's ``FLOYO_MAX_FANOUT`` total
(current_graph/fanout_cap.py holds the cap and its queue-time check). Must not talk to Floyo.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from ...floyo_client import WorkflowError, max_fanout
from ..current_graph.fanout_cap import too_many
from ..current_graph.spend_settings import spend_env

_SETTLED_TICKS = 3  # loop turns without a new element: ComfyUI starts one element per turn
_KEPT_PROMPTS = 64


@dataclass
class Group:
    total: int = 0  # elements started (ComfyUI starts every element's call before any can finish)
    done: int = 0
    live: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    reserved: int = 0  # runs of the prompt's FLOYO_MAX_FANOUT this list holds (admit)
    admitted: int = 0  # elements let through to their create
    refused: str | None = None  # why the list may not create: every element fails with it
    spend_checked: bool = False  # the list's budget check was made (estimate.check_spend), once

    def fields(self) -> dict[str, int]:
        """The event fields web/floyo.js shows as "n/N done"; none for a single run."""
        return {"list_done": self.done, "list_total": self.total} if self.total > 1 else {}


_lock = threading.Lock()  # elements run on the prompt worker; Cancel arrives on the server loop
_groups: dict[tuple[str, str], Group] = {}
_admit_lock = threading.Lock()
_created: OrderedDict[str, int] = OrderedDict()  # prompt id -> runs reserved so far (last prompts only)


def join(prompt_id: str | None, node_id: str) -> Group:
    """The group of this node's calls in this prompt (a fresh one once all earlier calls left)."""
    with _lock:
        group = _groups.setdefault((prompt_id or "", node_id), Group())
        group.total += 1
        group.live += 1
        return group


def finished(group: Group, marked: list[bool]) -> None:
    """Count one element done, once (``marked`` is the element's own flag)."""
    with _lock:
        if not marked[0]:
            marked[0] = True
            group.done += 1


def leave(prompt_id: str | None, node_id: str, group: Group) -> None:
    with _lock:
        group.live -= 1
        if group.live <= 0 and _groups.get((prompt_id or "", node_id)) is group:
            del _groups[(prompt_id or "", node_id)]


async def _settled(group: Group) -> None:
    """Until ComfyUI has started every element of the list (it starts one per loop turn)."""
    seen, still = group.total, 0
    while still < _SETTLED_TICKS:
        await asyncio.sleep(0)
        still, seen = (still + 1, seen) if group.total == seen else (0, group.total)


async def admit(group: Group, prompt_id: str | None, node_id: str) -> None:
    """Before an element creates: its run fits in the prompt's total, else WorkflowError. The
    first element reserves the whole list at once (all or nothing); one that started late
    reserves itself."""
    if not group.reserved:
        await _settled(group)
    cap, key = max_fanout(spend_env()), prompt_id or ""
    with _admit_lock:
        if group.refused:
            raise WorkflowError(group.refused)
        if group.admitted < group.reserved:
            group.admitted += 1
            return
        wanted = 1 if group.reserved else group.total
        used = _created.get(key, 0)
        if used + wanted > cap:
            group.refused = too_many(used + wanted, f"Floyo Remote Run (node {node_id}) fed a list of "
                                     f"{group.total}", cap)
            raise WorkflowError(group.refused)
        _created[key] = used + wanted
        _created.move_to_end(key)
        while len(_created) > _KEPT_PROMPTS:
            _created.popitem(last=False)
        group.reserved += wanted
        group.admitted += 1
