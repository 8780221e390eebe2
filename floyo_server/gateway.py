"""Gateway mode's run lifecycle: Floyo runs executed as prompts on one ComfyUI worker.

Create → the worker's ``/prompt``; status ← its ``/queue`` and ``/history``; cancel → its
targeted ``/interrupt`` or queue removal; outputs ← its ``/view``; uploads → its input folder.
Lives on the server's event loop. Renders no JSON and parses no requests (``gateway_app`` does).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from typing import Any

from ..floyo_client.models import Phase
from .gateway_runs import (
    FileRef,
    GatewayRun,
    execution_ms,
    from_history,
    output_refs,
    partial_error,
    rejection_error,
    with_versions,
)
from .records import FileRecord, new_id
from .scenario import RunError
from .state import Store
from .worker import WorkerClient, WorkerUnavailable

log = logging.getLogger(__name__)

_GONE = RunError(type="system", message="The ComfyUI worker no longer knows this run's prompt "
                                        "(was it restarted or its queue cleared?)", node_id=None)


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class Gateway:
    """The runs of one gateway and the worker that executes them."""

    def __init__(self, store: Store, worker: WorkerClient):
        self.store = store
        self.worker = worker
        self.runs: dict[str, GatewayRun] = {}
        self._fetching = asyncio.Lock()
        self._worker_version: str | None = None  # "" once asked and the worker did not say

    async def create(self, workflow: dict[str, Any], name: str, key: str | None,
                     client_comfyui: str | None = None) -> GatewayRun:
        """Submit the workflow; a prompt the worker rejects becomes a failed run, as on Floyo, and so
        does one it accepts only in part (docs/floyo-api.md, "Partly valid workflows"). Either
        failure names the worker's ComfyUI release and ``client_comfyui`` (the sender's, when its
        User-Agent says), since a release skew is the usual cause.

        Raises WorkerUnavailable when the worker cannot be reached (nothing was created).
        """
        submitted = await self.worker.submit(workflow)
        run = GatewayRun(id=new_id("run_"), name=name, key=key, prompt_id=submitted.prompt_id)
        if submitted.rejection is not None:
            error = rejection_error(submitted.rejection)
            run.finish(Phase.FAILED, await self._versioned(error, client_comfyui))
        elif submitted.node_errors:  # accepted in part: never a silently partial run
            await self._stop(submitted.prompt_id)
            error = partial_error(submitted.node_errors, workflow)
            run.finish(Phase.FAILED, await self._versioned(error, client_comfyui))
        self.runs[run.id] = run
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

    async def refresh(self, run: GatewayRun) -> GatewayRun:
        """Bring a live run up to date from the worker. Raises WorkerUnavailable."""
        if run.phase.terminal or run.prompt_id is None:
            return run
        queue = await self.worker.queue()  # before history: a prompt leaves one for the other atomically
        if run.prompt_id in queue.running:
            run.phase = Phase.RUNNING
        elif run.prompt_id in queue.pending:
            run.phase = Phase.QUEUED
        else:
            self._finish_from(run, await self.worker.history(run.prompt_id))
        return run

    def _finish_from(self, run: GatewayRun, entry: dict[str, Any] | None) -> None:
        if entry is None and run.cancel_requested:
            run.finish(Phase.CANCELLED)
            return
        if entry is None:
            run.finish(Phase.FAILED, _GONE)
            return
        outcome = from_history(entry, run.cancel_requested)
        if outcome is None:  # in history but not finished: only on a worker mid-shutdown
            return
        run.history = entry
        run.finish(outcome[0], outcome[1], execution_ms(entry))
        log.info("run %s finished: %s", run.id, run.phase.value)

    async def cancel(self, run: GatewayRun) -> bool:
        """Stop a live run; False when it had already finished. Raises WorkerUnavailable."""
        await self.refresh(run)
        if run.phase.terminal or run.prompt_id is None:
            return False
        run.cancel_requested = True
        if run.phase is Phase.QUEUED:
            await self.worker.delete_pending(run.prompt_id)
            await self.refresh(run)  # removed from the queue, or started in between
        if run.phase is Phase.RUNNING:
            await self.worker.interrupt(run.prompt_id)
        log.info("run %s: cancel sent to the worker (prompt %s)", run.id, run.prompt_id)
        return True

    async def outputs(self, run: GatewayRun) -> list[FileRecord]:
        """The output files of a succeeded run, fetched from the worker once."""
        async with self._fetching:
            if run.outputs is None:
                refs = output_refs(run.history or {})
                run.outputs = [await self._fetch(ref) for ref in refs]
            return run.outputs

    async def _fetch(self, ref: FileRef) -> FileRecord:
        data = await self.worker.view(ref.filename, ref.subfolder, ref.kind)
        record = FileRecord(id=new_id("file_"), file_name=ref.filename, mime_type=_mime(ref.filename),
                            data=data, input_path=ref.input_path)
        return self.store.add_file(record)

    async def upload(self, data: bytes, name: str, folder: str, *, rename: bool) -> FileRecord | None:
        """Save an input file in the worker's input folder; None if the name is taken and not ``rename``.

        ``input_path`` is ``folder/name`` relative to the worker's input folder, which is what
        its LoadImage accepts (Floyo's own paths look like ``#inputs/folder/name``).
        """
        if not rename and await self.worker.exists(name, folder):
            return None
        saved = await self.worker.upload(data, name, folder, overwrite=False)
        stored, sub = str(saved["name"]), str(saved.get("subfolder") or "")
        record = FileRecord(id=new_id("file_"), file_name=stored, mime_type=_mime(stored), data=data,
                            input_path=f"{sub}/{stored}" if sub else stored)
        return self.store.add_file(record)
