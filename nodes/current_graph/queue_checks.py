"""Fail before paying: the checks a queued prompt passes before any Floyo node may run.

Run by the prompt hook (prompt_hook.py) on the /prompt body, before ComfyUI validates it: a
``FloyoRemoteRun`` without a key, with bad JSON or a UI-format workflow (embedded mode), an
override whose target or input the workflow lacks, or a credential in what would be sent (unless
``allow_secrets``) is refused there, so ComfyUI answers 400 with node errors on the Floyo node and
nothing reaches Floyo. Only constants are checked: a value that arrives through a link is known
at run time, where the node checks it again. Must not send anything or log a checked value.
"""

from __future__ import annotations

from typing import Any

from ...floyo_client import (
    ConfigError,
    Override,
    Prompt,
    WorkflowError,
    apply_overrides,
    is_link,
    load_config,
    parse_embedded,
    refuse_secrets,
)
from .. import comfy
from .contract import EMBEDDED, PAYING_NODES, is_override


def key_problem() -> str | None:
    """The missing-key message, or None when a key is configured."""
    try:
        load_config(comfy.key_file())
    except ConfigError as e:
        return str(e)
    return None


def constant_overrides(prompt: Prompt, link: Any) -> list[Override] | None:
    """The override chain ending at ``link``, first to last, with constant values (None where a
    value is linked or an image); None when a target or input name is itself linked."""
    chain: list[Override] = []
    seen: set[str] = set()
    while is_link(link) and link[0] in prompt and link[0] not in seen:
        seen.add(link[0])
        node = prompt[link[0]]
        if not is_override(node.get("class_type")):
            return None
        inputs = node.get("inputs", {})
        target, name, value = inputs.get("target"), inputs.get("input"), inputs.get("value")
        if not isinstance(target, str) or not isinstance(name, str):
            return None
        chain.append(Override(target, name.strip(), None if is_link(value) else value))
        link = inputs.get("overrides")
    return list(reversed(chain))


def check_workflow(prompt: Prompt, node_id: str, workflow: Prompt) -> Prompt:
    """``workflow`` with the node's constant overrides applied, refused (WorkflowError) when an
    override cannot apply or, unless ``allow_secrets``, it holds a credential."""
    inputs = prompt[node_id].get("inputs", {})
    overrides = constant_overrides(prompt, inputs.get("overrides"))
    resolved = apply_overrides(workflow, overrides) if overrides else workflow
    if inputs.get("allow_secrets") is not True:
        refuse_secrets(resolved if overrides is not None else workflow)
    return resolved


def embedded_problem(prompt: Prompt, node_id: str) -> str | None:
    """Why an embedded-mode node must not run, or None."""
    inputs = prompt[node_id].get("inputs", {})
    text = inputs.get("workflow")
    try:
        if not is_link(text):
            check_workflow(prompt, node_id, parse_embedded(text if isinstance(text, str) else ""))
    except WorkflowError as e:
        return str(e)
    return key_problem()


def embedded_nodes(prompt: Prompt) -> list[str]:
    return [i for i, n in prompt.items() if isinstance(n, dict) and n.get("class_type") in PAYING_NODES
            and n.get("inputs", {}).get("source", EMBEDDED) == EMBEDDED]
