"""A finished run's outputs: downloaded, saved under ComfyUI's output folder, decoded to tensors.

Each file is written to ``output/floyo/<run id>/`` before its pixels are decoded, and a decode
failure is raised only once every file is on disk, so nothing paid for is lost if a later step
fails. Downloads, saving and decoding overlap (docs/performance.md). Must not talk to Floyo except
through the RunHandle it is given.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..floyo_client import RunFailed, RunHandle
from ..floyo_client.models import Run, RunOutput
from . import comfy
from .batch_decoder import BatchDecoder
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


def file_paths(folder: Path, outputs: list[RunOutput]) -> list[Path]:
    """Where each output is saved, in output order; clashing names get the output's index."""
    paths, used = [], set()
    for index, output in enumerate(outputs):
        name = safe_name(output.file_name, index)
        if name in used:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem or name}_{index}{dot}{ext}" if dot else f"{name}_{index}"
        used.add(name)
        paths.append(folder / name)
    return paths


def write_file(path: Path, data: bytes) -> None:
    """Write atomically: a reader never sees half a file under the final name."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_files(folder: Path, outputs: list[RunOutput], blobs: list[bytes]) -> list[str]:
    """Write each output atomically; returns the paths in output order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = file_paths(folder, outputs)
    for path, data in zip(paths, blobs, strict=True):
        write_file(path, data)
    return [str(p) for p in paths]


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
    folder = run_folder(run.id)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    paths = file_paths(folder, outputs)
    slots = {i: k for k, i in enumerate(i for i, o in enumerate(outputs) if o.is_image)}
    decoder = BatchDecoder([outputs[i].file_name for i in slots])

    def store(index: int, data: bytes) -> None:  # a worker thread: the file first, then its pixels
        write_file(paths[index], data)
        if index in slots:
            decoder.add(slots[index], data)

    await _pipeline(handle, outputs, store)
    saved = [str(p) for p in paths]
    log.info("Saved %d output(s) of Floyo run %s to %s", len(saved), run.id, folder)
    on_saved(saved)
    batch = decoder.result()
    if batch is not None:  # every image decoded as it arrived
        return Collected(batch[0], batch[1], saved, [])
    blobs = await asyncio.to_thread(lambda: [p.read_bytes() if i in slots else b""
                                             for i, p in enumerate(paths)])
    return await decode_saved(outputs, blobs, saved, size_policy)


async def _pipeline(handle: RunHandle, outputs: list[RunOutput],
                    store: Callable[[int, bytes], None]) -> None:
    """Download a few files at a time on the event loop; save and decode each one in a worker
    thread as soon as it arrives, so decoding overlaps the downloads still running."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="floyo-outputs")
    work: list[asyncio.Future[None]] = []
    try:
        await handle.download(outputs, on_ready=lambda i, data: work.append(
            loop.run_in_executor(pool, store, i, data)))
    finally:  # never return (or raise) while a worker may still write a file
        results = await asyncio.gather(*work, return_exceptions=True)
        pool.shutdown(wait=False)
    for result in results:
        if isinstance(result, BaseException):
            raise result


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
