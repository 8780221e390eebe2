"""The decoded batch is budgeted before it is allocated: its pixels counted from the file headers,
the pad canvas included (a 1x8000 and an 8000x1 image padded together make 2 x 8000 x 8000), so
a hostile or buggy answer gets a clear error naming the numbers and the way out, never an
allocation that takes ComfyUI down. The files stay saved."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from floyo_pack.nodes.decode import batch_decoder
from floyo_pack.nodes.decode.batch_decoder import BatchDecoder
from floyo_pack.nodes.decode.image_headers import ImageDecodeError
from floyo_pack.nodes.run import collect
from floyo_scripted import OutputSpec
from PIL import Image


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def allocations(monkeypatch) -> list[tuple[int, int, int]]:
    seen: list[tuple[int, int, int]] = []
    real = batch_decoder.allocate_batch

    def spy(batch: int, height: int, width: int):
        seen.append((batch, height, width))
        return real(batch, height, width)

    monkeypatch.setattr(batch_decoder, "allocate_batch", spy)
    return seen


def test_the_pad_canvas_counts_against_the_budget_before_anything_is_allocated(allocations, tmp_path):
    files = [tmp_path / "tall.png", tmp_path / "wide.png"]
    files[0].write_bytes(png(1, 8000))
    files[1].write_bytes(png(8000, 1))
    with pytest.raises(ImageDecodeError) as caught:
        BatchDecoder(2, max_batch_pixels=100_000_000).finish(files, ["tall.png", "wide.png"])
    message = str(caught.value)
    assert "2 x 8000x8000 = 128.0 megapixels" in message and "over the 100 megapixel limit" in message
    assert "'crop to smallest' or 'first only'" in message and "FLOYO_MAX_MEGAPIXELS" in message
    assert allocations == []
    cropped, _, _ = BatchDecoder(2, size_policy="crop to smallest", max_batch_pixels=100_000_000).finish(
        files, ["tall.png", "wide.png"])
    assert tuple(cropped.shape) == (2, 1, 1, 3)


def test_the_fast_path_never_allocates_a_batch_over_the_budget(allocations):
    decoder = BatchDecoder(3, max_batch_pixels=20_000)
    assert not decoder.add(0, png(100, 100), "a.png")  # 3 x 100 x 100 = 30,000 pixels
    assert allocations == []


async def test_collect_refuses_a_batch_over_the_budget_and_keeps_the_files(server, finished, allocations,
                                                                           monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_MEGAPIXELS", "1")
    client, handle = await finished(server, [OutputSpec(size=(1, 2000)), OutputSpec(size=(2000, 1), seed=2)])
    saved: list[list] = []
    async with client:
        with pytest.raises(ImageDecodeError, match=r"2 x 2000x2000 = 8\.0 megapixels .* over the 1 megapix"):
            await collect.collect(handle, handle.run, "pad to largest", on_saved=saved.append)
    assert len(saved[0]) == 2 and all(Path(f.path).stat().st_size == f.size for f in saved[0])
    assert all(b * h * w <= 1_000_000 for b, h, w in allocations)
