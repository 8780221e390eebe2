"""Local files that remote loader nodes name: uploaded to Floyo once, their names replaced.

A graph built locally has loader nodes (``LoadImage``, ``LoadVideo``, ``LoadAudio``, and
VideoHelperSuite's ``VHS_LoadVideo``/``VHS_LoadAudioUpload``) that name files in ComfyUI's
``input/`` folder, which do not exist on Floyo. Before the run is created, each such file is
uploaded (the same bytes once per team, across restarts: floyo_client/uploads.py) and the loader
gets the file's Floyo ``input_path``
instead. Values that do not name an existing local file (a Floyo ``#inputs/…`` path, say) are left
alone. A file over ``FLOYO_MAX_UPLOAD_MB`` is refused before it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...floyo_client import FloyoClient, Journal, Override, Prompt, StopCheck, apply_overrides, upload_once
from .. import comfy
from .upload_payloads import prepare_off_loop, read_checked

# class type -> the input naming a file in input/ (core nodes, and VideoHelperSuite's upload loaders)
LOADER_INPUTS = {"LoadImage": "image", "LoadImageMask": "image", "LoadVideo": "file", "LoadAudio": "audio",
                 "VHS_LoadVideo": "video", "VHS_LoadAudioUpload": "audio"}


def local_files(workflow: Prompt) -> Iterator[tuple[str, str, Path]]:
    """(node id, input name, local path) of every loader input that names a local file."""
    for node_id, node in workflow.items():
        key = LOADER_INPUTS.get(node.get("class_type", ""))
        value = node.get("inputs", {}).get(key) if key else None
        if isinstance(value, str) and value and not value.startswith("#"):
            path = comfy.local_input_file(value)
            if path is not None:
                yield node_id, key, path


async def upload_local_inputs(client: FloyoClient, workflow: Prompt, stop: StopCheck,
                              journal: Journal | None = None) -> Prompt:
    overrides = []
    for node_id, key, path in local_files(workflow):
        what = f"The local file {path.name} (node {node_id} input {key!r})"
        data = await prepare_off_loop(lambda p=path, w=what: read_checked(p, w), stop)
        uploaded = await upload_once(client, data, path.name, journal=journal, stop=stop)
        overrides.append(Override(node_id, key, uploaded.input_path))
    return apply_overrides(workflow, overrides) if overrides else workflow
