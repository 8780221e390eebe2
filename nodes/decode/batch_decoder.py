"""The one decoder of output images: files -> one IMAGE/MASK batch, with the size policy's warnings.

Both ways a node gets its images go through ``OutputImages`` here: a fresh run decodes each file
the moment it is saved, while the rest still download (``collect.collect``), and files saved
earlier are decoded from the journal's paths (``collect.collect_saved``). The same code picks
the image outputs (``RunOutput.is_image``), plans the batch (``image_pixels.plan_batch``: size policy and
warnings), budgets it and places the pixels, so the two ways cannot disagree. Must not download,
write files or change PIL's process-wide settings.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ...floyo_client import RunOutput
from .image_headers import (
    MAX_BATCH_PIXELS,
    MAX_FILE_PIXELS,
    ImageDecodeError,
    NoImages,
    Probe,
    Source,
    check_batch_pixels,
    probe_file,
)
from .image_pixels import SIZE_POLICIES, BatchPlan, allocate_batch, decode_file, empty_batch, plan_batch

Decoded = tuple[torch.Tensor, torch.Tensor, list[str]]  # IMAGE [B,H,W,3], MASK [B,H,W], warnings


class BatchDecoder:
    """Decode ``count`` image files into one batch; ``add`` may start on each file as it arrives.

    ``add`` is a bet on what a remote SaveImage makes: every file one frame of the size of the
    first to arrive. It probes the file (refusing bombs before any pixel, and a batch over the
    budget before allocating it) and decodes it straight into its slot, from any thread. A file
    that breaks the bet frees the speculative batch and is left to ``finish``. ``finish`` probes
    whatever ``add`` did not, lets ``plan_batch`` decide the layout, and keeps the speculative batch
    only when the plan is exactly its layout; otherwise it decodes every file per the plan. So a
    file always gives the same tensors, warnings and errors whether or not ``add`` saw it.
    """

    def __init__(self, count: int, *, size_policy: str = SIZE_POLICIES[0], max_pixels: int = MAX_FILE_PIXELS,
                 max_batch_pixels: int = MAX_BATCH_PIXELS, workers: int | None = None):
        if size_policy not in SIZE_POLICIES:
            raise ValueError(f"size_policy must be one of {SIZE_POLICIES}, not {size_policy!r}")
        self._count, self._policy, self._workers = count, size_policy, workers
        self._max_pixels, self._max_batch = max_pixels, max_batch_pixels
        self._lock = threading.Lock()
        self._probes: dict[int, Probe] = {}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._size: tuple[int, int] | None = None
        self._done: set[int] = set()
        self._broken = False

    def add(self, index: int, source: Source, name: str) -> bool:
        """Decode file ``index`` into its slot now; False once the bet is off (nothing is raised)."""
        if self._broken:
            return False
        try:
            probe = probe_file(source, name, self._max_pixels)
            with self._lock:
                self._probes[index] = probe
            batch = self._slot_for(probe)
            if batch is None:
                return self._give_up()
            decode_file(source, probe, [(0, index)], batch[0].numpy(), batch[1].numpy())
        except ImageDecodeError:  # finish() meets the same file again and raises the precise error
            return self._give_up()
        with self._lock:
            self._done.add(index)
        return not self._broken

    def _slot_for(self, probe: Probe) -> tuple[torch.Tensor, torch.Tensor] | None:
        with self._lock:
            if self._broken or len(probe.sizes) != 1:
                return None
            if self._batch is None:
                self._size = probe.sizes[0]
                check_batch_pixels(self._count, *self._size, self._max_batch, self._policy)
                self._batch = allocate_batch(self._count, *self._size)
            return self._batch if probe.sizes[0] == self._size else None

    def _give_up(self) -> bool:
        with self._lock:
            self._broken, self._batch = True, None  # free the batch now; finish() makes its own
        return False

    def finish(self, sources: Sequence[Source], names: Sequence[str]) -> Decoded:
        """(IMAGE float32 [B,H,W,3] 0..1, MASK float32 [B,H,W], warnings) of all ``count`` files.

        Every frame of an animated file is a batch entry; EXIF orientation is applied; mask = 1 -
        alpha. Sizes that differ follow the size policy (``image_pixels.plan_batch``); nothing is resized.

        Raises:
            NoImages: there are no files.
            ImageDecodeError: a file is corrupt, not an image, over ``max_pixels``, the batch over
                ``max_batch_pixels`` (padding included, checked before allocating), or sizes
                differ under the "error" policy. The first failing file in order is named.
        """
        if not len(sources) == len(names) == self._count:
            raise ValueError(f"{len(sources)} sources and {len(names)} names for {self._count} files")
        if not sources:
            raise NoImages("No image outputs to decode")
        with self._lock:
            known = [self._probes.get(index) for index in range(self._count)]
        probes = known if None not in known else self._in_threads(self._probe_once, known, sources, names)
        plan = plan_batch(probes, self._policy)
        kept = self._speculative(plan)
        if kept is not None:  # every file is already in place: no thread, no second read
            return kept[0], kept[1], plan.warnings
        batch = sum(len(s) for s in plan.slots)
        check_batch_pixels(batch, plan.height, plan.width, self._max_batch, self._policy)
        images, masks = allocate_batch(batch, plan.height, plan.width)
        place = partial(decode_file, images=images.numpy(), masks=masks.numpy())
        self._in_threads(place, sources, probes, plan.slots)
        return images, masks, plan.warnings

    def _probe_once(self, known: Probe | None, source: Source, name: str) -> Probe:
        return known if known is not None else probe_file(source, name, self._max_pixels)

    def _in_threads(self, work: Callable[..., Any], *args: Sequence[Any]) -> list[Any]:
        """``work`` over ``args`` on a thread per core; the first failure in input order is raised
        (Executor.map re-raises it and cancels the calls not yet started)."""
        count = max(1, min(self._workers or os.cpu_count() or 1, len(args[0])))
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="floyo-images") as pool:
            return list(pool.map(work, *args))

    def _speculative(self, plan: BatchPlan) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The batch ``add`` filled, if the plan lays the files out exactly as it did; else None
        (and the batch is freed before the plan's own is allocated)."""
        with self._lock:
            batch, self._batch = self._batch, None
            whole = not self._broken and len(self._done) == self._count
        same = whole and (plan.height, plan.width) == self._size and plan.slots == [
            [(0, i)] for i in range(self._count)]
        return batch if same else None


class OutputImages:
    """A run's outputs -> its IMAGE batch: picks the image outputs and decodes them with one
    ``BatchDecoder``, the same for a fresh run (``add`` as each file is saved, then ``finish``)
    and for files saved earlier (``finish`` alone)."""

    def __init__(self, outputs: Sequence[RunOutput], size_policy: str, max_batch_pixels: int):
        self.picks = [i for i, output in enumerate(outputs) if output.is_image]
        self._slots = {output: slot for slot, output in enumerate(self.picks)}
        self._decoder = BatchDecoder(len(self.picks), size_policy=size_policy,
                                     max_batch_pixels=max_batch_pixels)

    def add(self, index: int, path: Path) -> None:
        """Output ``index`` is complete on disk (any thread): decode it now if it is an image."""
        if index in self._slots:
            self._decoder.add(self._slots[index], path, path.name)

    def finish(self, paths: Sequence[str]) -> Decoded:
        """The batch of every image output, from the saved ``paths`` (one per output)."""
        if not self.picks:
            images, masks = empty_batch()  # which other kinds came back: run_result.extra_warnings says
            return images, masks, []
        chosen = [paths[i] for i in self.picks]
        return self._decoder.finish(chosen, [Path(p).name for p in chosen])
