"""Gateway mode's run lifecycle: Floyo runs executed as prompts on one ComfyUI worker.

Create → the worker's ``/prompt``; status ← its ``/queue`` and ``/history``; cancel → its
targeted ``/interrupt`` or queue removal; outputs: where they are on the worker (streamed by
``gateway_files``); uploads → its input folder. Every change is written to the store, so a
restarted gateway picks its runs up again. A worker that stays unreachable, or that no longer
knows a prompt, fails the runs it holds with a message naming it: no run stays ``processing``
forever. Lives on the server's event loop. Renders no JSON and parses no requests.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..floyo_client import Phase
from .gateway_runs import (
    GatewayRun,
    StoredFile,
    execution_ms,
    from_history,
    node_titles,
    output_refs,
    partial_error,
    rejection_error,
    with_versions,
)
from .gateway_store import GatewayStore
from .wire import RunError, new_id
from .worker import QueueState, WorkerClient, WorkerUnavailable
from .worker_events import WorkerEvents

log = logging.getLogger(__name__)

DOWN_LIMIT_S = 120.0  # a worker unreachable this long fails the runs it holds


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class Gateway:
    """The runs of one gateway and the worker that executes them."""

    def __init__(self, store: GatewayStore, worker: WorkerClient, *, down_limit_s: float = DOWN_LIMIT_S,
                 clock: Callable[[], float] = time.monotonic, events: WorkerEvents | None = None):
        self.store = store
        self.worker = worker
        self.events = events
        self.down_limit_s = down_limit_s
        self._clock = clock
        self._down_since: float | None = None
        self._lock = asyncio.Lock()  # one refresh at a time: a finish (and its files) is written once
        self._worker_version: str | None = None  # "" once asked and the worker did not say

    async def create(self, workflow: dict[str, Any], name: str, owner: str,
                     client_comfyui: str | None = None) -> GatewayRun:
        """Submit the workflow; a prompt the worker rejects becomes a failed run, as on Floyo, and so
        does one it accepts only in part (docs/floyo-api.md, "Partly valid workflows"). Either
        failure names the worker's ComfyUI release and ``client_comfyui`` (the sender's, when its
        User-Agent says), since a release skew is the usual cause.

        Raises WorkerUnavailable when the worker cannot be reached (nothing was created).
        """
        submitted = await self.worker.submit(workflow)
        run = GatewayRun(id=new_id("run_"), name=name, owner=owner, prompt_id=submitted.prompt_id,
                         titles=node_titles(workflow))
        if submitted.rejection is not None:
            error = rejection_error(submitted.rejection)
            run.finish(Phase.FAILED, await self._versioned(error, client_comfyui))
        elif submitted.node_errors:  # accepted in part: never a silently partial run
            await self._stop(submitted.prompt_id)
            error = partial_error(submitted.node_errors, workflow)
            run.finish(Phase.FAILED, await self._versioned(error, client_comfyui))
        self.store.save_run(run)
        log.info("run %s -> worker prompt %s (%s)", run.id, run.prompt_id or "rejected", name)
        return run

    async def _versioned(self, error: RunError, client_comfyui: str | None) -> RunError:
        if self._worker_version is None:  # asked once: a worker is not upgraded under a live gateway
            self._worker_version = await self.worker.comfyui_version() or ""
        return with_versions(error, self._worker_version or None, client_comfyui)

    async def _stop(self, prompt_id: str | None) -> None:
        """Take a prompt off the worker: out of its queue, or interrupted if it already started."""
        try:
            await self.worker.delete_pending(prompt_id)
            await self.worker.interrupt(prompt_id)  # targeted: ignored unless this prompt is running
        except WorkerUnavailable as exc:  # the run fails anyway; the worker may finish the valid part
            log.warning("could not stop partly valid prompt %s: %s", prompt_id, exc)

    async def refresh(self, runs: list[GatewayRun]) -> list[GatewayRun]:
        """Bring live runs up to date from the worker (one ``/queue`` for all). A worker that
        cannot be reached leaves them as they were, until ``down_limit_s`` fails them."""
        live = [r for r in runs if not r.phase.terminal and r.prompt_id is not None]
        if not live:
            return runs
        async with self._lock:
            try:
                # the queue before history: a prompt leaves one for the other atomically
                queue = await self.worker.queue()
                for run in live:
                    await self._update(run, queue)
                self._down_since = None
            except WorkerUnavailable as exc:
                self._worker_down(live, exc)
        return runs

    async def _update(self, run: GatewayRun, queue: QueueState) -> None:
        fresh = self.store.run(run.id, None)  # another request may have moved it (or cancelled it)
        if fresh is not None:
            vars(run).update(vars(fresh))
        if run.phase.terminal:
            return
        before = run.phase
        if run.prompt_id in queue.running:
            run.phase = Phase.RUNNING
        elif run.prompt_id in queue.pending:
            run.phase = Phase.QUEUED
        else:
            await self._finish_from(run, await self.worker.history(run.prompt_id))
        if run.phase is not before:
            self.store.save_run(run)

    def _worker_down(self, live: list[GatewayRun], exc: WorkerUnavailable) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
            log.warning("%s", exc)
        if now - self._down_since < self.down_limit_s:
            return
        message = (f"The ComfyUI worker {self.worker.base_url} has been unreachable for "
                   f"{now - self._down_since:.0f} s ({exc}); the gateway stopped waiting for this run")
        for run in live:
            run.finish(Phase.FAILED, RunError(type="system", message=message, node_id=None))
            self.store.save_run(run)
            log.warning("run %s failed: worker unreachable", run.id)

    async def _finish_from(self, run: GatewayRun, entry: dict[str, Any] | None) -> None:
        if entry is None and run.cancel_requested:
            run.finish(Phase.CANCELLED)
            return
        if entry is None:
            run.finish(Phase.FAILED, RunError(type="system", node_id=None, message=(
                f"The ComfyUI worker {self.worker.base_url} no longer knows prompt {run.prompt_id}: "
                "it was restarted or its queue was cleared while the run waited; queue the run again")))
            return
        outcome = from_history(entry, run.cancel_requested)
        if outcome is None:  # in history but not finished: only on a worker mid-shutdown
            return
        if outcome[0] is Phase.SUCCEEDED:
            await self._save_outputs(run, entry)
        run.finish(outcome[0], outcome[1], execution_ms(entry))
        log.info("run %s finished: %s", run.id, run.phase.value)

    async def _save_outputs(self, run: GatewayRun, entry: dict[str, Any]) -> None:
        """Each output's place on the worker and its size (a HEAD, nothing read), kept in the store."""
        if run.outputs_saved:
            return
        for ref in output_refs(entry):
            size = await self.worker.size(ref.filename, ref.subfolder, ref.kind)
            if size is None:
                log.warning("run %s: the worker has no %s any more", run.id, ref.input_path)
                continue
            self.store.add_file(StoredFile(
                id=new_id("file_"), owner=run.owner, run_id=run.id, file_name=ref.filename,
                mime_type=_mime(ref.filename), size_bytes=size, input_path=ref.input_path,
                filename=ref.filename, subfolder=ref.subfolder, kind=ref.kind))
        run.outputs_saved = True

    async def cancel(self, run: GatewayRun) -> bool:
        """Stop a live run; False when it had already finished. Raises WorkerUnavailable."""
        await self.refresh([run])
        if run.phase.terminal or run.prompt_id is None:
            return False
        run.cancel_requested = True
        self.store.save_run(run)
        if run.phase is Phase.QUEUED:
            await self.worker.delete_pending(run.prompt_id)
            await self.refresh([run])  # removed from the queue, or started in between
        if run.phase is Phase.RUNNING:
            await self.worker.interrupt(run.prompt_id)
        log.info("run %s: cancel sent to the worker (prompt %s)", run.id, run.prompt_id)
        return True

    def progress_of(self, run: GatewayRun) -> dict[str, Any] | None:
        """``{node, value, max}`` of a running run, the node by its title, when the worker said."""
        step = self.events.steps.get(run.prompt_id or "") if self.events is not None else None
        if step is None or run.phase is not Phase.RUNNING:
            return None
        return {"node": run.titles.get(step.node, step.node), "value": step.value, "max": step.max}

    def outputs(self, run: GatewayRun) -> list[StoredFile]:
        return self.store.run_files(run.id) if run.phase is Phase.SUCCEEDED else []

    async def upload(self, path: Path, name: str, folder: str, owner: str, *,
                     rename: bool) -> StoredFile | None:
        """Stream the file at ``path`` into the worker's input folder; None if the name is taken
        and not ``rename``.

        ``input_path`` is ``folder/name`` relative to the worker's input folder, which is what
        its LoadImage accepts (Floyo's own paths look like ``#inputs/folder/name``).
        """
        if not rename and await self.worker.exists(name, folder):
            return None
        saved = await self.worker.upload(path, name, folder, overwrite=False)
        stored, sub = str(saved["name"]), str(saved.get("subfolder") or "")
        return self.store.add_file(StoredFile(
            id=new_id("file_"), owner=owner, run_id=None, file_name=stored, mime_type=_mime(stored),
            size_bytes=path.stat().st_size, input_path=f"{sub}/{stored}" if sub else stored,
            filename=stored, subfolder=sub, kind="input"))
