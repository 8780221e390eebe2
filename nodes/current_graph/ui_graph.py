"""Current-graph mode with node types only the remote side has (glue for floyo_client/ui_nodes.py).

Called from the prompt hook before the split: nodes the frontend sent without a ``class_type``
(their type is not installed here) are built from the UI workflow in the /prompt body, and a
built node with no consumer counts as a remote output node (a pack's video saver, say). A node
that cannot be built unambiguously, or that would have to run here, refuses the prompt with a
Floyo error. Must not send anything, and must not guess a node it cannot build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...floyo_client import (
    WAYS_OUT,
    Prompt,
    WorkflowError,
    ancestors,
    build_missing,
    descendants,
    uninstalled_sinks,
)
from .. import comfy

log = logging.getLogger(__name__)


def installed(class_type: str) -> bool:
    try:
        return comfy.node_class(class_type) is not None
    except (ImportError, AttributeError):  # no ComfyUI to ask (the pack's unit tests): nothing to build
        return True


def complete(body: dict[str, Any], prompt: Prompt, floyo_id: str) -> Prompt:
    """``prompt`` with its uninstalled nodes built from the UI data; WorkflowError when not possible."""
    built_prompt, built = build_missing(prompt, body)
    if not built:
        return prompt
    local = ancestors(built_prompt, descendants(built_prompt, floyo_id))
    here = sorted({b.class_type for b in built if b.node_id in local})
    if here:
        raise WorkflowError(f"{', '.join(here)} would run in this ComfyUI (the Floyo node needs it, or it "
                            "comes after the Floyo node), but it is not installed here. " + WAYS_OUT)
    log.info("Floyo: built %d node(s) not installed here from the UI workflow: %s", len(built),
             ", ".join(f"{b.node_id} ({b.class_type})" for b in built))
    return built_prompt


def is_output(prompt: Prompt, output_node: Callable[[str], bool]) -> Callable[[str], bool]:
    """ComfyUI's output-node test, plus uninstalled types that no node of ``prompt`` consumes."""
    sinks = uninstalled_sinks(prompt, lambda class_type: output_node(class_type) or installed(class_type))
    return lambda class_type: class_type in sinks or output_node(class_type)


def not_installed(workflow: Prompt) -> list[str]:
    """Preflight's list: the sent nodes whose type this ComfyUI lacks ("id (type)")."""
    return [f"{i} ({n['class_type']})" for i, n in workflow.items() if not installed(n["class_type"])]
