"""Server side of the "Floyo runs" sidebar tab (in web/floyo.js): Fetch a finished run's outputs.

Fetch saves them into ``output/floyo/<run id>/`` (the same folder and the same safe names as the
nodes use), on the server's own event loop, and records them in the journal when the run is
there; files already saved are not downloaded again. It never creates nor cancels a run: the tab's
Cancel goes through the cancel route to the node that owns the run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...floyo_client import (
    FloyoError,
    Phase,
    RunHandle,
    download_outputs,
    failure_of,
    fingerprint,
    intact,
    load_config,
    never_cancel,
    open_client,
)
from .. import comfy
from ..run.collect import run_folder

log = logging.getLogger(__name__)


def _saved(record: dict[str, Any] | None) -> list[str] | None:
    """The saved files, while each is still the file saved (else they are downloaded again)."""
    if record and record["state"] == "saved" and intact(record["paths"], record["files"]):
        return list(record["paths"])
    return None


async def fetch_outputs(run_id: str) -> dict[str, Any]:
    """Save a finished run's outputs under output/floyo/<run id>/; FloyoError says why not."""
    journal = comfy.journal()
    record = journal.get(run_id)
    if (paths := await asyncio.to_thread(_saved, record)) is not None:
        return {"run_id": run_id, "paths": paths, "downloaded": False}
    async with open_client(load_config(comfy.key_file())) as client, RunHandle(
            client, run_id, cancels=never_cancel) as handle:  # the tab's Fetch never cancels a run
        run = await handle.refresh(urls=True)
        if not run.phase.terminal:
            raise FloyoError(f"Floyo run {run_id} is still {run.status}; fetch it once it has finished.",
                             run_id=run_id)
        if run.phase is not Phase.SUCCEEDED:
            raise failure_of(run)
        paths = [str(p) for p in await download_outputs(handle, list(run.outputs), run_folder(run_id))]
    if record is not None:
        journal.saved(run_id, await asyncio.to_thread(fingerprint, paths))
    log.info("Floyo: fetched %d output(s) of run %s from the runs tab", len(paths), run_id)
    return {"run_id": run_id, "paths": paths, "downloaded": True}
