"""Override nodes: set a remote node's input, found by its title or id, from the local graph.

Each node adds one ``Override`` to a chain (socket type ``FLOYO_OVERRIDES``) that ends in
``FloyoRemoteRun``. An IMAGE, VIDEO or AUDIO override is uploaded to Floyo's CDN at run time (once
per content and team, across restarts: PNG; the VIDEO's source file or an mp4; flac) and its
``input_path`` goes into the loader node. The nodes only record what to upload; preparing and
sending happen in ``inputs/override_values.resolve``.
"""

from __future__ import annotations

from typing import Any

from ...floyo_client import Override
from ..current_graph.contract import override_node
from ..inputs.override_values import AudioUpload, ImageUpload, VideoUpload
from .runtime import OVERRIDES, SEED_MAX, SEED_MIN
from .spec import CATEGORY, Ctx, In, NodeSpec, Out

UPLOADS = {"Image": ("image", ImageUpload), "Video": ("video", VideoUpload), "Audio": ("audio", AudioUpload)}


def _chain(kind: str, value_input: In, default_input: str = "") -> NodeSpec:
    async def run(ctx: Ctx, target: str, input: str, value: Any = None, overrides: Any = None,
                  **kw: Any) -> tuple:
        if kind in UPLOADS:
            name, upload = UPLOADS[kind]
            value = upload(kw[name])
        return (tuple(overrides or ()) + (Override(target=target, input=input.strip(), value=value),),)

    return NodeSpec(
        node_id=override_node(kind), display_name=f"Floyo Override {kind}",
        description=(f"Sets one input of a remote node, found by its title (as shown on the node) or "
                     f"its id, to a {kind.lower()} value. Chain several and connect the last to "
                     "FloyoRemoteRun's 'overrides'."),
        inputs=(In("target", "STRING", tooltip="Title (as shown on the remote node) or id of the remote node",
                   options={"default": ""}),
                In("input", "STRING", tooltip="Name of the input to set (e.g. text, seed, image)",
                   options={"default": default_input}),
                value_input,
                In("overrides", OVERRIDES, optional=True, tooltip="Earlier overrides to extend (optional)")),
        outputs=(Out("overrides", OVERRIDES, "This override and the earlier ones: connect to the next "
                                              "override or to Floyo Remote Run's 'overrides'"),),
        run=run, category=f"{CATEGORY}/overrides")


VIDEO_TIP = ("Uploaded to Floyo once (its source file if it came from one, else encoded as mp4); the remote "
             "loader (e.g. LoadVideo.file, VHS_LoadVideo.video) gets its Floyo input path")
AUDIO_TIP = ("Uploaded to Floyo once, encoded as flac; the remote loader (e.g. LoadAudio.audio) gets its "
             "Floyo input path")

SPECS = (
    _chain("Text", In("value", "STRING", tooltip="The text to put into the remote input (e.g. a prompt)",
                      options={"multiline": True, "default": ""}), "text"),
    # control_after_generate: ComfyUI's fixed/increment/decrement/randomize widget, as on a seed
    _chain("Int", In("value", "INT", tooltip="The whole number to put into the remote input (e.g. a seed)",
                     options={"default": 0, "min": SEED_MIN, "max": SEED_MAX,
                              "control_after_generate": True}), "seed"),
    _chain("Float", In("value", "FLOAT", tooltip="The number to put into the remote input (e.g. cfg)",
                       options={"default": 0.0, "min": -1e9, "max": 1e9, "step": 0.01}), "cfg"),
    _chain("Boolean", In("value", "BOOLEAN", tooltip="The true/false value to put into the remote input",
                         options={"default": False}), ""),
    _chain("Image", In("image", "IMAGE", tooltip="Uploaded to Floyo once; the remote loader (e.g. "
                                                  "LoadImage.image) gets its Floyo input path"), "image"),
    _chain("Video", In("video", "VIDEO", tooltip=VIDEO_TIP), "file"),
    _chain("Audio", In("audio", "AUDIO", tooltip=AUDIO_TIP), "audio"),
)
