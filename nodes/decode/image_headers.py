"""Reading output images' headers: sizes, frames and orientation, without decoding a pixel.

Used by ``batch_decoder`` (the one decoder) before any pixel is placed. Refuses decompression
bombs per file and a batch over the pixel budget (padding included) before anything is
allocated. Opens saved files (or bytes) lazily; never writes, never changes PIL's process-wide
settings.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Union

from PIL import Image

MAX_BATCH_PIXELS = 512_000_000  # float32 IMAGE + MASK: 16 bytes a pixel, about 8 GB
MAX_FILE_PIXELS = 64_000_000  # one file, all its frames: a decompression bomb beyond this
Source = Union[bytes, str, "os.PathLike[str]"]  # a saved file, or its bytes
_ORIENTATIONS = range(2, 9)  # EXIF orientations that move pixels (1 is "as stored")


class ImageDecodeError(ValueError):
    """An output file could not be turned into an IMAGE; the message names the file and is safe to show."""


class NoImages(ImageDecodeError):
    """The decoder was given no files: there is no meaningful empty IMAGE to return."""


@dataclass(frozen=True)
class Probe:
    """What the header says about one file: final (post-orientation) size of each frame."""

    name: str
    sizes: tuple[tuple[int, int], ...]  # (height, width) per frame
    orientation: int


@contextmanager
def decode_errors(name: str) -> Iterator[None]:
    """Turn whatever PIL raises on bad input into an ImageDecodeError that names the file."""
    try:
        yield
    except (ImageDecodeError, MemoryError):
        raise
    # The warning only arrives as an exception if the host made warnings errors; either way it is a bomb.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"Refused {name!r} as too large to decode safely: {exc}") from exc
    # PIL raises many unrelated types on corrupt data (OSError, SyntaxError, struct.error, IndexError, ...).
    except Exception as exc:
        message = _missing_codec(name) or f"Could not decode {name!r} as an image: {exc}"
        raise ImageDecodeError(message) from exc


def _missing_codec(name: str) -> str | None:
    """Why a file of an image type (floyo_client.media) fails when this Pillow has no reader for it."""
    suffix = os.path.splitext(name)[1].lower()
    if not suffix or suffix in Image.registered_extensions():
        return None
    return (f"Could not decode {name!r}: the Pillow in ComfyUI's Python ({Image.__version__}) cannot "
            f"read {suffix} files. Update Pillow in that environment (AVIF needs Pillow 11.3 or newer); "
            "the file is saved in ComfyUI's output folder.")


def open_source(source: Source) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")  # noqa: SIM115


def _png_has_exif(source: Source) -> bool:
    """Whether a PNG has an eXIf chunk, reading only the chunk headers (a byte scan of a 2 MB file
    costs about a thousand times more than the walk). A malformed layout says yes: PIL then looks."""
    with open_source(source) as f:
        f.seek(8)
        while len(head := f.read(8)) == 8:
            if head[4:] == b"eXIf":
                return True
            if head[4:] == b"IEND":
                return False
            f.seek(int.from_bytes(head[:4], "big") + 4, io.SEEK_CUR)
    return True  # cut short or malformed


def _orientation(img: Image.Image, source: Source) -> int:
    # PNG getexif() decodes the whole image when no eXIf chunk came before the pixels; skip that
    # cost when the file has no eXIf chunk at all (far cheaper than inflating).
    if img.format == "PNG" and "exif" not in img.info and not _png_has_exif(source):
        return 1
    value = img.getexif().get(0x0112, 1)
    return value if value in _ORIENTATIONS else 1


def probe_file(source: Source, name: str, max_pixels: int) -> Probe:
    """Read sizes and frame count from the header only; refuse decompression bombs before any pixel."""
    with decode_errors(name), open_source(source) as f, Image.open(f) as img:
        # LoadImage keeps only the first picture of an MPO (a JPEG with an embedded preview).
        count = 1 if img.format == "MPO" else int(getattr(img, "n_frames", 1))
        width, height = img.size
        sizes = [(height, width)] * count
        if count > 1 and img.format == "TIFF":
            sizes = []  # TIFF pages may differ in size; seeking a page reads its tags, not its pixels
            for index in range(count):
                img.seek(index)
                sizes.append((img.size[1], img.size[0]))
        total = sum(h * w for h, w in sizes)
        if total > max_pixels:
            raise ImageDecodeError(
                f"Refused {name!r} as too large: {width}x{height} pixels x {count} frame(s) = {total:,} "
                f"pixels, over the limit of {max_pixels:,}"
            )
        img.seek(0)
        orientation = _orientation(img, source)
    if orientation >= 5:
        sizes = [(w, h) for h, w in sizes]
    return Probe(name, tuple(sizes), orientation)


def check_batch_pixels(batch: int, height: int, width: int, max_batch_pixels: int, size_policy: str) -> None:
    """Refuse, before allocating it, a batch whose decoded pixels (padding included) exceed the budget."""
    total = batch * height * width
    if total <= max_batch_pixels:
        return
    way_out = "raise FLOYO_MAX_MEGAPIXELS if this machine has the memory"
    if size_policy == "pad to largest":
        way_out = f"use size_policy 'crop to smallest' or 'first only' (no padding), or {way_out}"
    raise ImageDecodeError(
        f"The outputs would decode to {batch} x {width}x{height} = {total / 1e6:,.1f} megapixels "
        f"(size policy {size_policy!r}, padding included; about {total * 16 / 2**30:,.1f} GiB), over the "
        f"{max_batch_pixels / 1e6:,.0f} megapixel limit. The files are saved; {way_out}."
    )
