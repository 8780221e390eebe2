"""A finished run's outputs: downloaded to ComfyUI's output folder, then decoded from there to tensors.

Each file streams to ``output/floyo/<run id>/`` (flat memory whatever its size; names made safe
and unique by the core) and is decoded from disk the moment it is complete, while the rest still
download. A decode failure is raised only once every file is on disk, so nothing paid for is
lost if a later step fails. The run's pixel budget (padding included) is checked from the
headers before any batch is allocated. Must not talk to Floyo except through the RunHandle it is
given.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...floyo_client import (
    RUN_ID_RE,
    Run,
    RunFailed,
    RunHandle,
    RunOutput,
    SavedFile,
    download_outputs,
    fingerprint,
    max_batch_pixels,
)
from .. import comfy
from ..decode.batch_decoder import OutputImages

log = logging.getLogger(__name__)


@dataclass
class Collected:
    images: torch.Tensor
    masks: torch.Tensor
    paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outputs: list[RunOutput] = field(default_factory=list)  # what Floyo called each saved file


def run_folder(run_id: str) -> Path:
    if not RUN_ID_RE.fullmatch(run_id):  # the id names a folder: it must be one plain component
        raise ValueError(f"not a Floyo run id: {run_id!r}")
    return comfy.output_dir() / "floyo" / run_id


def _ignore_files(files: list[SavedFile]) -> None:
    return None


async def collect(handle: RunHandle, run: Run, size_policy: str,
                  on_saved: Callable[[list[SavedFile]], None] = _ignore_files,
                  on_file: Callable[[int, int], None] | None = None) -> Collected:
    """Download, save and decode a successful run's outputs; ``on_saved`` hears of the files (with
    the size and sha256 each was saved with, so a later reuse can tell it is still the file paid
    for, and what Floyo said it is, so it decodes later as now) as soon as they are on disk
    (before decoding, which may still fail), ``on_file`` of each file done (n of N, for the
    node's "downloading n/N")."""
    outputs = list(run.outputs)
    if not outputs:
        raise RunFailed(f"Floyo run {run.id} finished but produced no output files. Make sure the "
                        "remote workflow ends in a SaveImage (or another save) node.", run=run,
                        run_id=run.id)
    images = OutputImages(outputs, size_policy, max_batch_pixels())
    if on_file is not None:
        on_file(0, len(outputs))
    paths = await _pipeline(handle, outputs, run_folder(run.id), images.add, on_file)
    saved = [str(p) for p in paths]
    log.info("Saved %d output(s) of Floyo run %s to %s", len(saved), run.id, paths[0].parent)
    on_saved(await asyncio.to_thread(fingerprint, saved, outputs))
    return await _finish(images, saved, outputs)


async def _pipeline(handle: RunHandle, outputs: list[RunOutput], folder: Path,
                    decode: Callable[[int, Path], None],
                    on_file: Callable[[int, int], None] | None = None) -> list[Path]:
    """Download a few files at a time on the event loop; decode each one in a worker thread as
    soon as it is on disk, so decoding overlaps the downloads still running."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="floyo-outputs")
    work: list[asyncio.Future[None]] = []
    def ready(index: int, path: Path) -> None:  # on the event loop, as each file is complete
        work.append(loop.run_in_executor(pool, decode, index, path))
        if on_file is not None:
            on_file(len(work), len(outputs))

    try:
        paths = await download_outputs(handle, outputs, folder, on_ready=ready)
    finally:  # never return (or raise) while a worker may still read a file
        results = await asyncio.gather(*work, return_exceptions=True)
        pool.shutdown(wait=False)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return paths


async def _finish(images: OutputImages, paths: list[str], outputs: list[RunOutput]) -> Collected:
    batch, masks, warnings = await asyncio.to_thread(images.finish, paths)
    return Collected(batch, masks, paths, warnings, outputs)


async def collect_saved(outputs: list[RunOutput], paths: list[str], size_policy: str) -> Collected:
    """Decode outputs saved earlier, without downloading them again: ``outputs`` as Floyo described
    them (``RunRecord.outputs()``), so each decodes exactly as it did fresh."""
    return await _finish(OutputImages(outputs, size_policy, max_batch_pixels()), paths, outputs)
