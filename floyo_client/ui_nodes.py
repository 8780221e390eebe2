"""API-format nodes built from the UI workflow, for node types this ComfyUI does not have.

The frontend cannot give a node it does not know a ``class_type``: in the /prompt body such a node
has only its resolved links (and junk ``UNKNOWN`` keys for its widget values). The same body
carries the UI workflow (``extra_data.extra_pnginfo.workflow``) with the node's type and widget
values in order, and the widget input names the loaded workflow had (on the prompt entry, from
the pack's frontend, or in the UI node's inputs). Where those determine the API node
unambiguously, this builds it: ``class_type`` is the UI type, widget values are mapped by name,
control-after-generate values are skipped. Anything else is reported as ambiguous, never guessed.

Pure functions over plain dicts: never asks ComfyUI which types exist (the caller says), never
sends or logs workflow contents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .workflow import Prompt, WorkflowError, is_link

CONTROL_WORDS = frozenset({"fixed", "increment", "decrement", "randomize"})  # control after generate
PLACEHOLDER = "UNKNOWN"  # the input name the frontend gives a missing node's widget values
WIDGET_NAMES = "floyo_widget_inputs"  # set on such a node's prompt entry by web/floyo.js
WAYS_OUT = ("Either install these nodes in this ComfyUI (then they are sent like any other node), or "
            "switch the Floyo node to 'embedded' and paste the API workflow exported from Floyo "
            "(\"Copy Floyo API Code\" > \"Workflow JSON only\"). Nothing was queued.")


class Ambiguous(Exception):
    """A node whose UI data does not determine its API inputs; the message says why."""


@dataclass(frozen=True)
class Built:
    """A node built from UI data: its prompt id and type."""

    node_id: str
    class_type: str


def without_class_type(prompt: Prompt) -> list[str]:
    """The ids of prompt nodes the frontend could not give a class_type."""
    return [i for i, n in prompt.items()
            if not isinstance(n, dict) or not isinstance(n.get("class_type"), str)]


def ui_workflow(body: dict[str, Any]) -> dict[str, Any] | None:
    """The UI workflow the frontend sent with the prompt, if any."""
    extra = body.get("extra_data")
    info = extra.get("extra_pnginfo") if isinstance(extra, dict) else None
    workflow = info.get("workflow") if isinstance(info, dict) else None
    return workflow if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list) else None


def _subgraphs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    definitions = workflow.get("definitions") if isinstance(workflow.get("definitions"), dict) else {}
    graphs = definitions.get("subgraphs") if isinstance(definitions.get("subgraphs"), list) else []
    return {g["id"]: g for g in graphs if isinstance(g, dict) and isinstance(g.get("id"), str)}


def find_ui_node(workflow: dict[str, Any], execution_id: str) -> dict[str, Any] | None:
    """The UI node for a prompt id: ``"12"`` at the top, ``"5:12"`` node 12 inside subgraph node 5."""
    subgraphs, nodes = _subgraphs(workflow), workflow.get("nodes") or []
    found = None
    for depth, local_id in enumerate(execution_id.split(":")):
        if depth:  # the previous step was a subgraph instance: go into its definition
            graph = subgraphs.get(found.get("type")) if found else None
            nodes = graph.get("nodes") or [] if graph else []
        found = next((n for n in nodes if isinstance(n, dict) and str(n.get("id")) == local_id), None)
        if found is None:
            return None
    return found


def _widget_names(api_node: dict[str, Any], ui_node: dict[str, Any]) -> list[str]:
    """Every widget input's name, in order. The saved workflow the frontend sends names only the
    linked ones (1.32.9 drops unlinked widget slots when it serializes for a prompt), so the pack's
    frontend adds the names the loaded node still has as ``floyo_widget_inputs``."""
    names = api_node.get(WIDGET_NAMES)
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return list(names)
    found = []
    for slot in ui_node.get("inputs") or ():
        widget = slot.get("widget") if isinstance(slot, dict) else None
        if isinstance(widget, dict) and isinstance(widget.get("name"), str):
            found.append(widget["name"])
    return found


def _align(names: list[str], values: list[Any]) -> dict[str, Any]:
    """Widget values by name; the only values allowed beyond the named widgets are
    control-after-generate words right after a number (a seed's "randomize")."""
    extra = len(values) - len(names)
    if extra < 0:
        raise Ambiguous(f"{len(values)} widget value(s) for {len(names)} named widget input(s)")
    mapped, i = {}, 0
    for name in names:
        mapped[name] = values[i]
        i += 1
        number = isinstance(values[i - 1], (int, float)) and not isinstance(values[i - 1], bool)
        if extra and number and i < len(values) and values[i] in CONTROL_WORDS:
            i, extra = i + 1, extra - 1
    if i != len(values):
        raise Ambiguous(f"{len(values) - i} widget value(s) with no input name "
                        f"(named: {', '.join(names) or 'none'})")
    return mapped


def _widget_values(ui_node: dict[str, Any], names: list[str]) -> dict[str, Any]:
    values = ui_node.get("widgets_values")
    if values is None:
        values = []
    if isinstance(values, dict):  # some packs save {name: value}; other keys are UI state
        missing = [n for n in names if n not in values]
        unnamed = [k for k, v in values.items() if k not in names and not isinstance(v, dict)]
        if missing or unnamed:
            raise Ambiguous(f"saved widget values {sorted(values)} do not match the named inputs {names}")
        return {n: values[n] for n in names}
    if not isinstance(values, list):
        raise Ambiguous("its widget values are not a list")
    return _align(names, values)


def build_node(api_node: dict[str, Any], ui_node: dict[str, Any]) -> dict[str, Any]:
    """The API-format node for ``ui_node``, whose links the frontend resolved into ``api_node``."""
    class_type = ui_node.get("type")
    if not isinstance(class_type, str) or not class_type:
        raise Ambiguous("the UI workflow gives it no type")
    names = _widget_names(api_node, ui_node)
    values = _widget_values(ui_node, names)
    sent = api_node.get("inputs") if isinstance(api_node.get("inputs"), dict) else {}
    inputs = {k: v for k, v in sent.items() if is_link(v) and k != PLACEHOLDER}
    for name in names:
        if name not in inputs:  # a linked widget takes the link's value, as the frontend resolved it
            inputs[name] = values[name]
    meta = {"title": ui_node["title"]} if isinstance(ui_node.get("title"), str) else {"title": class_type}
    return {"class_type": class_type, "inputs": inputs, "_meta": meta}


def _refusal(problems: list[tuple[str, str, str]]) -> WorkflowError:
    types = sorted({t for _, t, _ in problems})
    details = "; ".join(f"node {i} ({t}): {why}" for i, t, why in problems)
    return WorkflowError(f"Floyo can't send {', '.join(types)}: not installed in this ComfyUI, and the "
                         f"saved workflow does not say which value goes to which input ({details}). "
                         + WAYS_OUT)


def build_missing(prompt: Prompt, body: dict[str, Any]) -> tuple[Prompt, list[Built]]:
    """``prompt`` with every node lacking a class_type built from the UI workflow in ``body``.

    Raises WorkflowError naming every node type it cannot build unambiguously, and the ways out.
    """
    missing = without_class_type(prompt)
    if not missing:
        return prompt, []
    workflow = ui_workflow(body)
    problems: list[tuple[str, str, str]] = []
    built, done = dict(prompt), []
    for node_id in missing:
        ui_node = find_ui_node(workflow, node_id) if workflow else None
        kind = str(ui_node.get("type")) if ui_node else "unknown type"
        try:
            if ui_node is None:
                raise Ambiguous("the prompt carries no UI workflow for it")
            api_node = prompt[node_id] if isinstance(prompt[node_id], dict) else {}
            built[node_id] = build_node(api_node, ui_node)
            done.append(Built(node_id, kind))
        except Ambiguous as e:
            problems.append((node_id, kind, str(e)))
    if problems:
        raise _refusal(problems)
    return built, done


def uninstalled_sinks(prompt: Prompt, installed: Callable[[str], bool]) -> set[str]:
    """Types not installed here that no node takes an input from: output nodes on the remote side
    (a pack's video saver), since a node nobody consumes is run only if it is an output node."""
    used = {v[0] for n in prompt.values() for v in n.get("inputs", {}).values() if is_link(v)}
    return {n["class_type"] for i, n in prompt.items() if i not in used and not installed(n["class_type"])}
