"""Reuse of identical results: a resolved workflow the journal has already paid for is not run again.

The journal keeps, for every saved run, the hash of the workflow it sent (after overrides and
upload paths), the team that paid for it (a digest of the key) and each output file's size,
sha256 and what Floyo said it is. An identical workflow sent with a key of the same team gets
those files back, with no new run; another team's key never does. Files deleted, edited,
truncated or replaced since they were saved are fetched again by run id, never served as the
run's result; a run Floyo no longer has is forgotten for reuse, and the caller makes a new run.
Decoding is the host's (``from_disk``, ``fetched``). Must never create a run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from .client import FloyoClient
from .errors import DownloadError, NotFound
from .journal import Journal, RunRecord
from .models import Phase, Run
from .runner import Hooks, RunHandle, never_cancel
from .saved_files import SavedFile, intact
from .tracked import journal_saved
from .workflow import Prompt, workflow_hash

T = TypeVar("T")
log = logging.getLogger(__name__)
OnSaved = Callable[[Sequence[SavedFile]], None]


async def reuse_identical(client: FloyoClient, journal: Journal, workflow: Prompt, hooks: Hooks, *,
                          from_disk: Callable[[RunRecord], Awaitable[T]],
                          fetched: Callable[[RunHandle, Run, OnSaved], Awaitable[T]],
                          ) -> tuple[RunRecord, T] | None:
    """The outputs of an identical earlier run of this team: ``from_disk(record)`` while its
    files are intact, else ``fetched(handle, run, on_saved)`` by run id (``on_saved`` journals
    the files again); None when there is none or Floyo no longer has it."""
    record = journal.reusable(workflow_hash(workflow), client.api, client.transport.config.team)
    if record is None or record.run_id is None:
        return None
    if await asyncio.to_thread(intact, record.paths, record.files):
        return record, await from_disk(record)
    run_id = record.run_id
    try:
        async with RunHandle(client, run_id, hooks, cancels=never_cancel) as handle:  # not ours to cancel
            run = await handle.refresh(urls=True)
            if run.phase is not Phase.SUCCEEDED:
                raise NotFound(f"run {run_id} is {run.status}")
            result = await fetched(handle, run, journal_saved(journal, run_id))
    except (NotFound, DownloadError) as e:
        log.info("Floyo: run %s's outputs are gone locally and on Floyo (%s); making a new run", run_id, e)
        journal.forget_reuse(run_id)
        return None
    return record, result
