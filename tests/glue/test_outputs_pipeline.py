"""collect() pipelines download, save and decode: the result must equal the plain decode, always.

Why it matters: decoding each file as it arrives, straight into one preallocated batch, is what
makes outputs fast and light (docs/performance.md), but it must never change what the user
gets: the same tensors, warnings and errors as decoding the saved files later (collect_saved),
every file saved even when decoding fails, and no worker still writing after collect() returned
or raised.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from floyo_pack.floyo_client import Journal, download_outputs, journal_saved
from floyo_pack.floyo_client.errors import DownloadError
from floyo_pack.nodes.decode import batch_decoder
from floyo_pack.nodes.decode.batch_decoder import BatchDecoder
from floyo_pack.nodes.decode.image_headers import ImageDecodeError
from floyo_pack.nodes.run import collect
from floyo_scripted import DownloadFault, OutputSpec
from PIL import Image


def png(width: int, height: int, seed: int, mode: str = "RGB") -> bytes:
    channels = {"RGB": 3, "RGBA": 4}[mode]
    arr = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr, mode).save(buffer, "PNG")
    return buffer.getvalue()


def plain(blobs: list[bytes], names: list[str], **options):
    """What the decoder gives for files it did not see arrive (collect_saved's way)."""
    return BatchDecoder(len(blobs), **options).finish(blobs, names)


def test_files_decoded_as_they_arrive_in_any_order_are_kept_as_the_plain_decode(monkeypatch):
    blobs = [png(9, 5, seed) for seed in range(4)]
    names = [f"o{i}.png" for i in range(4)]
    decoder = BatchDecoder(4)
    for index in (2, 0, 3, 1):
        assert decoder.add(index, blobs[index], names[index])
    expected, expected_masks, expected_warnings = plain(blobs, names)
    monkeypatch.setattr(batch_decoder, "decode_file", lambda *a, **k: pytest.fail("decoded twice"))
    images, masks, warnings = decoder.finish(blobs, names)
    assert torch.equal(images, expected) and torch.equal(masks, expected_masks) and not masks.any()
    assert warnings == expected_warnings == []


@pytest.mark.parametrize("odd", [png(7, 5, 9), png(9, 5, 9, "RGBA")[:60], b"not an image"],
                         ids=["another-size", "truncated", "not-an-image"])
def test_a_file_that_breaks_the_bet_gives_what_the_plain_decode_gives(odd):
    blobs, names = [png(9, 5, 1), odd], ["a.png", "b.png"]
    decoder = BatchDecoder(2)
    assert decoder.add(0, blobs[0], names[0])
    assert not decoder.add(1, odd, names[1])
    try:
        expected = plain(blobs, names)
    except ImageDecodeError as e:
        with pytest.raises(ImageDecodeError) as caught:
            decoder.finish(blobs, names)
        same = [re.sub(r" at 0x[0-9a-f]+", "", str(x)) for x in (caught.value, e)]  # PIL names the BytesIO
        assert same[0] == same[1] and "'b.png'" in same[0]
        return
    images, masks, warnings = decoder.finish(blobs, names)
    assert torch.equal(images, expected[0]) and torch.equal(masks, expected[1]) and warnings == expected[2]
    assert warnings and warnings[0].startswith("Padded")


async def test_collect_saves_every_file_and_returns_what_the_plain_decode_returns(server, finished, tmp_path):
    specs = [OutputSpec(size=(32, 24), seed=i) for i in range(5)] + [OutputSpec(format="txt")]
    client, handle = await finished(server, specs)
    async with client:
        saved: list[list] = []
        got = await collect.collect(handle, handle.run, "pad to largest", on_saved=saved.append)
    files = [Path(p).read_bytes() for p in got.paths]
    assert len(got.paths) == 6 and [[f.path for f in saved[0]]] == [got.paths]
    assert not list(tmp_path.rglob("*.part"))
    images, masks, warnings = plain(files[:5], [Path(p).name for p in got.paths[:5]])
    assert torch.equal(got.images, images) and torch.equal(got.masks, masks) and got.warnings == warnings


async def test_collect_falls_back_to_the_size_policy_when_sizes_differ(server, finished):
    specs = [OutputSpec(size=(32, 24), seed=1), OutputSpec(size=(16, 40), seed=2, mode="RGBA")]
    client, handle = await finished(server, specs)
    async with client:
        got = await collect.collect(handle, handle.run, "pad to largest")
    assert got.images.shape == (2, 40, 32, 3) and got.warnings and got.warnings[0].startswith("Padded")


async def test_a_corrupt_output_is_saved_with_the_others_before_the_decode_error(server, finished, tmp_path):
    specs = [OutputSpec(seed=1), OutputSpec(seed=2, corrupt=True), OutputSpec(seed=3)]
    client, handle = await finished(server, specs)
    saved: list[list[str]] = []
    async with client:
        with pytest.raises(ImageDecodeError):
            await collect.collect(handle, handle.run, "pad to largest", on_saved=saved.append)
    assert len(saved[0]) == 3 and len(list(tmp_path.rglob("*.png"))) == 3


async def test_downloads_hand_each_file_over_on_disk_once_and_stop_the_rest_after_a_failure(
        server, finished, tmp_path):
    client, handle = await finished(server, [OutputSpec(seed=i) for i in range(6)])
    async with client:
        got: dict[int, Path] = {}
        paths = await download_outputs(handle, handle.run.outputs, tmp_path / "ok", on_ready=got.__setitem__)
        assert got == dict(enumerate(paths))
        assert [p.read_bytes() for p in paths] == [server.files[o.id].data for o in handle.run.outputs]
        server.scenario.download_faults = [DownloadFault(kind="truncate", after_bytes=10, count=-1)]
        late: list[int] = []
        with pytest.raises(DownloadError):
            await download_outputs(handle, handle.run.outputs, tmp_path / "cut",
                                   on_ready=lambda i, _: late.append(i))
        assert late == [] and list((tmp_path / "cut").iterdir()) == [], "no file, whole or .part, is left"


async def test_collect_decodes_from_the_saved_files(server, finished, tmp_path, monkeypatch):
    client, handle = await finished(server, [OutputSpec(size=(32, 24), seed=i) for i in range(3)])
    given: list[object] = []
    add = BatchDecoder.add
    monkeypatch.setattr(BatchDecoder, "add", lambda s, i, src, *a: given.append(src) or add(s, i, src, *a))
    async with client:
        got = await collect.collect(handle, handle.run, "pad to largest")
    assert sorted(map(str, given)) == sorted(got.paths) and got.images.shape == (3, 24, 32, 3)


async def test_output_names_from_the_server_never_collide_or_leave_the_run_folder(server, finished, tmp_path):
    hostile = ["a.png", "A.PNG", "../../escape.png", "..\\..\\win.png", "C:\\x\\CON.png", "a.png.part",
               "/etc/passwd", "." * 3, "x" * 300 + ".png"]
    client, handle = await finished(server, [OutputSpec(name=n, seed=i) for i, n in enumerate(hostile)])
    async with client:
        got = await collect.collect(handle, handle.run, "pad to largest")
    folder = tmp_path / "floyo" / handle.run_id
    names = [Path(p).name for p in got.paths]
    assert [Path(p).parent for p in got.paths] == [folder] * len(hostile)
    assert len({n.casefold() for n in names}) == len(hostile)
    assert all(len(n.encode()) <= 120 for n in names) and "_CON.png" in names
    served = [server.files[o.id].data for o in handle.run.outputs]
    assert [p.read_bytes() for p in map(Path, got.paths)] == served, "no output overwrote another"
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["floyo", handle.run_id, *names])


@pytest.mark.parametrize("sizes", [[(32, 24), (32, 24)], [(32, 24), (16, 40)]], ids=["same-size", "mixed"])
async def test_tif_and_avif_outputs_without_a_mime_type_decode_the_same_fresh_and_from_the_journal(
        server, finished, sizes, tmp_path):
    specs = [OutputSpec(format="tiff", size=sizes[0], seed=1),
             OutputSpec(format="avif", size=sizes[1], seed=2), OutputSpec(format="txt")]
    client, handle = await finished(server, specs)
    assert [o.mime_type for o in handle.run.outputs] == [None, None, "text/plain"]
    fresh, saved = await fresh_and_from_the_journal(client, handle, tmp_path)
    assert [Path(p).suffix for p in fresh.paths] == [".tif", ".avif", ".txt"]
    assert fresh.images.shape == (2, 40 if sizes[1] == (16, 40) else 24, 32, 3), "both images decoded"
    assert torch.equal(fresh.images, saved.images) and torch.equal(fresh.masks, saved.masks)
    assert fresh.warnings == saved.warnings
    assert (fresh.warnings == []) == (sizes[0] == sizes[1])


async def fresh_and_from_the_journal(client, handle, tmp_path) -> tuple[collect.Collected, collect.Collected]:
    """A run's outputs decoded as they download, and again from what the journal kept of them."""
    journal = Journal(tmp_path / "journal" / "runs.sqlite3")
    journal.begin("flyc-0000000001", name="t", prompt_id=None, node_id=None, api_url=client.api)
    journal.created("flyc-0000000001", handle.run_id)
    async with client:
        fresh = await collect.collect(handle, handle.run, "pad to largest",
                                      on_saved=journal_saved(journal, handle.run_id))
    record = journal.get(handle.run_id)
    return fresh, await collect.collect_saved(record.outputs(), list(record.paths), "pad to largest")


async def test_an_image_known_only_by_its_mime_type_decodes_the_same_fresh_and_from_the_journal(
        server, finished, tmp_path):
    specs = [OutputSpec(format="png", size=(32, 24), seed=3, name="shot_00001_"),  # image/png, no extension
             OutputSpec(format="txt")]
    client, handle = await finished(server, specs)
    assert [(o.file_name, o.mime_type) for o in handle.run.outputs][0] == ("shot_00001_", "image/png")
    fresh, saved = await fresh_and_from_the_journal(client, handle, tmp_path)
    assert fresh.images.shape == (1, 24, 32, 3), "the image/png output is an image"
    assert torch.equal(fresh.images, saved.images) and torch.equal(fresh.masks, saved.masks)
    assert [o.kind for o in saved.outputs] == ["image", "file"] and fresh.warnings == saved.warnings


async def test_an_avif_output_this_pillow_cannot_read_is_named_with_the_way_out(
        server, finished, monkeypatch):
    client, handle = await finished(server, [OutputSpec(format="avif", size=(32, 24))])
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "AVIF"])  # a Pillow built without AVIF
    monkeypatch.setattr(Image, "EXTENSION", {k: v for k, v in Image.EXTENSION.items() if v != "AVIF"})
    async with client:
        with pytest.raises(ImageDecodeError, match=r"'\w+_00001_\.avif'.*cannot read \.avif files"):
            await collect.collect(handle, handle.run, "pad to largest")
