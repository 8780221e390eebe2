"""Generated output files are real: they open in PIL with the promised format, mode, size,
frame count and EXIF orientation, and the broken ones (corrupt, decompression bomb) break the
way a downloader has to handle."""

from __future__ import annotations

import io
import zlib

import pytest
from floyo_scripted import OutputSpec, Step, generate_output
from PIL import Image

_PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}


@pytest.mark.parametrize(("fmt", "mode"), [
    ("png", "RGB"), ("png", "RGBA"), ("png", "L"), ("png", "P"), ("png", "I;16"),
    ("jpeg", "RGB"), ("jpeg", "L"), ("webp", "RGB"), ("webp", "RGBA"), ("gif", "P"),
])
def test_image_opens_with_format_mode_and_size(fmt, mode):
    data = generate_output(OutputSpec(format=fmt, mode=mode, size=(48, 32)))
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert (img.format, img.size) == (_PIL_NAMES[fmt], (48, 32))
        assert img.mode == mode


@pytest.mark.parametrize("fmt", ["png", "webp", "gif"])
def test_animated_outputs_have_frames(fmt):
    mode = "P" if fmt == "gif" else "RGB"
    with Image.open(io.BytesIO(generate_output(OutputSpec(format=fmt, mode=mode, frames=3)))) as img:
        assert getattr(img, "n_frames", 1) == 3


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_written(fmt, orientation):
    data = generate_output(OutputSpec(format=fmt, size=(40, 20), exif_orientation=orientation))
    with Image.open(io.BytesIO(data)) as img:
        assert img.getexif().get(0x0112) == orientation and img.size == (40, 20)


def test_content_is_deterministic_cached_and_not_trivially_compressible():
    spec = OutputSpec(size=(256, 256))
    first = generate_output(spec)
    assert generate_output(OutputSpec(size=(256, 256))) is first  # equal specs: one generation
    assert generate_output(OutputSpec(size=(256, 256), seed=1)) != first
    assert len(first) > 256 * 256  # noisy: far from a flat image's few hundred bytes
    assert len(zlib.compress(first)) > 0.9 * len(first)


def test_corrupt_image_fails_to_load():
    data = generate_output(OutputSpec(size=(64, 64), corrupt=True))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises((OSError, SyntaxError, ValueError)), Image.open(io.BytesIO(data)) as img:
        img.load()


def test_bomb_is_tiny_but_declares_30000_square():
    data = generate_output(OutputSpec(bomb=True))
    assert len(data) < 2000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))
    Image.MAX_IMAGE_PIXELS, saved = None, Image.MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            assert img.size == (30000, 30000)
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def test_text_and_binary_sizes():
    assert len(generate_output(OutputSpec(format="txt", nbytes=300))) == 300
    assert generate_output(OutputSpec(format="txt")).decode().startswith("floyo output")
    assert len(generate_output(OutputSpec(format="bin", nbytes=12345))) == 12345


@pytest.mark.parametrize("spec", [OutputSpec(format="jpeg", mode="RGBA"), OutputSpec(format="heic"),
                                  OutputSpec(format="jpeg", frames=2), OutputSpec(format="gif", bomb=True)])
def test_impossible_specs_are_refused(spec):
    with pytest.raises(ValueError):
        generate_output(spec)


async def test_run_outputs_carry_mime_types_and_exact_sizes(server, api, http):
    specs = [OutputSpec(format="gif", mode="P", frames=2), OutputSpec(format="txt", nbytes=10),
             OutputSpec(format="bin", nbytes=20), OutputSpec(format="jpeg", size=(1024, 1024))]
    server.update(steps=[Step("done")], outputs=specs)
    outs = (await api.finished(expand="outputs.presigned_url"))["outputs"]
    assert [o["mime_type"] for o in outs] == ["image/gif", "text/plain", "application/octet-stream",
                                              "image/jpeg"]
    for out, spec in zip(outs, specs, strict=True):
        async with http.get(out["presigned_url"]) as resp:
            assert await resp.read() == generate_output(spec)
            assert out["size_bytes"] == len(generate_output(spec))
