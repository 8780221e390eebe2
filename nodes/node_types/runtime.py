"""What the node families share: the Remote Run inputs and outputs, picking the workflow to
send, a node's lifetime in the registry, its limits and its final status line.

Every helper more than one node module needs lives here, so node modules never import each
other (tests/test_boundaries.py enforces it); the resume thread takes its limits from here too.
Must not define a node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ...floyo_client import (
    DownloadLimits,
    Interrupted,
    Limits,
    Prompt,
    WorkflowError,
    outage_limit_s,
    parse_embedded,
)
from .. import comfy
from ..current_graph.contract import CURRENT_GRAPH, EMBEDDED, FLOYO_WORKFLOW, SOURCES
from ..current_graph.hosted import hosted_graph
from ..current_graph.prompt_hook import sealed_workflow
from ..decode.image_pixels import SIZE_POLICIES
from ..run.active_runs import REGISTRY, ActiveRun
from ..run.progress import announce
from ..run.reuse import REUSE
from ..run.run_result import FLOYO_RESULT
from .spec import Ctx, In, Out

OVERRIDES = "FLOYO_OVERRIDES"  # the socket type of an override chain
SEED_MIN, SEED_MAX = -(2**63), 0xFFFFFFFFFFFFFFFF  # a seed's range, as ComfyUI's own seed widgets

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

RUN_INPUTS = (  # FloyoRemoteRun's, and FloyoPreflight's: it shows what the same inputs would send
    In("source", "COMBO", options={"choices": SOURCES, "default": SOURCES[0]},
       tooltip="embedded: run the workflow pasted below; current graph: run this graph's other "
               "outputs; floyo workflow: run the Floyo workflow named in floyo_workflow"),
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
    In("floyo_workflow", "STRING", optional=True, options={"default": ""},
       tooltip="floyo workflow: the id or team name of a workflow kept on Floyo (pick one in the "
               "Floyo sidebar); fetched when the prompt is queued"),
    In("max_flotime_s", "INT", optional=True, options={"default": 0, "min": 0, "max": 7 * 24 * 3600},
       tooltip="Cancel the run on Floyo once it has used this many seconds of FloTime; 0: no cap"),
)


def workflow_for(ctx: Ctx, source: str, text: str) -> Prompt:
    """The workflow to send. In current-graph mode only what the prompt hook sealed into ``text``
    for this prompt: never stale widget text (prompt_hook.py)."""
    if source == EMBEDDED:
        return parse_embedded(text)
    if source == FLOYO_WORKFLOW:  # fetched and sealed by the prompt hook (current_graph/hosted.py)
        return hosted_graph(text)
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


def limits_for(timeout: float | None, max_flotime_s: float = 0) -> Limits:
    """The node's processing timeout (None: only the overall week-long deadline), its FloTime cap
    (0: none), the download caps from FLOYO_MAX_OUTPUT_MB, FLOYO_MAX_OUTPUTS and FLOYO_MAX_RUN_MB,
    and the outage limit from FLOYO_OUTAGE_LIMIT_MIN."""
    return Limits(timeout_s=None if timeout is None else float(timeout), download=DownloadLimits.from_env(),
                  outage_limit_s=outage_limit_s(), max_flotime_s=float(max_flotime_s) or None)


def with_warnings(text: str, warnings: list[str]) -> str:
    """The node's final status line, warnings included (they are in the log too)."""
    return "; ".join([text, *(f"warning: {w}" for w in warnings)])
