"""Turn a simple UI-format workflow (nodes + links, as saved by ComfyUI's UI) into API format,
reading the widget inputs, their order and their defaults from the running ComfyUI's
/object_info, so it follows whatever ComfyUI release it talks to. Used by the demo and the tests;
handles what the example workflows use (no subgraphs, reroutes or primitive nodes) and must not
reach a ComfyUI itself (the caller passes /object_info in).

What it follows from /object_info rather than assuming:

* widgets a newer ComfyUI added after the workflow was saved (0.33's ``CreateVideo.bit_depth``):
  a missing optional widget is left out (the server uses its default), a missing required one
  gets the default /object_info gives;
* dynamic combos (``COMFY_DYNAMICCOMBO_V3``, 0.33's ``SaveVideo`` format/codec): the chosen
  option's own widgets follow the combo's value in the saved list and are sent as
  ``<combo>.<input>``, the names ComfyUI's V3 schema expands them to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WIDGET_TYPES = {"STRING", "INT", "FLOAT", "BOOLEAN", "COMBO"}
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
# Widgets the frontend adds and saves after a loader's own (LoadImage's upload button, LoadAudio's
# player and upload button): never sent with the prompt.
UI_ONLY_WIDGETS = {"upload", "audioUI"}
_MISSING = object()


def _options(spec: list[Any]) -> dict[str, Any]:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def _is_widget(spec: list[Any]) -> bool:
    kind = spec[0]
    if _options(spec).get("forceInput"):
        return False
    return isinstance(kind, list) or kind in WIDGET_TYPES or kind == DYNAMIC_COMBO


def _widget_inputs(inputs: dict[str, Any]) -> list[tuple[str, list[Any], bool]]:
    """``(name, spec, required)`` of every widget, in /object_info's order."""
    return [(name, s, group == "required") for group in ("required", "optional")
            for name, s in (inputs.get(group) or {}).items() if _is_widget(s)]


def _default(spec: list[Any]) -> Any:
    options = _options(spec)
    if "default" in options:
        return options["default"]
    choices = spec[0] if isinstance(spec[0], list) else options.get("options") or []
    first = choices[0] if choices else None
    return first.get("key") if isinstance(first, dict) else first


def _chosen(spec: list[Any], value: Any) -> dict[str, Any]:
    """The inputs of the dynamic combo option ``value`` selects."""
    for option in _options(spec).get("options") or ():
        if isinstance(option, dict) and option.get("key") == value:
            return option.get("inputs") or {}
    return {}


def _read(inputs: dict[str, Any], values: Iterator[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(name, value)`` for each widget, consuming the saved values in order (a widget with
    ``control_after_generate`` saved one more: the control, never sent)."""
    for name, spec, required in _widget_inputs(inputs):
        value = next(values, _MISSING)
        if value is _MISSING:
            if not required:
                continue
            value = _default(spec)
        elif _options(spec).get("control_after_generate"):
            next(values, None)
        yield prefix + name, value
        if spec[0] == DYNAMIC_COMBO:
            yield from _read(_chosen(spec, value), values, f"{prefix}{name}.")


def _sent_values(node: dict[str, Any]) -> list[Any]:
    """The node's saved widget values without those of UI-only widgets (saved last)."""
    values = list(node.get("widgets_values", []))
    extra = sum(1 for s in node.get("inputs", []) if s.get("name") in UI_ONLY_WIDGETS and "widget" in s)
    return values[:len(values) - extra] if extra else values


def widget_values(node: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The API-format widget inputs of one UI node, as the running ComfyUI names them. Raises
    ValueError when the node saved more values than this ComfyUI has widgets for."""
    values = iter(_sent_values(node))
    found = dict(_read(info["input"], values))
    left = list(values)
    if left:
        raise ValueError(f"node {node.get('id')} ({node.get('type')}) saved {len(left)} widget value(s) "
                         f"more than this ComfyUI's {node.get('type')} has: {left!r}")
    return found


def ui_to_api(ui: dict[str, Any], object_info: dict[str, Any]) -> dict[str, Any]:
    links = {link[0]: (str(link[1]), link[2]) for link in ui["links"]}
    prompt = {}
    for node in ui["nodes"]:
        info = object_info[node["type"]]
        inputs = widget_values(node, info)
        for socket in node.get("inputs", []):
            if socket.get("link") is not None:
                inputs[socket["name"]] = list(links[socket["link"]])
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs,
                                   "_meta": {"title": node.get("title") or info["display_name"]}}
    return prompt
