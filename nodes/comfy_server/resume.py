"""Runs left in flight by a restart or a crash: watched to the end and their outputs saved.

Started once when the pack loads, in a daemon thread with its own event loop. Reads the journal:
creates that never got an answer become "unknown" (never resubmitted) and are looked for by
their name marker in Floyo's run list (found: watched, or cancelled if their node gave up); runs
Floyo has are polled until they finish and their files saved under output/floyo/<run id>/, so
FloyoFetchOutputs can serve them without downloading again; a run whose node gave up on it but
whose cancel did not get through is cancelled now. Never sends a create.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from ...floyo_client import (
    GAVE_UP,
    BillingError,
    ConfigError,
    FloyoError,
    Hooks,
    Interrupted,
    Journal,
    RunFailed,
    RunHandle,
    cancel_given_up,
    cancel_on_stop,
    download_outputs,
    fingerprint,
    journal_left,
    journaled_hooks,
    load_config,
    open_client,
    sweep_parts,
)
from .. import comfy
from ..node_types.runtime import limits_for
from ..run.active_runs import REGISTRY
from ..run.collect import run_folder

log = logging.getLogger(__name__)


async def resume_one(client: Any, journal: Journal, row: dict[str, Any]) -> None:
    run_id = row["run_id"]
    active = REGISTRY.start(row.get("node_id") or "resume", row.get("prompt_id"))
    active.run_id = run_id
    hooks = journaled_hooks(Hooks(should_stop=active.cancel.is_set), journal)
    # the user's timeout is gone; only a stop (the runs tab's Cancel) cancels the run
    handle = RunHandle(client, run_id, hooks, limits_for(None), cancels=cancel_on_stop)
    try:
        async with handle:
            run = await handle.wait()
            paths = await download_outputs(handle, list(run.outputs), run_folder(run_id))
        journal.saved(run_id, await asyncio.to_thread(fingerprint, paths))
        log.info("Floyo: resumed run %s finished; %d output(s) saved", run_id, len(paths))
    except Interrupted as e:
        journal_left(journal, handle, str(e))
    except (RunFailed, BillingError) as e:
        journal.finished(run_id, "failed", str(e))
    except FloyoError as e:  # left as it is: tried again at the next start
        log.warning("Floyo: could not resume run %s: %s", run_id, e)
    finally:
        REGISTRY.finish(active)


async def reconcile_one(client: Any, journal: Journal, row: dict[str, Any]) -> None:
    """A create that may have reached Floyo: look for its marker in Floyo's run list. Found, it
    is watched like a resumed run, or cancelled if its node had given up on it; not found (or no
    run list), the row stays unknown."""
    marker = row["marker"]
    try:
        run = await client.find_run(marker)
    except FloyoError as e:
        log.info("Floyo: the run with marker %s stays unknown: %s", marker, e)
        return
    if run is None:
        log.info("Floyo: no run with marker %s in Floyo's run list; it stays unknown", marker)
        return
    journal.created(marker, run.id)
    if row.get("status") != GAVE_UP:
        log.info("Floyo: found run %s by its marker %s; watching it", run.id, marker)
        await resume_one(client, journal, {**row, "run_id": run.id})
        return
    await cancel_given_up(client, journal, run.id, f"Floyo run {run.id} found by its marker after its "
                                                   "node gave up")


async def _resume_or_cancel(client: Any, journal: Journal, row: dict[str, Any]) -> None:
    if row.get("status") == GAVE_UP:
        await cancel_given_up(client, journal, row["run_id"], f"Floyo run {row['run_id']} was given up "
                                                              "by its node")
    else:
        await resume_one(client, journal, row)


async def resume_all(journal: Journal, rows: list[dict[str, Any]],
                     unknown: list[dict[str, Any]] | None = None) -> None:
    unknown = unknown or []
    try:
        config = load_config(comfy.key_file())
    except ConfigError:
        log.warning("Floyo: %d run(s) to resume, but no API key is configured", len(rows) + len(unknown))
        return
    mine = [r for r in rows if r.get("api_url") == config.api_url]
    lost = [r for r in unknown if r.get("api_url") == config.api_url]
    async with open_client(config) as client:
        await asyncio.gather(*(_resume_or_cancel(client, journal, r) for r in mine),
                             *(reconcile_one(client, journal, r) for r in lost))


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
