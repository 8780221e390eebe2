"""Turn a simple UI-format workflow (nodes + links, as saved by ComfyUI's UI) into API format,
using a running ComfyUI's /object_info for the order of widget inputs. Used by the demo and the
tests; handles what the example workflows use (no subgraphs, reroutes or primitive nodes) and
must not reach a ComfyUI itself (the caller passes /object_info in)."""

from __future__ import annotations

from typing import Any

WIDGET_TYPES = {"STRING", "INT", "FLOAT", "BOOLEAN", "COMBO"}
# Widgets the frontend adds and saves after a loader's own (LoadImage's upload button, LoadAudio's
# player and upload button): never sent with the prompt.
UI_ONLY_WIDGETS = {"upload", "audioUI"}


def _is_widget(spec: list[Any]) -> bool:
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    if isinstance(options, dict) and options.get("forceInput"):
        return False
    return isinstance(kind, list) or kind in WIDGET_TYPES


def _widget_inputs(info: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    spec = info["input"]
    return [(name, s) for group in ("required", "optional") for name, s in spec.get(group, {}).items()
            if _is_widget(s)]


def widget_names(info: dict[str, Any]) -> list[str]:
    names = []
    for name, spec in _widget_inputs(info):
        names.append(name)
        options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        if options.get("control_after_generate"):
            names.append(f"{name}:control")
    return names


def _sent_values(node: dict[str, Any], info: dict[str, Any]) -> list[Any]:
    """The node's saved widget values without those of UI-only widgets (saved last)."""
    values = list(node.get("widgets_values", []))
    extra = sum(1 for s in node.get("inputs", []) if s.get("name") in UI_ONLY_WIDGETS and "widget" in s)
    return values[:len(widget_names(info))] if extra and len(values) == len(widget_names(info)) + extra \
        else values


def ui_to_api(ui: dict[str, Any], object_info: dict[str, Any]) -> dict[str, Any]:
    links = {link[0]: (str(link[1]), link[2]) for link in ui["links"]}
    prompt = {}
    for node in ui["nodes"]:
        info = object_info[node["type"]]
        values = dict(zip(widget_names(info), _sent_values(node, info), strict=True))
        inputs = {k: v for k, v in values.items() if ":" not in k}
        for socket in node.get("inputs", []):
            if socket.get("link") is not None:
                inputs[socket["name"]] = list(links[socket["link"]])
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs,
                                   "_meta": {"title": node.get("title") or info["display_name"]}}
    return prompt
