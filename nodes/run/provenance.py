"""Outputs that say where they came from, on ComfyUI's side: the UI workflow a run came from (kept
in the journal with what was sent), and the run id and workflow hash put where ComfyUI's own save
nodes write PNG metadata.

ComfyUI hands every node of a prompt the same ``extra_pnginfo`` dict and its SaveImage writes each
of its keys as a PNG text chunk, beside ``prompt`` and ``workflow``. So a Floyo node adds its run
to that dict once the run's files are saved (``floyo_client/provenance.py``'s ``stamp``), and the
save nodes that run after it (those downstream of it) carry it. A prompt queued without one (an
API client that sends no ``extra_data``) gets an empty dict from the prompt hook, so they still
do. Never the API key; never rewrites a file Floyo sent.
"""

from __future__ import annotations

from typing import Any

from ...floyo_client import Prompt, png_entry, stamp, workflow_hash
from ..current_graph.contract import RUN_NODES


def ui_workflow(extra_pnginfo: Any) -> dict[str, Any] | None:
    """The UI workflow the prompt was queued from (the frontend sends it), or None."""
    workflow = extra_pnginfo.get("workflow") if isinstance(extra_pnginfo, dict) else None
    return workflow if isinstance(workflow, dict) else None


def mark_outputs(extra_pnginfo: Any, run_id: str, sent: Prompt, node_id: str) -> None:
    """Save nodes that run after this one write ``run_id`` and the sent workflow's hash (the
    journal's ``resolved_hash``) into their PNG metadata."""
    stamp(extra_pnginfo, png_entry(run_id, workflow_hash(sent), node_id))


def mark_fetched(extra_pnginfo: Any, run_id: str, record: Any, node_id: str) -> None:
    """The same for a run fetched by id: its hash as the journal has it (None for a run made
    elsewhere, whose workflow this ComfyUI never saw)."""
    stamp(extra_pnginfo, png_entry(run_id, getattr(record, "resolved_hash", None), node_id))


def ensure_slot(json_data: dict[str, Any]) -> None:
    """On the prompt hook: a prompt with a run node and no ``extra_pnginfo`` gets an empty one,
    the dict the node's mark reaches the save nodes through."""
    prompt, extra = json_data.get("prompt"), json_data.get("extra_data")
    if not isinstance(prompt, dict) or not any(isinstance(n, dict) and n.get("class_type") in RUN_NODES
                                               for n in prompt.values()):
        return
    if not isinstance(extra, dict):
        extra = json_data["extra_data"] = {}
    if not isinstance(extra.get("extra_pnginfo"), dict):
        extra["extra_pnginfo"] = {}
