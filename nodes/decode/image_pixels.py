"""Pixels of output images, read like LoadImage: the size policy's plan and the placement of each frame
into a preallocated IMAGE [B,H,W,3] / MASK [B,H,W] slot.

``batch_decoder`` is the one caller that decodes (it owns probing order, budgets and threads); this
module decides the layout (``plan_batch``: canvas, slots and the size policy's warnings) and writes pixels.
Imports only torch, numpy and PIL: no ComfyUI module, no network; it reads files, never writes them. It
never changes process-wide state (``Image.MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``, warning
filters), because ComfyUI shares the process. Which outputs are images is the core's call
(``floyo_client.media.is_image``), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .image_headers import ImageDecodeError, Probe, Source, decode_errors, open_source

SIZE_POLICIES = ("pad to largest", "crop to smallest", "error", "first only")


# Orientation tag (EXIF 0x0112) -> the same transform ImageOps.exif_transpose applies, as a numpy view on
# [H,W(,C)] so no rotated copy is made. tests/glue/test_images.py checks all 8 against exif_transpose.
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: a.swapaxes(0, 1)[::-1],
}


@dataclass
class BatchPlan:
    height: int
    width: int
    slots: list[list[tuple[int, int]]]  # per file: (frame index, batch index)
    warnings: list[str]


def _assign_slots(probes: list[Probe], only: tuple[int, int] | None) -> tuple[list, list[str]]:
    """Batch index of every kept frame, file by file; with ``only``, frames of other sizes are skipped."""
    slots: list[list[tuple[int, int]]] = []
    warnings: list[str] = []
    batch = 0
    for probe in probes:
        kept = [index for index, size in enumerate(probe.sizes) if only is None or size == only]
        slots.append([(index, batch + i) for i, index in enumerate(kept)])
        batch += len(kept)
        if only is not None and len(kept) < len(probe.sizes):
            warnings.append(
                f"{probe.name}: skipped {len(probe.sizes) - len(kept)} of {len(probe.sizes)} frame(s) "
                f"not {only[1]}x{only[0]} (size policy 'first only' keeps the first image's size)"
            )
    return slots, warnings


def plan_batch(probes: list[Probe], size_policy: str) -> BatchPlan:
    """Pick the canvas size and which frame goes to which batch slot, per the size policy."""
    all_sizes = [size for probe in probes for size in probe.sizes]
    first = all_sizes[0]
    slots, warnings = _assign_slots(probes, first if size_policy == "first only" else None)
    if len(set(all_sizes)) <= 1 or size_policy == "first only":
        return BatchPlan(first[0], first[1], slots, warnings)
    if size_policy == "error":
        sizes = ", ".join(
            f"{p.name} " + "/".join(f"{w}x{h}" for h, w in dict.fromkeys(p.sizes)) for p in probes
        )
        others = ", ".join(repr(p) for p in SIZE_POLICIES if p != "error")
        raise ImageDecodeError(
            f"Outputs differ in size ({sizes}) and size policy is 'error'; choose {others}"
        )
    pick = max if size_policy == "pad to largest" else min
    height, width = pick(h for h, _ in all_sizes), pick(w for _, w in all_sizes)
    changed = sum(size != (height, width) for size in all_sizes)
    verb = "Padded (centered; mask 1 on the padding)" if pick is max else "Center-cropped"
    warnings.append(f"{verb} {changed} of {len(all_sizes)} image(s) to {width}x{height}")
    return BatchPlan(height, width, slots, warnings)


def _pixels(frame: Image.Image) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(color [H,W] or [H,W,3], alpha or None, divisor to 0..1) of one frame, read like LoadImage."""
    mode = frame.mode
    if mode in ("RGB", "L"):
        return np.asarray(frame), None, 255.0
    if mode in ("RGBA", "LA"):
        arr = np.asarray(frame)
        return (arr[..., :3] if mode == "RGBA" else arr[..., 0]), arr[..., -1], 255.0
    if mode.startswith("I;16"):
        return np.asarray(frame), None, 65535.0
    if mode == "I":
        # LoadImage scales mode I by 1/255 before an 8-bit convert, i.e. it treats I as 16-bit data; an
        # image whose values all fit in 0..255 is 8-bit data stored as I, so scale that by 255 instead.
        arr = np.asarray(frame)
        return arr, None, (255.0 if arr.size and arr.max() <= 255 else 65535.0)
    if mode == "F":
        # LoadImage's RGB convert reads F as 0..255; float files holding 0..1 would turn black that way.
        arr = np.asarray(frame)
        return arr, None, (1.0 if not arr.size or np.nanmax(arr) <= 1.0 else 255.0)
    # P, 1, CMYK, YCbCr, LAB, PA, RGBa, ...; LoadImage takes a P image's mask from convert("RGBA").
    has_alpha = (
        "A" in frame.getbands() or "a" in frame.getbands() or (mode == "P" and "transparency" in frame.info)
    )
    return _pixels(frame.convert("RGBA" if has_alpha else "RGB"))


def _window(src: int, dst: int) -> tuple[slice, slice]:
    """Source and destination slices that center a run of ``src`` pixels on ``dst`` (crop or pad)."""
    if src >= dst:
        start = (src - dst) // 2
        return slice(start, start + dst), slice(0, dst)
    start = (dst - src) // 2
    return slice(0, src), slice(start, start + src)


def _fill_outside(slot: np.ndarray, ys: slice, xs: slice, value: float) -> None:
    slot[: ys.start] = value
    slot[ys.stop :] = value
    slot[ys, : xs.start] = value
    slot[ys, xs.stop :] = value


def _place(frame: Image.Image, orientation: int, image: np.ndarray, mask: np.ndarray) -> None:
    """Write one frame into its preallocated [H,W,3] image and [H,W] mask slots, no float temporaries."""
    color, alpha, divisor = _pixels(frame)
    if orientation in _ORIENT:
        color = _ORIENT[orientation](color)
        alpha = None if alpha is None else _ORIENT[orientation](alpha)
    src_y, dst_y = _window(color.shape[0], image.shape[0])
    src_x, dst_x = _window(color.shape[1], image.shape[1])
    if color.ndim == 2:
        color = color[..., None]  # grayscale: broadcast into the 3 channels
    out = image[dst_y, dst_x]
    np.divide(color[src_y, src_x], np.float32(divisor), out=out, dtype=np.float32, casting="unsafe")
    if color.dtype != np.uint8:  # 16-bit, I and F data can fall outside 0..1 (or be NaN); uint8 cannot
        np.nan_to_num(out, copy=False, nan=0.0)
        np.clip(out, 0.0, 1.0, out=out)
    # ComfyUI's mask is 1 - alpha: 1 where the picture is transparent; no alpha means nothing masked.
    out_mask = mask[dst_y, dst_x]
    if alpha is not None:  # without alpha the slot keeps the zeros it was allocated with
        np.divide(alpha[src_y, src_x], np.float32(255.0), out=out_mask, dtype=np.float32, casting="unsafe")
        np.subtract(np.float32(1.0), out_mask, out=out_mask)
    if out.shape[:2] != image.shape[:2]:  # padded: black and fully masked, like a transparent border
        _fill_outside(image, dst_y, dst_x, 0.0)
        _fill_outside(mask, dst_y, dst_x, 1.0)


def allocate_batch(batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An uninitialised IMAGE batch and a zero MASK batch.

    The mask comes from calloc (numpy zeros): its pages cost no memory until a file with alpha or
    padding writes them, so an RGB batch's all-zero MASK adds nothing to peak memory.
    """
    images = torch.empty((batch, height, width, 3), dtype=torch.float32)
    masks = torch.from_numpy(np.zeros((batch, height, width), dtype=np.float32))
    return images, masks


def empty_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The IMAGE and MASK of a run with no image outputs (ComfyUI's nodes expect a 4-D batch)."""
    return torch.zeros((0, 64, 64, 3), dtype=torch.float32), torch.zeros((0, 64, 64), dtype=torch.float32)


def decode_file(
    source: Source, probe: Probe, slots: list[tuple[int, int]], images: np.ndarray, masks: np.ndarray
) -> None:
    with decode_errors(probe.name), open_source(source) as f, Image.open(f) as img:
        for index, batch in slots:
            img.seek(index)  # sequential: GIF/WebP frames build on the previous one
            if (img.size[::-1] if probe.orientation < 5 else img.size) != probe.sizes[index]:
                raise ImageDecodeError(f"{probe.name!r} frame {index} changed size while decoding")
            _place(img, probe.orientation, images[batch], masks[batch])
