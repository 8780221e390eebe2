"""``FloyoRemoteRun``: send an embedded workflow or the current graph to Floyo, return its outputs.

The node is glue: it picks the workflow, applies overrides, and hands the rest to the core's
``start_run``/``RunHandle`` (create at most once, poll, cancel whatever it abandons). A user
Cancel ends the node as *interrupted*, not as an error.
"""

from __future__ import annotations

import logging
from typing import Any

from ...floyo_client import (
    OutputNode,
    Prompt,
    Run,
    RunHandle,
    RunMeta,
    journal_saved,
    load_config,
    open_client,
    partner_cost_usd,
    refuse_secrets,
    run_tracked,
    spent_text,
    tag,
)
from .. import comfy
from ..current_graph.contract import REMOTE_RUN
from ..current_graph.prompt_hook import queue_check
from ..decode.image_pixels import SIZE_POLICIES
from ..inputs.loader_files import upload_local_inputs
from ..inputs.override_values import resolve
from ..run.active_runs import ActiveRun
from ..run.collect import Collected, collect
from ..run.estimate import check_spend, prepare
from ..run.fanout import admit
from ..run.progress import announce, downloading, node_hooks
from ..run.provenance import mark_outputs, ui_workflow
from ..run.reuse import REUSE, reuse_saved, reused_status
from ..run.run_result import node_outputs
from .runtime import OUTPUTS, RUN_INPUTS, limits_for, run_guarded, with_warnings, workflow_for
from .spec import Ctx, NodeSpec, Shown

log = logging.getLogger(__name__)


async def results(collected: Collected, run_id: str, nodes: dict[str, OutputNode], size_policy: str,
                  ) -> tuple[Shown, list[str]]:
    more, ui, warnings = await node_outputs(collected, run_id, nodes, size_policy)
    return Shown((collected.images, collected.masks, run_id, "\n".join(collected.paths), *more), ui), warnings


NOT_RECORDED = ("not recorded in the run journal (another program holds it locked): this run is not "
                "resumed after a crash nor reused; restart ComfyUI once that program lets go")


async def reused(client: Any, journal: Any, final: Prompt, sent: dict[str, OutputNode], size_policy: str,
                 active: ActiveRun, hooks: Any) -> Shown | None:
    """The outputs of an identical earlier run, announced as reused; None when there is none."""
    found = await reuse_saved(client, journal, final, size_policy, hooks)
    if found is None:
        return None
    record, collected = found
    shown, warnings = await results(collected, record.run_id, sent, size_policy)
    announce(active, "reused", with_warnings(reused_status(record), warnings), run_id=record.run_id,
             warnings=warnings)
    return shown


def announce_saved(active: ActiveRun, shown: Shown, warnings: list[str], spent: dict[str, Any]) -> None:
    cost = spent_text(spent.get("flotime_ms"), spent.get("partner_cost_usd"))
    files, run_id = len(shown.values[3].splitlines()), shown.values[2]
    text = f"{files} output file(s) saved for {run_id}; spent {cost}"
    announce(active, "saved", with_warnings(text, warnings), warnings=warnings, **spent)


async def execute(ctx: Ctx, source: str, workflow: str, overrides: Any = None, run_name: str = "",
                  timeout: int = 3600, size_policy: str = SIZE_POLICIES[0], reuse: str = REUSE[0],
                  allow_secrets: bool = False, floyo_workflow: str = "",
                  max_flotime_s: int = 0) -> Shown:
    # floyo_workflow is read at queue time: the prompt hook seals its graph into ``workflow``
    config = load_config(comfy.key_file())
    remote = workflow_for(ctx, source, workflow)
    journal = comfy.journal()

    spent: dict[str, Any] = {}
    sent: dict[str, OutputNode] = {}

    async def finish(handle: RunHandle, run: Run, active: ActiveRun) -> tuple[Shown, list[str]]:
        # the final cost, shown with "saved"
        spent.update(flotime_ms=run.flotime_ms, partner_cost_usd=partner_cost_usd(run.raw))
        collected = await collect(handle, run, size_policy, on_saved=journal_saved(journal, run.id),
                                  on_file=downloading(active))
        return await results(collected, run.id, sent, size_policy)

    async def body(active: ActiveRun) -> Shown:
        active.creates = True  # its run is ours to cancel at shutdown (shutdown.py), unlike a fetch's
        await admit(active.group, active.prompt_id, ctx.node_id)  # FLOYO_MAX_FANOUT, before any work
        hooks = node_hooks(active)
        meta = RunMeta(label=run_name or f"ComfyUI node {ctx.node_id}", prompt_id=active.prompt_id,
                       node_id=ctx.node_id, shape=prepare(active, remote, overrides, config),
                       ui_workflow=ui_workflow(ctx.extra_pnginfo))
        check_spend(active, config)  # budgets and balance, the whole list counted, before any upload
        async with open_client(config) as client:
            final = await resolve(client, remote, overrides, hooks.should_stop, journal)
            final = await upload_local_inputs(client, final, hooks.should_stop, journal)
            if not allow_secrets:
                refuse_secrets(final)
            # tagged after overrides and before the reuse hash: the same workflow is always tagged
            # the same way, and a reused run's files carry the tags Floyo Select Output needs
            final, tagged = tag(final)
            sent.update(tagged)
            if reuse != REUSE[1] and (shown := await reused(client, journal, final, sent, size_policy,
                                                            active, hooks)) is not None:
                mark_outputs(ctx.extra_pnginfo, shown.values[2], final, ctx.node_id)
                return shown
            limits = limits_for(timeout, max_flotime_s)
            shown, warnings = await run_tracked(
                client, final, journal=journal, meta=meta, hooks=hooks, limits=limits,
                finish=lambda h, r: finish(h, r, active),
                on_created=lambda h: setattr(active, "run_id", h.run_id))
        mark_outputs(ctx.extra_pnginfo, shown.values[2], final, ctx.node_id)
        if not journal.recording:  # said once in the log at start; on every run's status line too
            warnings = [*warnings, NOT_RECORDED]
        announce_saved(active, shown, warnings, spent)
        return shown

    return await run_guarded(ctx, body)


SPEC = NodeSpec(
    node_id=REMOTE_RUN, display_name="Floyo Remote Run",
    description=("Runs a workflow on Floyo's cloud GPUs and returns its images; each run spends FloTime "
                 "(an identical earlier run is reused for free). 'embedded': paste an "
                 "API-format workflow. 'current graph': everything in this graph that is not this node "
                 "or downstream of it runs on Floyo. 'floyo workflow': a workflow kept on Floyo, by "
                 "id or team name, fetched when the prompt is queued. The API key comes from "
                 "FLOYO_API_KEY or the Floyo settings, never from a widget."),
    inputs=RUN_INPUTS,
    outputs=OUTPUTS, run=execute, output_node=True, check_workflow=queue_check, audio_player=True)
