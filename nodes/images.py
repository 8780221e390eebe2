"""Downloaded output files (saved paths, or bytes) -> ComfyUI IMAGE [B,H,W,3] and MASK [B,H,W] tensors, read
like LoadImage.

Imports only torch, numpy and PIL: no ComfyUI module, no network; it reads files, never writes them. Every
header is read first (``image_headers``) and the batch's pixels, padding included, are checked against a
budget before anything is allocated. It never changes process-wide state (``Image.MAX_IMAGE_PIXELS``,
``LOAD_TRUNCATED_IMAGES``, warning filters), because ComfyUI shares the process. Callers pass image files
only: ``is_image_name``/``looks_like_image`` let them skip txt/json/mp4 outputs.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath

import numpy as np
import torch
from PIL import Image

from .image_headers import (  # noqa: F401  (ImageDecodeError, NoImages and Source are this module's API too)
    MAX_BATCH_PIXELS,
    ImageDecodeError,
    NoImages,
    Source,
    _decode_errors,
    _open,
    _Probe,
    _probe,
    check_batch_pixels,
)

logger = logging.getLogger(__name__)

SIZE_POLICIES = ("pad to largest", "crop to smallest", "error", "first only")

IMAGE_EXTENSIONS = frozenset(".png .apng .jpg .jpeg .jpe .jfif .webp .gif .bmp .tif .tiff .avif".split())
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

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
class _Plan:
    height: int
    width: int
    slots: list[list[tuple[int, int]]]  # per file: (frame index, batch index)
    warnings: list[str]


def is_image_name(name: str) -> bool:
    """True if the file name (or URL path) has an image extension this module decodes."""
    return PurePosixPath(name.split("?", 1)[0]).suffix.lower() in IMAGE_EXTENSIONS


def looks_like_image(data: bytes) -> bool:
    """True if the bytes start with the signature of an image format this module decodes."""
    is_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith(_MAGIC) or is_webp or data[4:12] in (b"ftypavif", b"ftypavis")


def _assign_slots(probes: list[_Probe], only: tuple[int, int] | None) -> tuple[list, list[str]]:
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


def _plan(probes: list[_Probe], size_policy: str) -> _Plan:
    """Pick the canvas size and which frame goes to which batch slot, per the size policy."""
    all_sizes = [size for probe in probes for size in probe.sizes]
    first = all_sizes[0]
    slots, warnings = _assign_slots(probes, first if size_policy == "first only" else None)
    if len(set(all_sizes)) <= 1 or size_policy == "first only":
        return _Plan(first[0], first[1], slots, warnings)
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
    return _Plan(height, width, slots, warnings)


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


def _allocate(batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An uninitialised IMAGE batch and a zero MASK batch.

    The mask comes from calloc (numpy zeros): its pages cost no memory until a file with alpha or
    padding writes them, so an RGB batch's all-zero MASK adds nothing to peak memory.
    """
    images = torch.empty((batch, height, width, 3), dtype=torch.float32)
    masks = torch.from_numpy(np.zeros((batch, height, width), dtype=np.float32))
    return images, masks


def _decode_file(
    source: Source, probe: _Probe, slots: list[tuple[int, int]], images: np.ndarray, masks: np.ndarray
) -> None:
    with _decode_errors(probe.name), _open(source) as f, Image.open(f) as img:
        for index, batch in slots:
            img.seek(index)  # sequential: GIF/WebP frames build on the previous one
            if (img.size[::-1] if probe.orientation < 5 else img.size) != probe.sizes[index]:
                raise ImageDecodeError(f"{probe.name!r} frame {index} changed size while decoding")
            _place(img, probe.orientation, images[batch], masks[batch])


def decode_outputs(
    blobs: list[Source],
    names: list[str],
    *,
    size_policy: str = "pad to largest",
    max_pixels: int = 64_000_000,
    max_batch_pixels: int = MAX_BATCH_PIXELS,
    workers: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Decode image files to (IMAGE float32 [B,H,W,3] 0..1, MASK float32 [B,H,W], warnings) on the CPU.

    Every frame of an animated file is a batch entry; EXIF orientation is applied; mask = 1 - alpha (0 without
    alpha). Sizes that differ follow ``size_policy`` (one of SIZE_POLICIES): "pad to largest" centers each
    image on a black canvas of the largest height and width with mask 1 on the padding; "crop to smallest"
    center-crops; "error" raises; "first only" keeps frames of the first frame's size. Nothing is resized.

    ``blobs`` are saved files (paths) or their bytes.

    Raises:
        NoImages: ``blobs`` is empty.
        ImageDecodeError: a file is corrupt, not an image, over ``max_pixels`` (width*height*frames, checked
            from the header), the batch over ``max_batch_pixels`` (its canvas, padding included, checked from
            the headers before allocating), or sizes differ under the "error" policy.
    """
    if len(blobs) != len(names):
        raise ValueError(f"{len(blobs)} blobs but {len(names)} names")
    if size_policy not in SIZE_POLICIES:
        raise ValueError(f"size_policy must be one of {SIZE_POLICIES}, not {size_policy!r}")
    if not blobs:
        raise NoImages("No image outputs to decode")
    count = max(1, min(workers or os.cpu_count() or 1, len(blobs)))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="floyo-images") as pool:
        # Executor.map re-raises the first failure in input order and cancels the calls not yet started.
        probes = list(pool.map(partial(_probe, max_pixels=max_pixels), blobs, names))
        plan = _plan(probes, size_policy)
        batch = sum(len(s) for s in plan.slots)
        check_batch_pixels(batch, plan.height, plan.width, max_batch_pixels, size_policy)
        images, masks = _allocate(batch, plan.height, plan.width)
        image_view, mask_view = images.numpy(), masks.numpy()
        list(pool.map(partial(_decode_file, images=image_view, masks=mask_view), blobs, probes, plan.slots))
    logger.debug("Decoded %d file(s) into IMAGE %s", len(blobs), tuple(images.shape))
    return images, masks, plan.warnings


def encode_png(image: torch.Tensor) -> bytes:
    """First image of an IMAGE ([B,H,W,C] or [H,W,C], C in 1/3/4, float 0..1) as 8-bit PNG bytes."""
    if image.dim() == 4:
        image = image[0]
    if image.dim() != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an IMAGE shaped [B,H,W,C] or [H,W,C], got {tuple(image.shape)}")
    pixels = image.detach().to("cpu", torch.float32).nan_to_num(0.0).clamp(0.0, 1.0)
    # Round, not truncate: k/255 in float32 times 255 can land just under k.
    arr = pixels.mul(255.0).round().to(torch.uint8).contiguous().numpy()
    buffer = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
