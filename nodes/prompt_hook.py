"""Current-graph offload at prompt submission (ComfyUI's on-prompt hook).

Splits the queued prompt around the ``FloyoRemoteRun`` node in 'current graph' mode: the remote
part is written into the node's ``workflow`` input and removed from the local prompt, so ComfyUI
never validates or runs what only Floyo needs (a checkpoint that exists only remotely, say).
ComfyUI swallows exceptions from this hook, so a graph we cannot split is left as it is and the
node reports the same error when it runs. Must not send anything to Floyo.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from ..floyo_client.workflow import Partition, Prompt, WorkflowError, partition
from . import comfy

log = logging.getLogger(__name__)
NODE_ID = "FloyoRemoteRun"
CURRENT_GRAPH = "current graph"


def is_floyo(class_type: str) -> bool:
    return class_type.startswith("Floyo")


def current_graph_nodes(prompt: Prompt) -> list[str]:
    return [i for i, n in prompt.items() if isinstance(n, dict) and n.get("class_type") == NODE_ID
            and n.get("inputs", {}).get("source") == CURRENT_GRAPH]


def split_for_node(prompt: Prompt, node_id: str) -> Partition:
    """The partition for ``node_id``; refuses a graph with two current-graph Floyo nodes,
    which would send (and pay for) the same remote part twice."""
    nodes = current_graph_nodes(prompt)
    if len(nodes) > 1:
        raise WorkflowError(f"Only one FloyoRemoteRun per graph can use 'current graph' (found nodes "
                            f"{', '.join(nodes)}). Switch the others to 'embedded'.")
    return partition(prompt, node_id, comfy.is_output_node, is_floyo)


def rewrite(json_data: dict[str, Any]) -> dict[str, Any]:
    """Return the /prompt body with the remote part moved into the Floyo node."""
    prompt = json_data.get("prompt")
    if not isinstance(prompt, dict):
        return json_data
    nodes = current_graph_nodes(prompt)
    if not nodes:
        return json_data
    try:
        part = split_for_node(prompt, nodes[0])
    except WorkflowError as e:
        log.warning("Floyo: current graph left unsplit: %s", e)
        return json_data
    local = dict(part.local)
    floyo = copy.deepcopy(local[nodes[0]])
    floyo["inputs"]["workflow"] = json.dumps(part.remote, sort_keys=True, separators=(",", ":"))
    local[nodes[0]] = floyo
    targets = json_data.get("partial_execution_targets")
    if isinstance(targets, list):
        json_data["partial_execution_targets"] = [t for t in targets if t in local] or [nodes[0]]
    json_data["prompt"] = local
    log.info("Floyo: node %s sends %d node(s) to Floyo; %d stay local", nodes[0], len(part.remote),
             len(local))
    return json_data
