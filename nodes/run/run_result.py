"""A finished run's saved files as the ``video``, ``audio`` and ``result`` outputs, and its previews.

``RunResult`` (socket type ``FLOYO_RESULT``) is the run id plus every saved file with the remote
output node that made it (``floyo_client/output_tags.py`` tells them apart by the tags sent), so
Floyo Select Output can split one run's outputs without paying again. Previews point ComfyUI's
UI at the files already saved under ``output/floyo/<run id>/``: nothing is saved twice. Must not
download or talk to Floyo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...floyo_client import (
    OutputNode,
    RunOutput,
    describe,
    max_batch_pixels,
    node_of,
    route,
    silent,
    subfolder_of,
)
from .. import comfy
from ..decode.video_audio import (
    MediaError,
    MissingAudio,
    MissingVideo,
    decode_audio,
    video_from,
    video_problem,
)
from .collect import Collected

log = logging.getLogger(__name__)
FLOYO_RESULT = "FLOYO_RESULT"


@dataclass(frozen=True)
class SavedFile:
    path: str
    name: str  # the name Floyo gave it
    kind: str  # image, video, audio, file
    node_id: str | None  # the remote output node that made it, None when no node can be told
    mime_type: str | None = None  # as Floyo gave it: an image may be one by its MIME type only

    def as_output(self) -> RunOutput:
        """The output as Floyo described it, to decode it exactly as when it was fresh."""
        return RunOutput(id="", file_name=self.name, mime_type=self.mime_type)


@dataclass(frozen=True)
class RunResult:
    """One run's saved files, each with its remote output node, and the output nodes sent."""

    run_id: str
    files: tuple[SavedFile, ...]
    nodes: dict[str, OutputNode] = field(default_factory=dict)
    size_policy: str = ""

    def silent_nodes(self) -> list[OutputNode]:
        return silent(self.nodes, [f.node_id for f in self.files])


def run_result(run_id: str, outputs: Sequence[RunOutput], paths: Sequence[str],
               nodes: dict[str, OutputNode] | None, size_policy: str) -> RunResult:
    """Route each saved file to its node. ``nodes`` None (a fetch by id: the workflow sent is
    unknown here): the nodes are the ones the files' tags name."""
    pairs = [(o.file_name, subfolder_of(o.input_path)) for o in outputs]
    if nodes is None:
        named = sorted({n for name, sub in pairs if (n := node_of(name, sub))})
        nodes = {n: OutputNode(n, "output node", None, True) for n in named}
    owners = route(pairs, nodes)
    files = tuple(SavedFile(str(p), o.file_name, o.kind, owner, o.mime_type)
                  for o, p, owner in zip(outputs, paths, owners, strict=True))
    return RunResult(run_id, files, nodes, size_policy)


async def media(run_id: str, files: Sequence[SavedFile], where: str = "") -> tuple[Any, Any, list[str]]:
    """``(video, audio, warnings)``: the first video and audio file among ``files``, or values
    whose use fails clearly. ``where`` names the selected node in messages."""
    warnings: list[str] = []
    videos = [f for f in files if f.kind == "video"]
    audios = [f for f in files if f.kind == "audio"]
    if not videos:
        video = MissingVideo(f"Floyo run {run_id}{where} saved no video file, so its 'video' output is "
                             "empty. Add a SaveVideo (or VHS_VideoCombine) to the remote workflow, or use "
                             "'images' or 'files' instead.")
    elif problem := await asyncio.to_thread(video_problem, videos[0].path):
        warnings.append(f"video not usable: {problem}")
        video = MissingVideo(f"Floyo run {run_id}{where}: {problem}. The file stays saved at "
                             f"{videos[0].path}.")
    else:
        video = video_from(videos[0].path)
    if not audios:
        return video, MissingAudio(f"Floyo run {run_id}{where} saved no audio file, so its 'audio' output "
                                   "is empty. Add a SaveAudio to the remote workflow."), warnings
    try:
        audio: Any = await asyncio.to_thread(decode_audio, audios[0].path, max_batch_pixels())
    except MediaError as e:
        warnings.append(f"audio not usable: {e}")
        audio = MissingAudio(f"Floyo run {run_id}{where}: {e}. The file stays saved at {audios[0].path}.")
    return video, audio, warnings


def extra_warnings(result: RunResult, files: Sequence[SavedFile]) -> list[str]:
    """What the user must hear about a run's outputs: a video with no image, output nodes that
    made no files (the worker skipped them, or they failed)."""
    warnings = []
    kinds = {f.kind for f in files}
    if "image" not in kinds:
        other = next((k for k in ("video", "audio") if k in kinds), None)
        warnings.append(f"the run saved a {other} but no image: 'images' is empty, use '{other}'" if other
                        else "no image outputs; the files are listed in 'files'")
    for node in result.silent_nodes():
        # a preview's temp files may not be kept by Floyo at all: say so rather than blame the node
        why = "" if node.tagged else " (Floyo may not return preview files: use a Save node to be sure)"
        warnings.append(f"{describe(node)} made no files{why}")
    return warnings


def _entry(path: str) -> dict[str, str] | None:
    """A UI entry for a file saved under ComfyUI's output folder (None anywhere else)."""
    try:
        relative = Path(path).resolve().relative_to(comfy.output_dir().resolve())
    except ValueError:
        return None
    return {"filename": relative.name, "subfolder": relative.parent.as_posix(), "type": "output"}


def previews(files: Sequence[SavedFile]) -> dict[str, list[Any]] | None:
    """ComfyUI's UI dict for the saved files: the videos (shown as video) or else the images, and
    the first audio file. The frontend shows one kind per node, so videos win over stills."""
    def entries(kind: str) -> list[dict[str, str]]:
        return [e for f in files if f.kind == kind and (e := _entry(f.path))]

    ui: dict[str, list[Any]] = {}
    if videos := entries("video"):
        ui.update(images=videos, animated=[True])
    elif images := entries("image"):
        ui["images"] = images
    if audios := entries("audio"):
        ui["audio"] = audios[:1]
    return ui or None


async def node_outputs(collected: Collected, run_id: str, nodes: dict[str, OutputNode] | None,
                       size_policy: str) -> tuple[tuple[Any, ...], dict[str, Any] | None, list[str]]:
    """``((video, audio, result), ui, warnings)`` for a collected run: the outputs appended after
    images, masks, (run_id,) files; the previews; every warning the user must see."""
    result = run_result(run_id, collected.outputs, collected.paths, nodes, size_policy)
    video, audio, found = await media(run_id, result.files)
    warnings = [*collected.warnings, *found, *extra_warnings(result, result.files)]
    for warning in warnings:
        log.warning("Floyo run %s: %s", run_id, warning)
    return (video, audio, result), previews(result.files), warnings
