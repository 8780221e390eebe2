"""A run with its journal: the row exists before the create leaves, and every outcome lands.

Wraps the create and ``RunHandle`` so callers (the node, the resume thread) cannot forget a step:
begin → create (unknown / not created) → status changes → saved outputs, or the state the run
was left in when we gave up on it (after the handle's best-effort cancel). A create is never
abandoned: it runs detached from ComfyUI's prompt loop, and a node cancelled meanwhile still
learns the run id and cancels the run. A lost answer is reconciled by the name marker through
Floyo's run list. Never sends a create twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .client import FloyoClient, new_marker
from .cost import partner_cost_usd
from .detached import detached
from .errors import FloyoError, Interrupted, RunListUnavailable, RunMayExist, ServerError
from .journal import GAVE_UP, Journal, JournalState
from .kept import keep
from .models import Phase, Run, classify_status
from .outcome import CancelOutcome, CancelResult
from .provenance import record_saved
from .runner import Hooks, Limits, RunHandle, RunUpdate, run_name
from .saved_files import SavedFile
from .slots import run_slot
from .spend import shape_hash
from .transport import StopCheck, Transport
from .workflow import Prompt, workflow_hash

T = TypeVar("T")
log = logging.getLogger(__name__)
CREATE_GRACE_S = 120.0  # how long a cancelled node still waits for its create's answer
RECONCILE_DELAYS_S = (0.0, 1.0, 2.0)  # a lost create's run may be listed a moment late


@dataclass(frozen=True)
class RunMeta:
    label: str | None = None
    prompt_id: str | None = None
    node_id: str | None = None
    shape: str | None = None  # the graph's shape (spend.shape_of), as the estimate looks it up
    # the UI workflow the run came from (the prompt's extra_pnginfo.workflow), kept with what is sent
    ui_workflow: dict[str, Any] | None = None


def journaled_hooks(hooks: Hooks, journal: Journal) -> Hooks:
    """Hooks that also write each status change (not every tick) to the journal."""
    last: dict[str, str] = {}

    def on_status(update: RunUpdate) -> None:
        if last.get(update.run_id) != update.status:
            last[update.run_id] = update.status
            journal.status(update.run_id, update.status, update.flotime_ms)
        hooks.on_status(update)

    return dataclasses.replace(hooks, on_status=on_status)


def journal_saved(journal: Journal, run_id: str) -> Callable[[Sequence[SavedFile]], None]:
    """What to call the moment a run's files are on disk (before decoding, which may still fail):
    journals them as saved, with each file's identity and what Floyo said it is, and writes the
    run folder's sidecar (provenance.py). A run the journal does not have (a Fetch of a run made
    elsewhere) is not added."""
    return lambda files: record_saved(journal, run_id, files)


def left_state(handle: RunHandle) -> JournalState:
    """The journal state of a run we stopped watching (after the handle's cancel, if any)."""
    run, outcome = handle.run, handle.cancel_outcome
    phase = run.phase if run else Phase.QUEUED
    if outcome and outcome.result is CancelResult.ALREADY_FINISHED:
        phase = classify_status(outcome.status)
    elif outcome and outcome.result in (CancelResult.CANCELLED, CancelResult.NOT_FOUND):
        phase = Phase.CANCELLED
    # unconfirmed: left running, watched again at the next start
    return {Phase.SUCCEEDED: JournalState.SUCCEEDED, Phase.FAILED: JournalState.FAILED,
            Phase.CANCELLED: JournalState.CANCELLED}.get(phase, JournalState.RUNNING)


def journal_left(journal: Journal, handle: RunHandle, detail: str) -> None:
    """Journal the state a run was left in. If its cancel could not get through, it is marked as
    given up, so the next start cancels it instead of watching it."""
    state = left_state(handle)
    journal.finished(handle.run_id, state, detail, handle.cancel_outcome)
    if state is JournalState.RUNNING and handle.cancel_outcome is not None:
        journal.status(handle.run_id, GAVE_UP, None)


async def _create(client: FloyoClient, workflow: Prompt, journal: Journal, meta: RunMeta,
                  hooks: Hooks, limits: Limits | None) -> RunHandle:
    marker = new_marker()
    name = run_name(meta.label, marker)
    journal.begin(marker, name=name, prompt_id=meta.prompt_id, node_id=meta.node_id,
                  api_url=client.api, resolved_hash=workflow_hash(workflow),
                  team=client.transport.config.team, shape_hash=meta.shape or shape_hash(workflow),
                  kept=keep(workflow, meta.ui_workflow, client.transport.config.api_key))
    answer = detached(lambda: _create_run(client.transport, workflow, name, marker, hooks.should_stop))
    try:
        await asyncio.shield(answer)  # ComfyUI may cancel this node now: the create goes on
    except asyncio.CancelledError:
        if answer.cancelled():
            raise
        await abandon_create(answer, client, journal, marker)
        raise
    except Exception:  # noqa: BLE001, S110 - read from the future below (_recorded journals it)
        pass
    try:
        run = _recorded(answer, journal, marker)
    except (RunMayExist, ServerError) as e:  # Floyo may have the run: never resubmit (docs/floyo-api.md)
        try:
            return await _after_lost_answer(client, journal, marker, e, hooks, limits)
        except (asyncio.CancelledError, Interrupted):
            # Stopped while looking for it: if the run turns up at the next start, nobody wants
            # its outputs any more, so it is cancelled then rather than watched and billed.
            journal.gave_up(marker, f"The node was stopped while the pack looked for the run its "
                                    f"lost create may have made. {e}")
            raise
    return _handle(client, run, hooks, limits)


async def _create_run(transport: Transport, workflow: Prompt, name: str, marker: str,
                      stop: StopCheck) -> Run:
    """The create, on the worker thread's own loop, through a twin of the caller's transport
    (same settings and rate budget, its own connection)."""
    async with FloyoClient(transport.twin()) as client:
        return await client.create_run(workflow, name=name, marker=marker, stop=stop)


def _handle(client: FloyoClient, run: Run, hooks: Hooks | None = None,
            limits: Limits | None = None) -> RunHandle:
    handle = RunHandle(client, run.id, hooks, limits)
    handle.run = run
    return handle


def _recorded(answer: asyncio.Future, journal: Journal, marker: str) -> Run:
    """Journal the create's outcome and return its run, or raise its error."""
    try:
        run = answer.result()
    except (RunMayExist, ServerError) as e:
        journal.create_unknown(marker, str(e))
        raise
    except FloyoError as e:
        journal.not_created(marker, str(e))
        raise
    except Exception as e:  # an answer nothing foresaw: the run may exist, so never `creating`
        lost = RunMayExist(f"The create's answer could not be used ({type(e).__name__}) and it was not "
                           f"resent. Look in Floyo for marker {marker}.", marker=marker)
        journal.create_unknown(marker, str(lost))
        raise lost from e
    journal.created(marker, run.id)
    return run


async def _after_lost_answer(client: FloyoClient, journal: Journal, marker: str, error: FloyoError,
                             hooks: Hooks, limits: Limits | None) -> RunHandle:
    """The create's answer was lost: look for the run by its marker at once. A found run is
    watched as if the answer had come; otherwise the row stays unknown and the error stands."""
    run, why = await find_lost_run(client, marker, hooks)
    if run is None:
        raise error.explained(why).with_traceback(error.__traceback__) from None
    log.info("Floyo: the create's answer was lost, but run %s carries marker %s; watching it",
             run.id, marker)
    journal.created(marker, run.id)
    return _handle(client, run, hooks, limits)


async def find_lost_run(client: FloyoClient, marker: str, hooks: Hooks) -> tuple[Run | None, str]:
    """The run carrying ``marker`` from Floyo's run list, retried briefly (a new run may be
    listed a moment late); else None and why, for the user."""
    for delay in RECONCILE_DELAYS_S:
        await _pause(hooks, delay)
        try:
            run = await client.find_run(marker, stop=hooks.should_stop)
        except RunListUnavailable as e:  # none, or one that ignores the search
            return None, f"{e} The journal keeps it as unknown; look for marker {marker} in Floyo's runs."
        except FloyoError as e:
            return None, f"The run list could not be checked ({client.transport.safe(str(e))[:200]})."
        if run is not None:
            return run, ""
    return None, (f"Floyo's run list shows no run with marker {marker}; the journal keeps it as "
                  "unknown and the pack looks again at the next start.")


async def _pause(hooks: Hooks, seconds: float) -> None:
    """Sleep in slices of at most half a second, so a stop is honoured within a second."""
    deadline = hooks.clock() + seconds
    while (left := deadline - hooks.clock()) > 0:
        if hooks.should_stop():
            raise Interrupted("Stopped while looking for the run by its marker.")
        await hooks.sleep(min(left, 0.5))


async def abandon_create(answer: asyncio.Future, client: FloyoClient, journal: Journal,
                         marker: str) -> None:
    """ComfyUI cancelled the node (another node failed, or an interrupt) while its create was in
    flight. Let the create finish (bounded), then cancel the run nobody will watch and journal it;
    a lost answer is reconciled by marker, else the row stays unknown and marked as given up."""
    await _outlast(answer, CREATE_GRACE_S)
    why = "ComfyUI cancelled the node while its create was in flight"
    if not answer.done():
        journal.gave_up(marker, f"{why}, and Floyo did not answer within {CREATE_GRACE_S:.0f}s.")
        return
    try:
        run = _recorded(answer, journal, marker)
    except (RunMayExist, ServerError) as e:
        run, _ = await find_lost_run(client, marker, Hooks())
        if run is None:
            journal.gave_up(marker, f"{why}; its answer was lost: {e}")
            return
        journal.created(marker, run.id)
    except FloyoError:
        return  # journaled as not created
    outcome = await cancel_given_up(client, journal, run.id, why, run=run)
    log.info("Floyo: run %s was created as ComfyUI cancelled its node; remote cancel: %s",
             run.id, outcome.describe())


async def cancel_given_up(client: FloyoClient, journal: Journal, run_id: str, why: str, *,
                          run: Run | None = None) -> CancelOutcome:
    """The one way to cancel a run nobody watches (its node gave up on it): the handle's bounded
    cancel, then the state it is left in journaled (given up again if the cancel failed)."""
    handle = RunHandle(client, run_id)
    handle.run = run
    outcome = await handle.cancel()
    journal_left(journal, handle, f"{why}; remote cancel: {outcome.describe()}.")
    return outcome


async def _outlast(task: asyncio.Future, seconds: float) -> None:
    """Wait up to ``seconds`` for ``task``, through further cancels of the waiting task."""
    deadline = time.monotonic() + seconds
    while not task.done() and (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait({task}, timeout=left)
        except asyncio.CancelledError:
            continue  # the run id matters more than leaving now; the wait stays bounded


async def run_tracked(client: FloyoClient, workflow: Prompt, *, journal: Journal, meta: RunMeta,
                      hooks: Hooks, limits: Limits | None,
                      finish: Callable[[RunHandle, Any], Awaitable[T]],
                      on_created: Callable[[RunHandle], None] = lambda h: None) -> T:
    """Create, wait, then ``finish(handle, run)``; the journal records every step."""
    hooks = journaled_hooks(hooks, journal)
    # a run slot of this key before the create: past FLOYO_MAX_CONCURRENT_RUNS, wait uncreated
    async with run_slot(client, hooks.should_stop) as slot:
        return await _tracked(client, workflow, journal, meta, hooks, limits,
                              lambda h, r: slot.then(finish(h, r)), on_created)


async def _tracked(client: FloyoClient, workflow: Prompt, journal: Journal, meta: RunMeta,
                   hooks: Hooks, limits: Limits | None, finish: Callable[[RunHandle, Any], Awaitable[T]],
                   on_created: Callable[[RunHandle], None]) -> T:
    handle = await _create(client, workflow, journal, meta, hooks, limits)
    on_created(handle)
    try:
        async with handle:
            run = await handle.wait()
            journal.cost(run.id, run.flotime_ms, partner_cost_usd(run.raw))
            return await finish(handle, run)
    except BaseException as e:
        journal_left(journal, handle, client.transport.safe(str(e)))
        raise
