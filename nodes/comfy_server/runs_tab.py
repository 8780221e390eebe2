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

from ...floyo_client import fetch_files, load_config, open_client, saved_paths
from .. import comfy
from ..run.collect import run_folder

log = logging.getLogger(__name__)


async def fetch_outputs(run_id: str) -> dict[str, Any]:
    """Save a finished run's outputs under output/floyo/<run id>/; FloyoError says why not."""
    journal = comfy.journal()
    if (paths := await asyncio.to_thread(saved_paths, journal.get(run_id))) is not None:
        return {"run_id": run_id, "paths": paths, "downloaded": False}
    async with open_client(load_config(comfy.key_file())) as client:  # the tab's Fetch never cancels a run
        paths = await fetch_files(client, journal, run_id, run_folder(run_id))
    log.info("Floyo: fetched %d output(s) of run %s from the runs tab", len(paths), run_id)
    return {"run_id": run_id, "paths": paths, "downloaded": True}
