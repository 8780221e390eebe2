"""``FloyoRunStatus`` and ``FloyoFetchOutputs``: look a run up by id, wherever it was started.

Status is a single GET. Fetch waits for a terminal state by default and asks for fresh links
when old ones expired. Interrupting a fetch stops waiting; only the node's own Cancel button
(which the user points at this run) cancels the run itself.
"""

from __future__ import annotations

import asyncio
import json

from ...floyo_client import (
    RUN_ID_RE,
    FloyoError,
    Hooks,
    Interrupted,
    JournalState,
    NotFound,
    Phase,
    RunHandle,
    RunRecord,
    failure_of,
    intact,
    journal_saved,
    load_config,
    open_client,
)
from .. import comfy
from ..current_graph.contract import FETCH_OUTPUTS, RUN_STATUS
from ..current_graph.queue_checks import key_problem
from ..decode.image_pixels import SIZE_POLICIES
from ..run.active_runs import ActiveRun
from ..run.collect import Collected, collect, collect_saved
from ..run.progress import announce, downloading, node_hooks
from ..run.provenance import mark_fetched
from ..run.run_result import node_outputs
from .runtime import OUTPUTS, limits_for, run_guarded, with_warnings
from .spec import CATEGORY, Ctx, In, NodeSpec, Out, Shown


def checked_run_id(run_id: str) -> str:
    run_id = (run_id or "").strip()
    if not RUN_ID_RE.fullmatch(run_id):
        raise NotFound(f"{run_id!r} is not a Floyo run id; they look like run_ followed by letters and "
                       "digits (FloyoRemoteRun's run_id output, or Floyo's run history).")
    return run_id


def queue_check_run_id(run_id: object) -> bool | str:
    """At queue time: a malformed run id or a missing key refuses the prompt before any request."""
    try:
        checked_run_id(run_id if isinstance(run_id, str) else "")
    except NotFound as e:
        return str(e)
    return key_problem() or True


async def status(ctx: Ctx, run_id: str) -> tuple:
    run_id = checked_run_id(run_id)
    async with open_client(load_config(comfy.key_file())) as client:
        run = await client.get_run(run_id)
    return (run.status, run.flotime_ms or 0, json.dumps(run.raw, indent=2, sort_keys=True))


async def shown(collected: Collected, run_id: str, size_policy: str) -> tuple[Shown, list[str]]:
    """The node's outputs; the workflow sent is unknown here, so files are routed by their tags."""
    more, ui, warnings = await node_outputs(collected, run_id, None, size_policy)
    return Shown((collected.images, collected.masks, "\n".join(collected.paths), *more), ui), warnings


async def served_from_disk(record: RunRecord | None, team: str) -> bool:
    """Saved files are served without asking Floyo only to the team that paid for the run, and
    only while each is still the file saved (else Floyo is asked, with this key, by run id)."""
    return bool(record and record.state is JournalState.SAVED and record.team == team
                and await asyncio.to_thread(intact, record.paths, record.files))


async def fetch(ctx: Ctx, run_id: str, wait: bool = True, timeout: int = 3600,
                size_policy: str = SIZE_POLICIES[0]) -> Shown:
    run_id = checked_run_id(run_id)
    journal = comfy.journal()
    record = journal.get(run_id)
    config = load_config(comfy.key_file())
    if record is not None and await served_from_disk(record, config.team):  # paid once, fetched once
        collected = await collect_saved(record.outputs(), list(record.paths), size_policy)
        mark_fetched(ctx.extra_pnginfo, run_id, record, ctx.node_id)
        return (await shown(collected, run_id, size_policy))[0]

    async def body(active: ActiveRun) -> Shown:
        active.run_id = run_id
        hooks: Hooks = node_hooks(active)
        # Only the Cancel button on this node means the run itself (the user pointed it at this
        # run); ComfyUI's interrupt or the timeout just stop the waiting.
        def cancels(exc: BaseException) -> bool:
            return isinstance(exc, Interrupted) and active.cancel.is_set()

        async with open_client(config) as client, RunHandle(client, run_id, hooks, limits_for(timeout),
                                                            cancels=cancels) as handle:
            run = await handle.wait() if wait else await handle.refresh(urls=True)
            if not run.phase.terminal:
                raise FloyoError(f"Floyo run {run_id} is still {run.status}. Set 'wait' to true, or "
                                 "try again later.", run_id=run_id)
            if run.phase is not Phase.SUCCEEDED:
                raise failure_of(run)
            collected = await collect(handle, run, size_policy, on_saved=journal_saved(journal, run_id),
                                      on_file=downloading(active))
        out, warnings = await shown(collected, run_id, size_policy)
        mark_fetched(ctx.extra_pnginfo, run_id, record, ctx.node_id)
        announce(active, "saved", with_warnings(f"{len(collected.paths)} output file(s) saved for {run_id}",
                                                warnings), warnings=warnings)
        return out

    return await run_guarded(ctx, body)


RUNS = f"{CATEGORY}/runs"
RUN_ID = In("run_id", "STRING", options={"default": ""},
            tooltip=("A Floyo run id (run_…): Floyo Remote Run's run_id output, the Floyo runs tab, or "
                     "Floyo's run history"))
STATUS_SPEC = NodeSpec(
    node_id=RUN_STATUS, display_name="Floyo Run Status",
    description="The current status, FloTime and full record of a Floyo run, by id.",
    inputs=(RUN_ID,),
    outputs=(Out("status", "STRING", "queued, processing, done, failed or cancelled"),
             Out("flotime_ms", "INT", "FloTime the run has used so far, in milliseconds"),
             Out("run_json", "STRING", "Floyo's full record of the run, as JSON")),
    run=status, always_run=True, category=RUNS, check_run_id=queue_check_run_id)
FETCH_SPEC = NodeSpec(
    node_id=FETCH_OUTPUTS, display_name="Floyo Fetch Outputs",
    description=("Downloads a Floyo run's outputs by id (saved under output/floyo/<run id>/) and returns "
                 "its images. Waits for the run to finish unless 'wait' is off."),
    inputs=(RUN_ID,
            In("wait", "BOOLEAN", optional=True, options={"default": True},
               tooltip="Wait for a run that is still going; off: fail at once if it has not finished"),
            In("timeout", "INT", optional=True, options={"default": 3600, "min": 1, "max": 7 * 24 * 3600},
               tooltip="Seconds of processing to wait for; this node never cancels the run itself"),
            In("size_policy", "COMBO", optional=True,
               options={"choices": SIZE_POLICIES, "default": SIZE_POLICIES[0]},
               tooltip="What to do when outputs have different sizes (never stretched)")),
    outputs=tuple(o for o in OUTPUTS if o.name != "run_id"),
    run=fetch, output_node=True, category=RUNS, check_run_id=queue_check_run_id, audio_player=True)
