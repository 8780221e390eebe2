"""Runs left in flight by a restart or a crash: the ComfyUI side of resuming and reconciling them.

The core does the work (``recover_runs``, floyo_client/recovery.py: watch, save, cancel what
was given up, look for lost creates by marker). This module supplies only what is ComfyUI's:
the key file, the output folder, and the registry of active runs (so the runs tab shows a
resumed run and its Cancel stops it). Started once when the pack loads, in a daemon thread with
its own event loop. Never sends a create.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ...floyo_client import (
    ConfigError,
    Journal,
    RecoveryHost,
    RunRecord,
    StopCheck,
    load_config,
    open_client,
    recover_runs,
    sweep_parts,
)
from .. import comfy
from ..node_types.runtime import limits_for
from ..run.active_runs import REGISTRY
from ..run.collect import run_folder

log = logging.getLogger(__name__)


@contextmanager
def _shown(record: RunRecord) -> Iterator[StopCheck]:
    """A resumed run is active while watched: the runs tab lists it and its Cancel stops it."""
    active = REGISTRY.start(record.node_id or "resume", record.prompt_id)
    active.run_id = record.run_id
    try:
        yield active.cancel.is_set
    finally:
        REGISTRY.finish(active)


async def resume_all(journal: Journal, rows: Sequence[RunRecord],
                     unknown: Sequence[RunRecord] | None = None) -> None:
    unknown = unknown or []
    try:
        config = load_config(comfy.key_file())
    except ConfigError:
        log.warning("Floyo: %d run(s) to resume, but no API key is configured", len(rows) + len(unknown))
        return
    # the user's timeout is gone; only a stop (the runs tab's Cancel) cancels the run
    host = RecoveryHost(folder=run_folder, limits=limits_for(None), watching=_shown)
    async with open_client(config) as client:
        await recover_runs(client, journal, rows, unknown, host)


def sweep_downloads() -> int:
    """Remove the ``.part`` files a crash left under ``output/floyo/`` (never a live download's,
    in this or another ComfyUI sharing the folder: floyo_client/part_files.py); how many went."""
    return sweep_parts(comfy.output_dir() / "floyo")


def start() -> threading.Thread | None:
    """Take over the journal rows of processes that are gone and resume them in the background.
    Calling it again starts nothing: the journal hands each row over once (``take_over``)."""
    journal = comfy.journal()
    rows, unknown = journal.take_over()
    if not rows and not unknown:
        return None
    log.info("Floyo: resuming %d run(s) left in flight; looking for %d unknown create(s)",
             len(rows), len(unknown))
    thread = threading.Thread(target=lambda: asyncio.run(resume_all(journal, rows, unknown)),
                              daemon=True, name="floyo-resume")
    thread.start()
    return thread
