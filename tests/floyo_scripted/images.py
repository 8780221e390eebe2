"""Real output files for the local server: PNG/JPEG/WebP/GIF/TIFF/AVIF images, text and binary blobs.

Content is smooth gradients plus noise (so it does not compress to nothing), deterministic from
the spec's seed, and cached per spec for the life of the process. No HTTP and no run state here.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image

from .scenario import OutputSpec

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif", "tiff": "tif", "avif": "avif",
              "txt": "txt", "bin": "bin"}
# TIFF and AVIF outputs come with no MIME type (an empty one): the client must go by the extension.
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
              "tiff": "", "avif": "", "txt": "text/plain", "bin": "application/octet-stream"}
_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF", "avif": "AVIF"}
_MODES_BY_FORMAT = {
    "png": {"RGB", "RGBA", "L", "P", "I;16"},
    "jpeg": {"RGB", "L"},
    "webp": {"RGB", "RGBA"},
    "gif": {"P"},  # PIL reads any GIF back as P
    "tiff": {"RGB", "RGBA", "L"},
    "avif": {"RGB", "RGBA"},
}


def mime_type(spec: OutputSpec) -> str:
    return MIME_TYPES[spec.format]


def extension(spec: OutputSpec) -> str:
    return EXTENSIONS[spec.format]


def validate(spec: OutputSpec) -> None:
    """Raise ValueError for a spec the generator cannot honour (e.g. RGBA JPEG)."""
    if spec.format not in EXTENSIONS:
        raise ValueError(f"unknown output format {spec.format!r}")
    if spec.format in _MODES_BY_FORMAT and spec.mode not in _MODES_BY_FORMAT[spec.format]:
        raise ValueError(f"{spec.format} cannot hold mode {spec.mode}")
    if spec.bomb and spec.format != "png":
        raise ValueError("bomb outputs are PNG only")
    if spec.frames > 1 and spec.format not in ("png", "webp", "gif"):
        raise ValueError(f"{spec.format} cannot be animated")


@functools.lru_cache(maxsize=256)
def generate(spec: OutputSpec) -> bytes:
    """The bytes of one output file (cached: equal specs are generated once per process)."""
    validate(spec)
    if spec.format == "txt":
        data = _text(spec)
    elif spec.format == "bin":
        data = np.random.default_rng(spec.seed).bytes(spec.nbytes if spec.nbytes is not None else 4096)
    elif spec.bomb:
        data = _bomb_png(*spec.resolved_size)
    else:
        data = _image(spec)
    return _corrupt(data) if spec.corrupt else data


def _text(spec: OutputSpec) -> bytes:
    nbytes = spec.nbytes if spec.nbytes is not None else 64
    rng = np.random.default_rng(spec.seed)
    lines = []
    while sum(len(line) for line in lines) < nbytes:
        lines.append(f"floyo output line {len(lines)} token {int(rng.integers(1 << 30))}\n")
    return "".join(lines).encode()[:nbytes]


def _pixels(spec: OutputSpec, frame: int) -> Image.Image:
    width, height = spec.resolved_size
    rng = np.random.default_rng((spec.seed, frame))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = frame * 17.0
    base = np.stack([(x + shift) / max(width, 1) * 255, y / max(height, 1) * 255,
                     (x + y + 2 * shift) / max(width + height, 1) * 255,
                     (width - x + y) / max(width + height, 1) * 255], axis=-1) % 256
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255)
    if spec.mode == "I;16":
        return Image.fromarray((noisy[..., 0] * 257).astype(np.uint16))
    rgba = Image.fromarray(noisy.astype(np.uint8))  # (h, w, 4) uint8: RGBA
    if spec.mode == "P":
        return rgba.convert("RGB").quantize(colors=64)
    return rgba.convert(spec.mode)


def _image(spec: OutputSpec) -> bytes:
    frames = [_pixels(spec, i) for i in range(max(spec.frames, 1))]
    options: dict[str, object] = {}
    if spec.exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = spec.exif_orientation
        options["exif"] = exif.tobytes()
    if spec.format == "jpeg":
        options["quality"] = 90
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=100, loop=0)
    buffer = io.BytesIO()
    frames[0].save(buffer, _PIL_FORMAT[spec.format], **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _bomb_png(width: int, height: int) -> bytes:
    """A few-hundred-byte PNG that declares ``width`` x ``height`` RGB pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress((b"\x00" + b"\x00" * (width * 3)) * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows)
            + _png_chunk(b"IEND", b""))


def _corrupt(data: bytes) -> bytes:
    """Keep the first 32 bytes (signature and header), garble and cut the rest."""
    head, tail = data[:32], bytearray(data[32: 32 + max(len(data) // 2, 16)])
    for i in range(0, len(tail), 7):
        tail[i] ^= 0x5A
    return head + bytes(tail)
