"""Decoding output files into one preallocated batch while the rest are still downloading.

The fast path of ``nodes/outputs.py``: it shares ``images.py``'s probing and pixel placement, so
both paths give the same tensors. Must not apply size policies or build error messages: anything
unusual is handed back to ``images.decode_outputs``.
"""

from __future__ import annotations

import threading

import torch

from .image_headers import MAX_BATCH_PIXELS, ImageDecodeError, Source, _Probe, _probe, check_batch_pixels
from .images import _allocate, _decode_file


class BatchDecoder:
    """Decode image files into one preallocated batch as each arrives, from several threads at once.

    Bets on what a remote SaveImage produces: every file is one frame of the size of the first file
    to arrive. ``add`` then probes the saved file (refusing bombs before any pixel, and a batch over
    the pixel budget before allocating it) and decodes it straight into its slot, so decoding
    overlaps the downloads still running and no per-file float copy is made. A file that breaks
    the bet (animated, another size, unreadable, a batch over budget) ends it: ``result`` is then
    None and the caller decodes all files with ``decode_outputs``, which applies the size policy
    and raises the precise error, so both paths give the same tensors, warnings and errors.
    """

    def __init__(self, names: list[str], *, max_pixels: int = 64_000_000,
                 max_batch_pixels: int = MAX_BATCH_PIXELS):
        self._names, self._max_pixels, self._max_batch = names, max_pixels, max_batch_pixels
        self._lock = threading.Lock()
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._size: tuple[int, int] | None = None
        self._done: set[int] = set()
        self._broken = False

    def add(self, index: int, blob: Source) -> bool:
        """Decode file ``index`` into its slot; False once the bet is off (nothing is raised)."""
        if self._broken:
            return False
        try:
            probe = _probe(blob, self._names[index], self._max_pixels)
            batch = self._slots(probe)
            if batch is None:
                return self._give_up()
            _decode_file(blob, probe, [(0, index)], batch[0].numpy(), batch[1].numpy())
        except ImageDecodeError:
            return self._give_up()
        with self._lock:
            self._done.add(index)
        return not self._broken

    def _slots(self, probe: _Probe) -> tuple[torch.Tensor, torch.Tensor] | None:
        with self._lock:
            if self._broken or len(probe.sizes) != 1:
                return None
            if self._batch is None:
                self._size = probe.sizes[0]
                check_batch_pixels(len(self._names), *self._size, self._max_batch, "first only")
                self._batch = _allocate(len(self._names), *self._size)
            return self._batch if probe.sizes[0] == self._size else None

    def _give_up(self) -> bool:
        with self._lock:
            self._broken, self._batch = True, None  # free the batch now; the fallback makes its own
        return False

    def result(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(IMAGE, MASK) when every file was decoded on the fast path, else None."""
        with self._lock:
            if self._broken or self._batch is None or len(self._done) != len(self._names):
                return None
            return self._batch
