"""A run with its journal: the row exists before the create leaves, and every outcome lands.

Wraps ``start_run``/``RunHandle`` so callers (the node, the resume thread) cannot forget a step:
begin → create (unknown / not created) → status changes → saved outputs, or the state the run
was left in when we gave up on it (after the handle's best-effort cancel).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .client import CancelResult, FloyoClient, new_marker
from .errors import FloyoError, NetworkError, RunMayExist, ServerError
from .journal import Journal
from .models import Phase, classify_status
from .runner import Hooks, Limits, RunHandle, RunUpdate, run_name, start_run
from .workflow import Prompt, workflow_hash

T = TypeVar("T")


@dataclass(frozen=True)
class RunMeta:
    label: str | None = None
    prompt_id: str | None = None
    node_id: str | None = None


def journaled_hooks(hooks: Hooks, journal: Journal) -> Hooks:
    """Hooks that also write each status change (not every tick) to the journal."""
    last: dict[str, str] = {}

    def on_status(update: RunUpdate) -> None:
        if last.get(update.run_id) != update.status:
            last[update.run_id] = update.status
            journal.status(update.run_id, update.status, update.flotime_ms)
        hooks.on_status(update)

    return dataclasses.replace(hooks, on_status=on_status)


def left_state(handle: RunHandle) -> str:
    """The journal state of a run we stopped watching (after the handle's cancel, if any)."""
    run, outcome = handle.run, handle.cancel_outcome
    phase = run.phase if run else Phase.QUEUED
    if outcome and outcome.result is CancelResult.ALREADY_FINISHED:
        phase = classify_status(outcome.status)
    elif outcome and outcome.result in (CancelResult.CANCELLED, CancelResult.NOT_FOUND):
        phase = Phase.CANCELLED
    return {Phase.SUCCEEDED: "succeeded", Phase.FAILED: "failed",
            Phase.CANCELLED: "cancelled"}.get(phase, "running")  # unconfirmed: watch it on restart


async def _create(client: FloyoClient, workflow: Prompt, journal: Journal, meta: RunMeta,
                  hooks: Hooks, limits: Limits | None) -> RunHandle:
    marker = new_marker()
    journal.begin(marker, name=run_name(meta.label, marker), prompt_id=meta.prompt_id,
                  node_id=meta.node_id, workflow_hash=workflow_hash(workflow), api_url=client.api)
    try:
        handle = await start_run(client, workflow, label=meta.label, marker=marker, hooks=hooks,
                                 limits=limits)
    except (RunMayExist, ServerError) as e:  # Floyo may have the run: never resubmit (§4)
        journal.create_unknown(marker, str(e))
        raise
    except (FloyoError, NetworkError) as e:
        journal.not_created(marker, str(e))
        raise
    journal.created(marker, handle.run_id)
    return handle


async def run_tracked(client: FloyoClient, workflow: Prompt, *, journal: Journal, meta: RunMeta,
                      hooks: Hooks, limits: Limits | None,
                      finish: Callable[[RunHandle, Any], Awaitable[T]],
                      on_created: Callable[[RunHandle], None] = lambda h: None) -> T:
    """Create, wait, then ``finish(handle, run)``; the journal records every step."""
    hooks = journaled_hooks(hooks, journal)
    handle = await _create(client, workflow, journal, meta, hooks, limits)
    on_created(handle)
    try:
        async with handle:
            run = await handle.wait()
            return await finish(handle, run)
    except BaseException as e:
        journal.finished(handle.run_id, left_state(handle), client.transport.safe(str(e)))
        raise
