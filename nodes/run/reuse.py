"""Reuse of identical results: a resolved workflow the journal has already paid for is not run again.

The journal keeps, for every saved run, the hash of the workflow it sent (after overrides and
upload paths), the team that paid for it (a digest of the key) and each output file's size and
sha256. An identical workflow sent with a key of the same team gets those files back, decoded
from disk, with no new run; another team's key never does. Files deleted, edited, truncated or
replaced since they were saved are fetched again by run id, never served as the run's result; a
run Floyo no longer has is forgotten for reuse, and the caller makes a new run. Must never create
a run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ...floyo_client import (
    DownloadError,
    FloyoClient,
    Hooks,
    NotFound,
    Phase,
    Prompt,
    RunHandle,
    intact,
    never_cancel,
    workflow_hash,
)
from .collect import Collected, collect, collect_saved

log = logging.getLogger(__name__)
REUSE = ("identical results", "always run")


def reused_status(record: dict[str, Any]) -> str:
    """What the node shows: "reused run_… from <date>, no FloTime spent"."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.get("updated_at") or 0))
    return f"reused {record['run_id']} from {when}, no FloTime spent"


async def reuse_saved(client: FloyoClient, journal: Any, workflow: Prompt, size_policy: str,
                      hooks: Hooks) -> tuple[dict[str, Any], Collected] | None:
    """The saved outputs of an identical earlier run (fetched again if the files are gone), or
    None when there is none or Floyo no longer has it."""
    record = journal.reusable(workflow_hash(workflow), client.api, client.transport.config.team)
    if record is None:
        return None
    paths = record["paths"]
    if await asyncio.to_thread(intact, paths, record["files"]):
        return record, await collect_saved(paths, size_policy)
    run_id = record["run_id"]
    try:
        async with RunHandle(client, run_id, hooks, cancels=never_cancel) as handle:  # not ours to cancel
            run = await handle.refresh(urls=True)
            if run.phase is not Phase.SUCCEEDED:
                raise NotFound(f"run {run_id} is {run.status}")
            collected = await collect(handle, run, size_policy, on_saved=lambda p: journal.saved(run_id, p))
    except (NotFound, DownloadError) as e:
        log.info("Floyo: run %s's outputs are gone locally and on Floyo (%s); making a new run", run_id, e)
        journal.forget_reuse(run_id)
        return None
    return record, collected
