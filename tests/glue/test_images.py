"""BatchDecoder/encode_png: remote outputs must arrive as the same IMAGE/MASK LoadImage would give.

Why it matters: a wrong mask sign, a lost EXIF rotation, a 16-bit image cut to 8 bits or a silently stretched
batch corrupts every downstream node without an error; a decompression bomb from a remote run must not take
the local ComfyUI down. All images are built in memory, so the expected pixels are known exactly.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from floyo_pack.nodes.decode.batch_decoder import BatchDecoder
from floyo_pack.nodes.decode.image_headers import ImageDecodeError, NoImages
from floyo_pack.nodes.decode.image_pixels import SIZE_POLICIES
from floyo_pack.nodes.inputs.upload_payloads import encode_png
from PIL import Image, ImageFile, ImageOps


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def decode_outputs(blobs: list[bytes], names: list[str], **kwargs):
    """The one decoder, on files it did not see arrive (as collect_saved uses it)."""
    return BatchDecoder(len(blobs), **kwargs).finish(blobs, names)


def decode_one(blob: bytes, name: str = "out.png", **kwargs):
    images, masks, warnings = decode_outputs([blob], [name], **kwargs)
    return images, masks, warnings


def loadimage_rgb(img: Image.Image) -> np.ndarray:
    """What ComfyUI's LoadImage computes for an 8-bit frame."""
    return np.array(ImageOps.exif_transpose(img).convert("RGB")).astype(np.float32) / 255.0


def gradient(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_output_is_contiguous_float32_in_unit_range_and_matches_loadimage():
    arr = gradient(7, 5)
    images, masks, warnings = decode_one(encode(Image.fromarray(arr)))
    assert images.dtype == masks.dtype == torch.float32
    assert images.device.type == "cpu" and images.is_contiguous() and masks.is_contiguous()
    assert images.shape == (1, 5, 7, 3) and masks.shape == (1, 5, 7)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.array_equal(images[0].numpy(), arr.astype(np.float32) / 255.0)  # bit-exact with LoadImage
    assert warnings == []


def test_rgba_alpha_becomes_mask_as_one_minus_alpha_and_color_is_not_premultiplied():
    rgba = np.dstack([gradient(6, 4), np.arange(24, dtype=np.uint8).reshape(4, 6) * 10])
    images, masks, _ = decode_one(encode(Image.fromarray(rgba, "RGBA")))
    assert np.array_equal(masks[0].numpy(), 1.0 - rgba[..., 3].astype(np.float32) / 255.0)
    assert np.array_equal(images[0].numpy(), rgba[..., :3].astype(np.float32) / 255.0)


def test_image_without_alpha_gets_an_all_zero_mask_of_its_own_size():
    _, masks, _ = decode_one(encode(Image.new("RGB", (9, 3), "red")))
    assert masks.shape == (1, 3, 9) and not masks.any()


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grayscale_modes_are_replicated_to_three_equal_channels(mode):
    gray = (
        (np.arange(20, dtype=np.uint8).reshape(4, 5) * 12)
        if mode != "1"
        else np.eye(4, 5, dtype=np.uint8) * 255
    )
    img = Image.fromarray(gray, "L").convert(mode)
    images, masks, _ = decode_one(encode(img))
    expected = np.array(img.convert("L")).astype(np.float32) / 255.0
    for channel in range(3):
        assert np.array_equal(images[0, ..., channel].numpy(), expected)
    if mode == "LA":
        assert not masks.any()  # LA converted from L: fully opaque


def test_la_alpha_becomes_mask():
    la = Image.merge(
        "LA", [Image.new("L", (3, 2), 100), Image.fromarray(np.array([[0, 255, 51]] * 2, np.uint8))]
    )
    _, masks, _ = decode_one(encode(la))
    assert np.allclose(masks[0].numpy(), [[1.0, 0.0, 0.8]] * 2)


def palette_image(transparent_index: int | None) -> bytes:
    img = Image.new("P", (4, 3), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    img.putpixel((1, 1), 1)
    return encode(img) if transparent_index is None else encode(img, transparency=transparent_index)


def test_palette_image_colors_are_looked_up():
    images, masks, _ = decode_one(palette_image(None))
    assert images[0, 0, 0].tolist() == [1.0, 0.0, 0.0] and images[0, 1, 1].tolist() == [0.0, 1.0, 0.0]
    assert not masks.any()


def test_palette_transparency_becomes_mask_like_loadimage():
    _, masks, _ = decode_one(palette_image(1))
    expected = np.zeros((3, 4), np.float32)
    expected[1, 1] = 1.0
    assert np.array_equal(masks[0].numpy(), expected)


def test_cmyk_is_converted_to_rgb_like_pil():
    cmyk = Image.fromarray(np.dstack([gradient(5, 4)] + [np.full((4, 5), 30, np.uint8)]), "CMYK")
    images, _, _ = decode_one(encode(cmyk, "TIFF"), "out.tif")
    assert np.array_equal(images[0].numpy(), loadimage_rgb(cmyk))


@pytest.mark.parametrize(("mode", "fmt"), [("I;16", "PNG"), ("I;16", "TIFF"), ("I;16B", "TIFF")])
def test_16_bit_images_keep_their_precision(mode, fmt):
    values = np.array([[1000, 65535], [0, 30001]], dtype=np.uint16)
    img = Image.frombytes(mode, (2, 2), values.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
    images, masks, _ = decode_one(encode(img, fmt), "deep." + fmt.lower())
    assert Image.open(io.BytesIO(encode(img, fmt))).mode.startswith("I;16")  # the path under test
    for channel in range(3):
        assert np.allclose(images[0, ..., channel].numpy(), values / 65535.0, atol=1e-5, rtol=0)
    assert abs(images[0, 0, 0, 0].item() - 1000 / 65535) < 1e-5 and not masks.any()


def test_32_bit_int_images_are_scaled_as_16_bit_data_like_loadimage():
    values = np.array([[1000, 65535], [0, 70000]], dtype=np.int32)
    images, _, _ = decode_one(encode(Image.fromarray(values, "I"), "TIFF"), "i32.tif")
    assert np.allclose(images[0, ..., 1].numpy(), [[1000 / 65535, 1.0], [0.0, 1.0]], atol=1e-6)


def test_32_bit_int_images_that_fit_in_8_bits_are_scaled_by_255():
    values = np.array([[0, 51], [255, 102]], dtype=np.int32)
    images, _, _ = decode_one(encode(Image.fromarray(values, "I"), "TIFF"), "i8.tif")
    assert np.allclose(images[0, ..., 2].numpy(), values / 255.0, atol=1e-6)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([[0.25, 1.0], [0.0, 0.5]], [[0.25, 1.0], [0.0, 0.5]]),
        ([[51.0, 255.0], [-3.0, 510.0]], [[0.2, 1.0], [0.0, 1.0]]),
    ],
)
def test_float_images_in_unit_range_are_kept_and_0_255_floats_are_scaled(values, expected):
    img = Image.fromarray(np.array(values, np.float32), "F")
    images, _, _ = decode_one(encode(img, "TIFF"), "f.tif")
    assert np.allclose(images[0, ..., 0].numpy(), expected, atol=1e-6)


def with_orientation(img: Image.Image, orientation: int, fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(img, fmt, exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_loadimage(orientation, fmt):
    blob = with_orientation(Image.fromarray(gradient(6, 4)), orientation, fmt)
    images, masks, _ = decode_one(blob, "photo." + fmt.lower())
    expected = loadimage_rgb(Image.open(io.BytesIO(blob)))
    assert images.shape[1:3] == expected.shape[:2] == ((4, 6) if orientation < 5 else (6, 4))
    assert np.array_equal(images[0].numpy(), expected) and masks.shape[1:] == expected.shape[:2]


@pytest.mark.parametrize(
    ("orientation", "shape", "where"), [(3, (2, 4), (1, 3)), (6, (4, 2), (0, 1)), (8, (4, 2), (3, 0))]
)
def test_exif_rotation_moves_the_top_left_pixel_where_the_viewer_shows_it(orientation, shape, where):
    arr = np.zeros((2, 4, 3), np.uint8)
    arr[0, 0] = (255, 0, 0)  # the stored top-left pixel is the only red one
    images, _, _ = decode_one(with_orientation(Image.fromarray(arr), orientation, "PNG"))
    assert images.shape[1:3] == shape
    red = (images[0, ..., 0] == 1.0).nonzero().tolist()
    assert red == [list(where)]


def test_png_exif_chunk_after_the_pixels_is_still_honoured():
    plain = encode(Image.fromarray(gradient(6, 4)))
    exif = Image.Exif()
    exif[0x0112] = 6
    blob = plain[:-12] + png_chunk(b"eXIf", exif.tobytes()[6:]) + plain[-12:]  # just before IEND
    images, _, _ = decode_one(blob)
    assert images.shape == (1, 6, 4, 3)
    assert np.array_equal(images[0].numpy(), loadimage_rgb(Image.open(io.BytesIO(blob))))


def frames(count: int, size=(5, 3)) -> list[Image.Image]:
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    return [Image.new("RGB", size, colors[i % 4]) for i in range(count)]


@pytest.mark.parametrize(
    ("fmt", "kwargs", "name"),
    [("GIF", {}, "a.gif"), ("WEBP", {"lossless": True}, "a.webp"), ("PNG", {}, "a.png")],
)
def test_every_frame_of_an_animated_image_becomes_a_batch_entry(fmt, kwargs, name):
    first, *rest = frames(4)
    blob = encode(first, fmt, save_all=True, append_images=rest, duration=40, loop=0, **kwargs)
    images, masks, _ = decode_one(blob, name)
    assert images.shape == (4, 3, 5, 3) and masks.shape == (4, 3, 5)
    assert [images[i, 1, 2].tolist() for i in range(4)] == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]


def test_gif_transparency_becomes_mask_on_every_frame():
    first, second = (Image.new("RGBA", (4, 2), (255, 0, 0, 255)) for _ in range(2))
    first.putpixel((0, 0), (0, 0, 0, 0))
    second.putpixel((3, 1), (0, 0, 0, 0))
    second.putpixel((0, 0), (0, 0, 255, 255))
    blob = encode(first, "GIF", save_all=True, append_images=[second], disposal=2, duration=40)
    _, masks, _ = decode_one(blob, "t.gif")
    assert masks[0, 0, 0] == 1.0 and masks[0].sum() == 1.0
    assert masks[1, 1, 3] == 1.0 and masks[1].sum() == 1.0


def png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is patched to claim width x height (its CRC fixed up)."""
    data = bytearray(encode(Image.new("RGB", (1, 1))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_pil_sized_bomb_is_refused_from_the_header_naming_the_file():
    with pytest.raises(ImageDecodeError, match=r"(?s)'bomb\.png'.*too large.*900000000"):
        decode_one(png_declaring(30000, 30000), "bomb.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_over_max_pixels_is_refused_before_decoding_with_its_size(monkeypatch):
    # 10000x10000 passes PIL's hard limit (2 * MAX_IMAGE_PIXELS); any pixel decoding would fail the match.
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels were decoded"))
    with pytest.raises(ImageDecodeError, match=r"'big\.png'.*too large: 10000x10000 pixels x 1 frame"):
        decode_one(png_declaring(10000, 10000), "big.png")


def test_max_pixels_counts_every_frame():
    first, *rest = frames(4, size=(10, 10))
    blob = encode(first, "GIF", save_all=True, append_images=rest)
    assert decode_one(blob, "ok.gif", max_pixels=400)[0].shape[0] == 4
    with pytest.raises(ImageDecodeError, match=r"'anim\.gif'.*10x10 pixels x 4 frame\(s\) = 400"):
        decode_one(blob, "anim.gif", max_pixels=399)


@pytest.mark.parametrize(
    "blob",
    [b"not an image at all", encode(Image.new("RGB", (64, 64)))[:60], b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b""],
    ids=["text", "truncated-png", "bad-header", "empty"],
)
def test_corrupt_bytes_raise_decode_error_naming_the_file(blob):
    good = encode(Image.new("RGB", (2, 2)))
    with pytest.raises(ImageDecodeError, match=r"'broken\.png'") as caught:
        decode_outputs([good, blob], ["fine.png", "broken.png"])
    assert isinstance(caught.value, ValueError)


def two_sizes() -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    wide, tall = gradient(4, 2, seed=1), gradient(2, 6, seed=2)  # (H,W) = (2,4) and (6,2)
    return wide, tall, [encode(Image.fromarray(wide)), encode(Image.fromarray(tall))]


def test_pad_to_largest_centers_each_image_unstretched_on_black_with_mask_one():
    wide, tall, blobs = two_sizes()
    images, masks, warnings = decode_outputs(blobs, ["w.png", "t.png"], size_policy="pad to largest")
    assert images.shape == (2, 6, 4, 3) and masks.shape == (2, 6, 4)
    assert np.array_equal(images[0, 2:4].numpy(), wide / np.float32(255))  # rows 2..3: (6-2)//2 = 2
    assert np.array_equal(images[1, :, 1:3].numpy(), tall / np.float32(255))  # cols 1..2
    assert not images[0, :2].any() and not images[0, 4:].any() and not images[1, :, [0, 3]].any()
    assert masks[0, 2:4].sum() == 0 and masks[0, :2].min() == 1 and masks[0, 4:].min() == 1
    assert masks[1, :, 1:3].sum() == 0 and masks[1, :, [0, 3]].min() == 1
    assert "Padded" in warnings[0] and "4x6" in warnings[0]


def test_crop_to_smallest_center_crops_without_resampling():
    wide, tall, blobs = two_sizes()
    images, _, warnings = decode_outputs(blobs, ["w.png", "t.png"], size_policy="crop to smallest")
    assert images.shape == (2, 2, 2, 3)
    assert np.array_equal(images[0].numpy(), wide[:, 1:3] / np.float32(255))
    assert np.array_equal(images[1].numpy(), tall[2:4] / np.float32(255))
    assert "cropped" in warnings[0]


def test_error_policy_lists_the_sizes_and_the_other_policies():
    _, _, blobs = two_sizes()
    with pytest.raises(ImageDecodeError) as caught:
        decode_outputs(blobs, ["w.png", "t.png"], size_policy="error")
    message = str(caught.value)
    assert "w.png 4x2" in message and "t.png 2x6" in message
    assert all(policy in message for policy in SIZE_POLICIES if policy != "error")


def test_first_only_keeps_images_of_the_first_size_and_reports_the_rest():
    wide, tall, blobs = two_sizes()
    images, masks, warnings = decode_outputs(
        blobs + blobs[:1], ["a.png", "b.png", "c.png"], size_policy="first only"
    )
    assert images.shape == (2, 2, 4, 3) and masks.shape == (2, 2, 4)
    assert np.array_equal(images[1].numpy(), wide / np.float32(255))
    assert len(warnings) == 1 and "b.png" in warnings[0]


@pytest.mark.parametrize("policy", SIZE_POLICIES)
def test_uniform_sizes_are_unaffected_by_the_size_policy(policy):
    blobs = [encode(Image.fromarray(gradient(5, 3, seed=i))) for i in range(3)]
    images, _, warnings = decode_outputs(blobs, ["a.png", "b.png", "c.png"], size_policy=policy)
    assert images.shape == (3, 3, 5, 3) and warnings == []
    assert np.array_equal(images[2].numpy(), gradient(5, 3, seed=2) / np.float32(255))


def test_tiff_pages_of_different_sizes_follow_the_size_policy():
    pages = [Image.new("RGB", (4, 2), "red"), Image.new("RGB", (2, 2), "blue")]
    blob = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    images, masks, _ = decode_one(blob, "pages.tif")
    assert images.shape == (2, 2, 4, 3) and masks[1, :, [0, 3]].min() == 1 and masks[1, :, 1:3].max() == 0


def test_thread_count_does_not_change_the_result():
    blobs = [encode(Image.fromarray(gradient(8 + i % 3, 6, seed=i))) for i in range(12)]
    names = [f"{i}.png" for i in range(12)]
    serial = decode_outputs(blobs, names, workers=1)
    parallel = decode_outputs(blobs, names, workers=8)
    assert torch.equal(serial[0], parallel[0]) and torch.equal(serial[1], parallel[1])


def test_no_blobs_raise_no_images():
    with pytest.raises(NoImages):
        decode_outputs([], [])
    assert issubclass(NoImages, ImageDecodeError) and issubclass(ImageDecodeError, ValueError)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="size_policy"):
        decode_outputs([b""], ["a.png"], size_policy="stretch")
    with pytest.raises(ValueError, match="names"):
        decode_outputs([b""], [])
    with pytest.raises(ValueError, match="2 sources and 2 names for 3 files"):
        BatchDecoder(3).finish([b"", b""], ["a.png", "b.png"])


def test_encode_png_round_trips_8_bit_values_exactly():
    arr = gradient(7, 5, seed=3)
    batch = torch.from_numpy(np.stack([arr, arr[::-1].copy()]).astype(np.float32) / 255.0)
    blob = encode_png(batch)
    assert Image.open(io.BytesIO(blob)).mode == "RGB"
    images, _, _ = decode_one(blob)
    assert torch.equal(images[0], batch[0])


def test_encode_png_clamps_out_of_range_values_and_rejects_bad_shapes():
    image = torch.tensor([[[-1.0, 0.5, 2.0]]])
    assert np.array(Image.open(io.BytesIO(encode_png(image)))).tolist() == [[[0, 128, 255]]]
    with pytest.raises(ValueError, match="IMAGE"):
        encode_png(torch.zeros(4, 4))
