"""API-format workflow helpers: parse embedded text, split the current graph, apply overrides, and
``workflow_hash``, the identity under which an identical resolved workflow's run is reused.

Pure functions over plain dicts; the caller says which class types are output nodes, so this
module never asks ComfyUI anything. Must not send, upload or log workflow contents.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Prompt = dict[str, dict[str, Any]]


class WorkflowError(ValueError):
    """A workflow the pack cannot send, with a message that says what to do."""


EXPORT_HINT = ("In ComfyUI use Workflow > Export (API) and paste that file's contents; in Floyo use "
               "\"Copy Floyo API Code\" > \"Workflow JSON only\".")


def parse_embedded(text: str) -> Prompt:
    """Parse and check API-format JSON text; raise WorkflowError naming the problem."""
    if not text or not text.strip():
        raise WorkflowError("The workflow text is empty. Paste an API-format workflow, or switch "
                            "source to 'current graph'. " + EXPORT_HINT)
    try:
        data = json.loads(text)
    except ValueError as e:
        raise WorkflowError(f"The workflow text is not valid JSON ({e}). " + EXPORT_HINT) from None
    return check_api_format(data)


def check_api_format(data: object) -> Prompt:
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        raise WorkflowError("This is a UI-format workflow (it has 'nodes' and 'links'), but Floyo needs "
                            "the API format. " + EXPORT_HINT)
    if not isinstance(data, dict) or not data:
        raise WorkflowError("The workflow must be a JSON object of nodes. " + EXPORT_HINT)
    for node_id, node in data.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise WorkflowError(f"Node {node_id!r} has no class_type, so this is not an API-format "
                                "workflow. " + EXPORT_HINT)
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowError(f"Node {node_id!r} has inputs that are not an object.")
    return data


def is_link(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def _sources(node: dict[str, Any]) -> Iterable[str]:
    return (v[0] for v in node.get("inputs", {}).values() if is_link(v))


def ancestors(prompt: Prompt, roots: Iterable[str]) -> set[str]:
    """The roots and everything they read from."""
    seen: set[str] = set()
    stack = [r for r in roots if r in prompt]
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(s for s in _sources(prompt[node_id]) if s in prompt and s not in seen)
    return seen


def descendants(prompt: Prompt, root: str) -> set[str]:
    """The root and everything that reads from it, directly or not."""
    consumers: dict[str, set[str]] = {}
    for node_id, node in prompt.items():
        for src in _sources(node):
            consumers.setdefault(src, set()).add(node_id)
    seen, stack = set(), [root]
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(consumers.get(node_id, ()))
    return seen


@dataclass(frozen=True)
class Partition:
    remote: Prompt  # sent to Floyo
    local: Prompt  # what the local ComfyUI validates and runs

    @property
    def shared(self) -> list[str]:
        """Nodes both parts need: they run on Floyo *and* here."""
        return sorted(set(self.remote) & set(self.local), key=_node_order)


def _computes(node: dict[str, Any]) -> bool:
    """A node that works on other nodes' results (a sampler, a decoder) or loads a model: running
    it here as well as on Floyo would run the remote model locally. Sources such as LoadImage or a
    primitive are cheap to read twice."""
    return any(True for _ in _sources(node)) or "Loader" in node["class_type"]


def refuse_local_reruns(prompt: Prompt, part: Partition, floyo_id: str) -> None:
    """WorkflowError when the local branch of ``floyo_id`` needs a node that also feeds the
    remote part and would compute (or load a model) here too."""
    reruns = [i for i in part.shared if _computes(prompt[i])]
    if reruns:
        listing = ", ".join(f"{i} ({prompt[i]['class_type']})" for i in reruns)
        raise WorkflowError(
            f"Nodes {listing} feed both the part that runs on Floyo and FloyoRemoteRun {floyo_id}'s own "
            "branch, so they would also run on this machine. Nothing was queued. Give the Floyo node's "
            "inputs their own nodes (or use Floyo's outputs instead), or switch to 'embedded'.")


def partition(prompt: Prompt, floyo_id: str, is_output: Callable[[str], bool],
              is_floyo: Callable[[str], bool]) -> Partition:
    """Split a prompt around one Floyo node (docs/architecture.md, "Current graph").

    local = the node, everything downstream of it and every ancestor of those; remote = every
    other output node that does not depend on a Floyo node, plus its ancestors. A node needed by
    both (a shared loader) is in both.
    """
    local_ids = ancestors(prompt, descendants(prompt, floyo_id))
    after_floyo: set[str] = set()  # outputs fed by any Floyo node belong to that node's local part
    for i, n in prompt.items():
        if is_floyo(n["class_type"]) and i not in after_floyo:
            after_floyo |= descendants(prompt, i)
    roots = [i for i, n in prompt.items()
             if i not in local_ids and i not in after_floyo and is_output(n["class_type"])]
    if not roots:
        raise WorkflowError("The current graph has no output node (such as SaveImage or PreviewImage) "
                            "outside the Floyo node's own branch, so there is nothing to run remotely. "
                            "Add a SaveImage after the part that should run on Floyo.")
    remote_ids = ancestors(prompt, roots)
    remote = {i: _clean(prompt[i]) for i in sorted(remote_ids, key=_node_order)}
    local = {i: n for i, n in prompt.items() if i in local_ids or i not in remote_ids}
    return Partition(remote=remote, local=local)


def _node_order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): twice as fast as copy.deepcopy here."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def _clean(node: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with only what Floyo needs (the executor writes extra keys into PROMPT)."""
    return {k: _json_copy(node[k]) for k in ("class_type", "inputs", "_meta") if k in node}


@dataclass(frozen=True)
class Override:
    """Set ``input`` of the remote node whose title (``_meta.title``) or id is ``target``."""

    target: str
    input: str
    value: Any


def _title(node: dict[str, Any]) -> str | None:
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) else None


def find_node(workflow: Prompt, target: str) -> str:
    """The id of the node titled or numbered ``target``; WorkflowError lists the valid ones."""
    target = target.strip()
    if target in workflow:
        return target
    matches = [i for i, n in workflow.items() if _title(n) == target]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise WorkflowError(f"Several remote nodes are titled {target!r} (ids {', '.join(matches)}): "
                            "use the node id, or give the nodes distinct titles.")
    titles = sorted({t for n in workflow.values() if (t := _title(n))})
    listing = ", ".join(f"{i} ({n['class_type']})" for i, n in workflow.items())
    raise WorkflowError(f"No remote node has the title or id {target!r}. Titles: "
                        f"{', '.join(map(repr, titles)) or 'none'}. Ids: {listing}.")


def apply_overrides(workflow: Prompt, overrides: Iterable[Override]) -> Prompt:
    """A copy of ``workflow`` with every override applied, in order."""
    result = copy.deepcopy(workflow)
    for override in overrides:
        node_id = find_node(result, override.target)
        inputs = result[node_id].setdefault("inputs", {})
        if override.input not in inputs:
            names = ", ".join(sorted(inputs)) or "none"
            raise WorkflowError(f"Remote node {override.target!r} ({result[node_id]['class_type']}) has no "
                                f"input {override.input!r}. Its inputs: {names}.")
        inputs[override.input] = override.value
    return result


def workflow_hash(workflow: Prompt) -> str:
    """A stable identity of a resolved workflow: the same nodes and values give the same hash,
    whatever the key order."""
    text = json.dumps(workflow, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
