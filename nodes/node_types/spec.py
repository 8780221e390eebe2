"""One neutral description per node, turned into a V3 (``comfy_api.latest``) or a V1 class.

Each node's behaviour is written once, as ``NodeSpec.run``; this module only adapts it to the
two ways ComfyUI defines nodes. Must not hold node behaviour.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

CATEGORY = "Floyo"
# Words a user may type in the node search to find the pack (ComfyUI's search_aliases).
SEARCH_ALIASES = ("cloud", "remote", "offload", "api", "GPU", "floyo")


@dataclass(frozen=True)
class In:
    name: str
    kind: str  # STRING INT FLOAT BOOLEAN COMBO IMAGE, or a custom socket type
    optional: bool = False
    tooltip: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # default, min, max, multiline, choices…


@dataclass(frozen=True)
class Out:
    name: str
    kind: str
    tooltip: str | None = None


@dataclass(frozen=True)
class Shown:
    """A node's outputs together with what ComfyUI shows on the node and in the queue history
    (``{"images": [...], "animated": [...], "audio": [...]}``)."""

    values: tuple[Any, ...]
    ui: dict[str, Any] | None = None


def _split(result: tuple[Any, ...] | Shown) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    return (result.values, result.ui) if isinstance(result, Shown) else (result, None)


@dataclass(frozen=True)
class Ctx:
    """Per-execution facts ComfyUI passes as hidden inputs."""

    node_id: str
    prompt: dict[str, Any] | None
    # the prompt's extra_pnginfo: the UI workflow it came from, and the one dict ComfyUI hands every
    # node of the prompt (its save nodes write it as PNG text: provenance, floyo_client/provenance.py)
    extra_pnginfo: dict[str, Any] | None = None


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    display_name: str
    description: str
    inputs: tuple[In, ...]
    outputs: tuple[Out, ...]
    run: Callable[..., Awaitable[tuple[Any, ...] | Shown]]  # run(ctx, **inputs) -> outputs
    output_node: bool = False
    always_run: bool = False  # a query whose answer changes (run status): never served from cache
    category: str = CATEGORY
    search_aliases: tuple[str, ...] = SEARCH_ALIASES
    # ComfyUI's queue-time check of the ``workflow`` input: True, or the message that refuses the
    # prompt before anything runs (the current-graph refusals of prompt_hook.py)
    check_workflow: Callable[[object], bool | str] | None = None
    # The same queue-time check of a ``run_id`` input (malformed id, missing key: run_lookup.py)
    check_run_id: Callable[[object], bool | str] | None = None
    output_is_list: bool = False  # every output is a ComfyUI list: the next node runs once per element
    # The frontend's audio player (an ``AUDIO_UI`` widget, never sent with the prompt): it plays
    # the ``audio`` preview; without it the frontend's audio extension fails on that preview.
    audio_player: bool = False


AUDIO_PLAYER = In("audioUI", "AUDIO_UI", optional=True, tooltip="Plays the audio the run saved")


def _all_inputs(spec: NodeSpec) -> tuple[In, ...]:
    return (*spec.inputs, AUDIO_PLAYER) if spec.audio_player else spec.inputs


def _queue_checks(spec: NodeSpec) -> Callable[..., bool | str] | None:
    """ComfyUI's queue-time check: it passes the constant inputs named in the signature (a
    linked run_id is absent, hence its default: checked when the node runs)."""
    if spec.check_workflow is not None:
        check = spec.check_workflow
        return lambda cls, workflow: check(workflow)
    if spec.check_run_id is not None:
        check_id = spec.check_run_id
        return lambda cls, run_id=None: True if run_id is None else check_id(run_id)
    return None


def _v3_input(io: Any, spec: In) -> Any:
    o = dict(spec.options)
    common = {"optional": spec.optional, "tooltip": spec.tooltip}
    if spec.kind == "STRING":
        return io.String.Input(spec.name, multiline=o.get("multiline", False), default=o.get("default"),
                               force_input=o.get("force_input"), **common)
    if spec.kind in ("INT", "FLOAT"):
        cls = io.Int if spec.kind == "INT" else io.Float
        extra = {k: o[k] for k in ("step", "control_after_generate") if k in o}
        return cls.Input(spec.name, default=o.get("default"), min=o.get("min"), max=o.get("max"),
                         **extra, **common)
    if spec.kind == "BOOLEAN":
        return io.Boolean.Input(spec.name, default=o.get("default"), **common)
    if spec.kind == "COMBO":
        return io.Combo.Input(spec.name, options=list(o["choices"]), default=o.get("default"), **common)
    if spec.kind == "IMAGE":
        return io.Image.Input(spec.name, **common)
    return io.Custom(spec.kind).Input(spec.name, **common)


def _v3_output(io: Any, spec: Out, is_list: bool = False) -> Any:
    types = {"IMAGE": io.Image, "MASK": io.Mask, "STRING": io.String, "INT": io.Int, "VIDEO": io.Video,
             "AUDIO": io.Audio}
    cls = types.get(spec.kind) or io.Custom(spec.kind)
    return cls.Output(display_name=spec.name, tooltip=spec.tooltip, is_output_list=is_list)


def v3_class(spec: NodeSpec) -> type:
    from comfy_api.latest import io

    native_aliases = "search_aliases" in {f.name for f in dataclasses.fields(io.Schema)}

    def define_schema(cls: Any) -> Any:
        extra = {"search_aliases": list(spec.search_aliases)} if native_aliases else {}
        return io.Schema(node_id=spec.node_id, display_name=spec.display_name, category=spec.category,
                         description=spec.description, inputs=[_v3_input(io, i) for i in _all_inputs(spec)],
                         outputs=[_v3_output(io, o, spec.output_is_list) for o in spec.outputs],
                         hidden=[io.Hidden.prompt, io.Hidden.unique_id, io.Hidden.extra_pnginfo],
                         is_output_node=spec.output_node,
                         **extra)

    async def execute(cls: Any, **inputs: Any) -> Any:
        ctx = Ctx(node_id=str(cls.hidden.unique_id), prompt=cls.hidden.prompt,
                  extra_pnginfo=cls.hidden.extra_pnginfo)
        inputs.pop(AUDIO_PLAYER.name, None)
        values, ui = _split(await spec.run(ctx, **inputs))
        return io.NodeOutput(*values, ui=ui)

    attrs = {"define_schema": classmethod(define_schema), "execute": classmethod(execute),
             "__doc__": spec.description}
    if spec.always_run:  # NaN != NaN, so ComfyUI never finds a cached result
        attrs["fingerprint_inputs"] = classmethod(lambda cls, **kw: float("nan"))
    if (validate := _queue_checks(spec)) is not None:
        attrs["validate_inputs"] = classmethod(validate)
    node = type(spec.node_id, (io.ComfyNode,), attrs)
    if not native_aliases:  # a ComfyUI older than search_aliases: still list them in /object_info
        base_info = node.GET_NODE_INFO_V1.__func__

        def node_info(cls: Any) -> dict[str, Any]:
            return {**base_info(cls), "search_aliases": list(spec.search_aliases)}

        node.GET_NODE_INFO_V1 = classmethod(node_info)
    return node


def _v1_input(spec: In) -> tuple[Any, ...]:
    o = {k: v for k, v in spec.options.items() if k != "choices" and v is not None}
    if spec.tooltip:
        o["tooltip"] = spec.tooltip
    if spec.kind == "COMBO":
        return (list(spec.options["choices"]), o)
    if spec.kind == "STRING" and o.pop("force_input", False):
        o["forceInput"] = True
    return (spec.kind, o)


def v1_class(spec: NodeSpec) -> type:
    def input_types(cls: Any) -> dict[str, Any]:
        required = {i.name: _v1_input(i) for i in spec.inputs if not i.optional}
        optional = {i.name: _v1_input(i) for i in _all_inputs(spec) if i.optional}
        return {"required": required, "optional": optional,
                "hidden": {"prompt": "PROMPT", "unique_id": "UNIQUE_ID", "extra_pnginfo": "EXTRA_PNGINFO"}}

    async def execute(self: Any, prompt: Any = None, unique_id: Any = None, extra_pnginfo: Any = None,
                      **inputs: Any) -> Any:
        inputs.pop(AUDIO_PLAYER.name, None)
        ctx = Ctx(node_id=str(unique_id), prompt=prompt, extra_pnginfo=extra_pnginfo)
        values, ui = _split(await spec.run(ctx, **inputs))
        return values if ui is None else {"ui": ui, "result": values}

    attrs = {"INPUT_TYPES": classmethod(input_types), "FUNCTION": "execute", "execute": execute,
             "RETURN_TYPES": tuple(o.kind for o in spec.outputs),
             "RETURN_NAMES": tuple(o.name for o in spec.outputs), "CATEGORY": spec.category,
             "OUTPUT_TOOLTIPS": tuple(o.tooltip or "" for o in spec.outputs),
             "SEARCH_ALIASES": list(spec.search_aliases),
             "DESCRIPTION": spec.description, "OUTPUT_NODE": spec.output_node,
             "OUTPUT_IS_LIST": tuple(spec.output_is_list for _ in spec.outputs)}
    if spec.always_run:
        attrs["IS_CHANGED"] = classmethod(lambda cls, **kw: float("nan"))
    if (validate := _queue_checks(spec)) is not None:
        attrs["VALIDATE_INPUTS"] = classmethod(validate)
    return type(spec.node_id, (), attrs)
