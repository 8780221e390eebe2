"""A finished run's outputs: downloaded, saved under ComfyUI's output folder, decoded to tensors.

Every file is written to ``output/floyo/<run id>/`` before any decoding, so nothing paid for is
lost if a later step fails. Must not talk to Floyo except through the RunHandle it is given.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..floyo_client import RunFailed, RunHandle
from ..floyo_client.models import Run, RunOutput
from . import comfy
from .images import decode_outputs

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")


@dataclass
class Collected:
    images: torch.Tensor
    masks: torch.Tensor
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_folder(run_id: str) -> Path:
    return comfy.output_dir() / "floyo" / run_id


def safe_name(name: str, index: int) -> str:
    """A file name that stays inside its folder whatever Floyo called the file."""
    base = _UNSAFE.sub("_", os.path.basename(name.replace("\\", "/"))).strip(" .")
    return base or f"output_{index:03d}"


def save_files(folder: Path, outputs: list[RunOutput], blobs: list[bytes]) -> list[str]:
    """Write each output atomically; returns the paths in output order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, used = [], set()
    for index, (output, data) in enumerate(zip(outputs, blobs, strict=True)):
        name = safe_name(output.file_name, index)
        if name in used:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem or name}_{index}{dot}{ext}" if dot else f"{name}_{index}"
        used.add(name)
        path = folder / name
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        paths.append(str(path))
    return paths


def empty_batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros((0, 64, 64, 3), dtype=torch.float32), torch.zeros((0, 64, 64), dtype=torch.float32)


def _ignore_paths(paths: list[str]) -> None:
    return None


async def collect(handle: RunHandle, run: Run, size_policy: str,
                  on_saved: Callable[[list[str]], None] = _ignore_paths) -> Collected:
    """Download, save and decode a successful run's outputs; ``on_saved`` hears of the files
    as soon as they are on disk (before decoding, which may still fail)."""
    outputs = list(run.outputs)
    if not outputs:
        raise RunFailed(f"Floyo run {run.id} finished but produced no output files. Make sure the "
                        "remote workflow ends in a SaveImage (or another save) node.", run=run,
                        run_id=run.id)
    blobs = await handle.download(outputs)
    paths = await asyncio.to_thread(save_files, run_folder(run.id), outputs, blobs)
    log.info("Saved %d output(s) of Floyo run %s to %s", len(paths), run.id, run_folder(run.id))
    on_saved(paths)
    return await decode_saved(outputs, blobs, paths, size_policy)


async def decode_saved(outputs: list[RunOutput], blobs: list[bytes], paths: list[str],
                       size_policy: str) -> Collected:
    picks = [i for i, o in enumerate(outputs) if o.is_image]
    if not picks:
        images, masks = empty_batch()
        return Collected(images, masks, paths, ["no image outputs; the files are listed in 'files'"])
    images, masks, warnings = await asyncio.to_thread(
        decode_outputs, [blobs[i] for i in picks], [outputs[i].file_name for i in picks],
        size_policy=size_policy)
    return Collected(images, masks, paths, list(warnings))


async def collect_saved(paths: list[str], size_policy: str) -> Collected:
    """Decode outputs saved earlier (journal), without downloading them again."""
    blobs = await asyncio.to_thread(lambda: [Path(p).read_bytes() for p in paths])
    outputs = [RunOutput(id="", file_name=Path(p).name) for p in paths]
    return await decode_saved(outputs, blobs, paths, size_policy)
