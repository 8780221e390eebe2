"""``FloyoSelectOutput``: the outputs one remote output node made, picked from a run's ``result``.

Works only on files already saved (``RunResult``), so any number of selectors split one run
without paying again. The node is found by title or id exactly as the override nodes find
theirs (``floyo_client.workflow.find_node``), among the run's remote output nodes only.
"""

from __future__ import annotations

import logging
from typing import Any

from ...floyo_client import FloyoError, WorkflowError, describe, find_node
from ..current_graph.contract import SELECT_OUTPUT
from ..decode.image_pixels import empty_batch
from ..run.collect import collect_saved
from ..run.run_result import FLOYO_RESULT, RunResult, SavedFile, media
from .spec import CATEGORY, Ctx, In, NodeSpec, Out

log = logging.getLogger(__name__)


def _pick(result: RunResult, node: str) -> tuple[str, list[SavedFile]]:
    """The chosen node's id and files; a clear error when it can't be told or made none."""
    if not result.nodes:
        raise WorkflowError(f"Floyo run {result.run_id}'s files carry no output-node tags, so they can't be "
                            "split by node (a run made before tagging, or by another client). Use the "
                            "'images', 'video', 'audio' and 'files' outputs of the run instead.")
    shaped = {i: {"class_type": n.class_type, "_meta": {"title": n.title}} for i, n in result.nodes.items()}
    node_id = find_node(shaped, node or "")
    files = [f for f in result.files if f.node_id == node_id]
    if files:
        return node_id, files
    chosen = result.nodes[node_id]
    if not chosen.tagged and any(f.node_id is None for f in result.files):
        raise WorkflowError(f"Remote {describe(chosen)} can't be tagged (no filename prefix, or one fed by "
                            "a link), and the run has several such nodes, so their files can't be told "
                            "apart. Use a Save node with a typed prefix there, or the run's own outputs.")
    why = ("the remote ComfyUI skipped it (its inputs failed validation, e.g. a missing model) or it failed"
           if chosen.tagged else "Floyo may not return preview files; use a Save node to be sure")
    raise FloyoError(f"Remote {describe(chosen)} made no files in Floyo run {result.run_id}: {why}. Check "
                     "the run in Floyo's run history.", run_id=result.run_id)


async def select(ctx: Ctx, result: Any, node: str) -> tuple:
    if not isinstance(result, RunResult):
        raise WorkflowError("Connect 'result' to the 'result' output of Floyo Remote Run or Floyo Fetch "
                            "Outputs.")
    node_id, files = _pick(result, node)
    paths = [f.path for f in files]
    images = [f for f in files if f.kind == "image"]
    if images:
        decoded = await collect_saved([f.as_output() for f in images], [f.path for f in images],
                                      result.size_policy)
        batch, masks, warnings = decoded.images, decoded.masks, decoded.warnings
    else:
        (batch, masks), warnings = empty_batch(), []
    video, audio, found = await media(result.run_id, files, f" (remote node {node_id})")
    for warning in [*warnings, *found]:
        log.warning("Floyo run %s, node %s: %s", result.run_id, node_id, warning)
    return (batch, masks, video, audio, "\n".join(paths))


SPEC = NodeSpec(
    node_id=SELECT_OUTPUT, display_name="Floyo Select Output",
    description=("The outputs of one remote output node (found by its title or id) from a Floyo run's "
                 "'result': several of these split one run's outputs by node, without running it again."),
    inputs=(In("result", FLOYO_RESULT,
               tooltip="The 'result' output of Floyo Remote Run or Floyo Fetch Outputs"),
            In("node", "STRING", options={"default": ""},
               tooltip="Title (as shown on the remote node) or id of a remote output node, e.g. SaveImage")),
    outputs=(Out("images", "IMAGE", "Every image this node saved, every frame of animations, as one batch"),
             Out("masks", "MASK", "1 where the image was transparent"),
             Out("video", "VIDEO", "This node's first video file; using it fails clearly when it saved none"),
             Out("audio", "AUDIO", "This node's first audio file, decoded; using it fails clearly when it "
                                   "saved none"),
             Out("files", "STRING", "This node's saved files, one path per line")),
    run=select, category=CATEGORY)
