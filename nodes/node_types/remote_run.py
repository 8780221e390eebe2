"""``FloyoRemoteRun``: send an embedded workflow or the current graph to Floyo, return its outputs.

The node is glue: it picks the workflow, applies overrides, and hands the rest to the core's
``start_run``/``RunHandle`` (create at most once, poll, cancel whatever it abandons). A user
Cancel ends the node as *interrupted*, not as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ...floyo_client import (
    DownloadLimits,
    Interrupted,
    Limits,
    OutputNode,
    Prompt,
    Run,
    RunHandle,
    RunMeta,
    WorkflowError,
    load_config,
    open_client,
    outage_limit_s,
    parse_embedded,
    partner_cost_usd,
    refuse_secrets,
    run_tracked,
    spent_text,
    tag,
)
from .. import comfy
from ..current_graph.contract import CURRENT_GRAPH, EMBEDDED, REMOTE_RUN, SOURCES
from ..current_graph.fanout_cap import admit
from ..current_graph.prompt_hook import queue_check, sealed_workflow
from ..decode.image_pixels import SIZE_POLICIES
from ..inputs.loader_files import upload_local_inputs
from ..run.active_runs import REGISTRY, ActiveRun
from ..run.collect import Collected, collect
from ..run.progress import announce, downloading, node_hooks
from ..run.reuse import REUSE, reuse_saved, reused_status
from ..run.run_result import FLOYO_RESULT, node_outputs
from .override_nodes import OVERRIDES, resolve
from .spec import Ctx, In, NodeSpec, Out, Shown

log = logging.getLogger(__name__)
OUTPUTS = (Out("images", "IMAGE", "Every image output, every frame of animations, as one batch"),
           Out("masks", "MASK", "1 where the image was transparent"),
           Out("run_id", "STRING", "The Floyo run id: Floyo Fetch Outputs gets its outputs again later"),
           Out("files", "STRING", "Saved output files, one path per line"),
           Out("video", "VIDEO", "The run's first video file (SaveVideo, VHS Video Combine); using it "
                                 "fails clearly when the run saved none"),
           Out("audio", "AUDIO", "The run's first audio file, decoded; using it fails clearly when the "
                                 "run saved none"),
           Out("result", FLOYO_RESULT, "The run id and every saved file with the remote output node "
                                       "that made it: Floyo Select Output splits it by node"))


def workflow_for(ctx: Ctx, source: str, text: str) -> Prompt:
    """The workflow to send. In current-graph mode only what the prompt hook sealed into ``text``
    for this prompt: never stale widget text (prompt_hook.py)."""
    if source == EMBEDDED:
        return parse_embedded(text)
    if source != CURRENT_GRAPH:
        raise WorkflowError(f"Unknown source {source!r}; use one of {', '.join(SOURCES)}.")
    return sealed_workflow(text)


async def run_guarded(ctx: Ctx, body: Callable[[ActiveRun], Awaitable[Any]]) -> Any:
    """Register the node as active for its lifetime and map a user stop to ComfyUI's interrupt."""
    active = REGISTRY.start(ctx.node_id, comfy.current_prompt_id())
    try:
        return await body(active)
    except Interrupted as e:
        outcome = e.outcome  # typed, fixed when raised; None when nothing needed cancelling
        announce(active, "cancelled", str(e), cancel=outcome.result.value if outcome else None)
        raise comfy.interrupt_exception() from None
    finally:
        REGISTRY.finish(active)


def limits_for(timeout: float | None) -> Limits:
    """The node's processing timeout (None: only the overall week-long deadline), the download
    caps from FLOYO_MAX_OUTPUT_MB, FLOYO_MAX_OUTPUTS and FLOYO_MAX_RUN_MB, and the outage limit
    from FLOYO_OUTAGE_LIMIT_MIN."""
    return Limits(timeout_s=None if timeout is None else float(timeout), download=DownloadLimits.from_env(),
                  outage_limit_s=outage_limit_s())


async def results(collected: Collected, run_id: str, nodes: dict[str, OutputNode], size_policy: str,
                  ) -> tuple[Shown, list[str]]:
    more, ui, warnings = await node_outputs(collected, run_id, nodes, size_policy)
    return Shown((collected.images, collected.masks, run_id, "\n".join(collected.paths), *more), ui), warnings


NOT_RECORDED = ("not recorded in the run journal (another program holds it locked): this run is not "
                "resumed after a crash nor reused; restart ComfyUI once that program lets go")


def with_warnings(text: str, warnings: list[str]) -> str:
    """The node's final status line, warnings included (they are in the log too)."""
    return "; ".join([text, *(f"warning: {w}" for w in warnings)])


async def reused(client: Any, journal: Any, final: Prompt, sent: dict[str, OutputNode], size_policy: str,
                 active: ActiveRun, hooks: Any) -> Shown | None:
    """The outputs of an identical earlier run, announced as reused; None when there is none."""
    found = await reuse_saved(client, journal, final, size_policy, hooks)
    if found is None:
        return None
    record, collected = found
    shown, warnings = await results(collected, record["run_id"], sent, size_policy)
    announce(active, "reused", with_warnings(reused_status(record), warnings), run_id=record["run_id"],
             warnings=warnings)
    return shown


def announce_saved(active: ActiveRun, shown: Shown, warnings: list[str], spent: dict[str, Any]) -> None:
    cost = spent_text(spent.get("flotime_ms"), spent.get("partner_cost_usd"))
    files, run_id = len(shown.values[3].splitlines()), shown.values[2]
    text = f"{files} output file(s) saved for {run_id}; spent {cost}"
    announce(active, "saved", with_warnings(text, warnings), warnings=warnings, **spent)


async def execute(ctx: Ctx, source: str, workflow: str, overrides: Any = None, run_name: str = "",
                  timeout: int = 3600, size_policy: str = SIZE_POLICIES[0], reuse: str = REUSE[0],
                  allow_secrets: bool = False) -> Shown:
    config = load_config(comfy.key_file())
    remote = workflow_for(ctx, source, workflow)
    journal = comfy.journal()

    spent: dict[str, Any] = {}
    sent: dict[str, OutputNode] = {}

    async def finish(handle: RunHandle, run: Run, active: ActiveRun) -> tuple[Shown, list[str]]:
        # the final cost, shown with "saved"
        spent.update(flotime_ms=run.flotime_ms, partner_cost_usd=partner_cost_usd(run.raw))
        collected = await collect(handle, run, size_policy, on_saved=lambda p: journal.saved(run.id, p),
                                  on_file=downloading(active))
        return await results(collected, run.id, sent, size_policy)

    async def body(active: ActiveRun) -> Shown:
        active.creates = True  # its run is ours to cancel at shutdown (shutdown.py), unlike a fetch's
        await admit(active.group, active.prompt_id, ctx.node_id)  # FLOYO_MAX_FANOUT, before any work
        hooks = node_hooks(active)
        meta = RunMeta(label=run_name or f"ComfyUI node {ctx.node_id}", prompt_id=active.prompt_id,
                       node_id=ctx.node_id)
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
                return shown
            shown, warnings = await run_tracked(
                client, final, journal=journal, meta=meta, hooks=hooks, limits=limits_for(timeout),
                finish=lambda h, r: finish(h, r, active),
                on_created=lambda h: setattr(active, "run_id", h.run_id))
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
                 "or downstream of it runs on Floyo. The API key comes from FLOYO_API_KEY or the Floyo "
                 "settings, never from a widget."),
    inputs=(
        In("source", "COMBO", options={"choices": SOURCES, "default": SOURCES[0]},
           tooltip="embedded: run the workflow pasted below; current graph: run this graph's other outputs"),
        In("workflow", "STRING", options={"multiline": True, "default": ""},
           tooltip="API-format workflow JSON (embedded mode); filled in automatically in current-graph mode"),
        In("overrides", OVERRIDES, optional=True,
           tooltip="Changes to remote inputs, from Floyo Override nodes"),
        In("run_name", "STRING", optional=True, options={"default": ""},
           tooltip="Name shown in Floyo's run history (a unique marker is appended)"),
        In("timeout", "INT", optional=True, options={"default": 3600, "min": 1, "max": 7 * 24 * 3600},
           tooltip="Seconds of processing before the run is cancelled; queued time is not counted"),
        In("size_policy", "COMBO", optional=True,
           options={"choices": SIZE_POLICIES, "default": SIZE_POLICIES[0]},
           tooltip="What to do when outputs have different sizes (never stretched)"),
        In("reuse", "COMBO", optional=True, options={"choices": REUSE, "default": REUSE[0]},
           tooltip="identical results: an identical workflow returns the saved outputs of its earlier run, "
                   "no FloTime spent; always run: pay for a new run every time"),
        In("allow_secrets", "BOOLEAN", optional=True, options={"default": False},
           tooltip="Send the workflow even if it holds what looks like an API key, token or password"),
    ),
    outputs=OUTPUTS, run=execute, output_node=True, check_workflow=queue_check, audio_player=True)
