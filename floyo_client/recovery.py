"""Getting runs' files back: runs a restart or a crash left behind, and finished runs fetched again.

At start the journal hands over the rows of processes that are gone (``Journal.take_over``).
``recover_runs`` then, for each run of this Floyo: a run Floyo has is polled until it ends and
its files saved (journaled ``saved``, with what Floyo said each file is); a run whose node gave up
on it while its cancel could not get through is cancelled now; a create that may have reached
Floyo ("unknown") is looked for by its marker in Floyo's run list: found, it is watched (or
cancelled, if its node had given up), not found, the row stays unknown. Never sends a create.
The host (the ComfyUI glue) supplies only what is its own through ``RecoveryHost``: where a run's
files go, its limits, and how a watched run is shown and stopped. ``fetch_files`` saves a finished
run's files again (the runs tab's Fetch), journaling them when the run is the journal's; it never
creates nor cancels a run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .client import FloyoClient
from .cost import partner_cost_usd
from .errors import BillingError, FloyoError, Interrupted, RunFailed
from .journal import Journal, JournalState, RunRecord
from .models import Phase
from .provenance import record_saved
from .run_files import download_outputs
from .runner import Hooks, Limits, RunHandle, cancel_on_stop, failure_of, never_cancel
from .saved_files import fingerprint, intact
from .tracked import cancel_given_up, journal_left, journaled_hooks
from .transport import StopCheck, never_stop

log = logging.getLogger(__name__)


@contextmanager
def _unwatched(record: RunRecord) -> Iterator[StopCheck]:
    yield never_stop


@dataclass(frozen=True)
class RecoveryHost:
    """What the host program supplies: the folder of a run's files, the limits of a watch (the
    user's timeout is gone: only a stop cancels a resumed run), and ``watching``, entered for
    as long as a run is watched (to show it, e.g. in a runs tab) and yielding its stop check."""

    folder: Callable[[str], Path]
    limits: Limits = field(default_factory=Limits)
    watching: Callable[[RunRecord], AbstractContextManager[StopCheck]] = _unwatched


async def resume_run(client: FloyoClient, journal: Journal, record: RunRecord, host: RecoveryHost) -> None:
    """Watch a run Floyo has to its end and save its files; a stop cancels it, a failure is
    journaled, and any other error leaves the row for the next start."""
    run_id = record.run_id or ""
    with host.watching(record) as stop:
        hooks = journaled_hooks(Hooks(should_stop=stop), journal)
        handle = RunHandle(client, run_id, hooks, host.limits, cancels=cancel_on_stop)
        try:
            async with handle:
                run = await handle.wait()
                # its FloTime and partner cost, as a node's own run records them (the totals)
                journal.cost(run_id, run.flotime_ms, partner_cost_usd(run.raw))
                outputs = list(run.outputs)
                paths = await download_outputs(handle, outputs, host.folder(run_id))
            record_saved(journal, run_id, await asyncio.to_thread(fingerprint, paths, outputs))
            log.info("Floyo: resumed run %s finished; %d output(s) saved", run_id, len(paths))
        except Interrupted as e:
            journal_left(journal, handle, str(e))
        except (RunFailed, BillingError) as e:
            journal.finished(run_id, JournalState.FAILED, str(e))
        except FloyoError as e:  # left as it is: tried again at the next start
            log.warning("Floyo: could not resume run %s: %s", run_id, e)


async def reconcile_run(client: FloyoClient, journal: Journal, record: RunRecord, host: RecoveryHost) -> None:
    """A create that may have reached Floyo: look for its marker in Floyo's run list. Found, it
    is watched like a resumed run, or cancelled if its node had given up on it; not found (or no
    run list), the row stays unknown."""
    marker = record.marker
    try:
        run = await client.find_run(marker)
    except FloyoError as e:
        log.info("Floyo: the run with marker %s stays unknown: %s", marker, e)
        return
    if run is None:
        log.info("Floyo: no run with marker %s in Floyo's run list; it stays unknown", marker)
        return
    journal.created(marker, run.id)
    if not record.gave_up:
        log.info("Floyo: found run %s by its marker %s; watching it", run.id, marker)
        await resume_run(client, journal, record.with_run_id(run.id), host)
        return
    await cancel_given_up(client, journal, run.id, f"Floyo run {run.id} found by its marker after its "
                                                   "node gave up")


async def _resume_or_cancel(client: FloyoClient, journal: Journal, record: RunRecord,
                            host: RecoveryHost) -> None:
    if record.gave_up:
        await cancel_given_up(client, journal, record.run_id or "", f"Floyo run {record.run_id} was "
                                                                    "given up by its node")
    else:
        await resume_run(client, journal, record, host)


async def recover_runs(client: FloyoClient, journal: Journal, records: Sequence[RunRecord],
                       unknown: Sequence[RunRecord], host: RecoveryHost) -> None:
    """Resume (or cancel) ``records`` and reconcile ``unknown``, all at once; only the runs of
    the Floyo ``client`` talks to (another Floyo's runs are not this key's)."""
    mine = [r for r in records if r.api_url == client.api]
    lost = [r for r in unknown if r.api_url == client.api]
    await asyncio.gather(*(_resume_or_cancel(client, journal, r, host) for r in mine),
                         *(reconcile_run(client, journal, r, host) for r in lost))


def saved_paths(record: RunRecord | None) -> list[str] | None:
    """The run's saved files, while each is still the file saved (else None: download them
    again). Reads and hashes files: call it off the event loop."""
    if record and record.state is JournalState.SAVED and intact(record.paths, record.files):
        return list(record.paths)
    return None


async def fetch_files(client: FloyoClient, journal: Journal, run_id: str, folder: Path) -> list[str]:
    """Download a finished run's files into ``folder`` and journal them as saved (when the
    journal has the run); FloyoError says why not. Leaving never cancels the run."""
    async with RunHandle(client, run_id, cancels=never_cancel) as handle:
        run = await handle.refresh(urls=True)
        if not run.phase.terminal:
            raise FloyoError(f"Floyo run {run_id} is still {run.status}; fetch it once it has finished.",
                             run_id=run_id)
        if run.phase is not Phase.SUCCEEDED:
            raise failure_of(run)
        outputs = list(run.outputs)
        paths = [str(p) for p in await download_outputs(handle, outputs, folder)]
    record_saved(journal, run_id, await asyncio.to_thread(fingerprint, paths, outputs))
    return paths
