"""collect() pipelines download, save and decode: the result must equal the plain decode, always.

Why it matters: decoding each file as it arrives, straight into one preallocated batch, is what
makes outputs fast and light (docs/performance.md), but it must never change what the user
gets: the same tensors, warnings and errors as ``decode_outputs``, every file saved even when
decoding fails, and no worker still writing after collect() returned or raised.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from floyo_pack.floyo_client import (
    Config,
    FloyoClient,
    RateLimiter,
    RetryPolicy,
    RunHandle,
    Transport,
    download_outputs,
)
from floyo_pack.floyo_client.errors import DownloadError
from floyo_pack.nodes import comfy, outputs
from floyo_pack.nodes.batch_decoder import BatchDecoder
from floyo_pack.nodes.images import ImageDecodeError, decode_outputs
from floyo_scripted import DownloadFault, OutputSpec, Scenario, ScriptedServer, Step
from PIL import Image


def png(width: int, height: int, seed: int, mode: str = "RGB") -> bytes:
    channels = {"RGB": 3, "RGBA": 4}[mode]
    arr = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr, mode).save(buffer, "PNG")
    return buffer.getvalue()


def test_batch_decoder_matches_decode_outputs_for_same_size_files_in_any_arrival_order():
    blobs = [png(9, 5, seed) for seed in range(4)]
    names = [f"o{i}.png" for i in range(4)]
    decoder = BatchDecoder(names)
    for index in (2, 0, 3, 1):
        assert decoder.add(index, blobs[index])
    images, masks = decoder.result()
    expected, expected_masks, _ = decode_outputs(blobs, names)
    assert torch.equal(images, expected) and torch.equal(masks, expected_masks) and not masks.any()


@pytest.mark.parametrize("odd", [png(7, 5, 9), png(9, 5, 9, "RGBA")[:60], b"not an image"])
def test_batch_decoder_gives_up_on_another_size_or_a_bad_file(odd):
    decoder = BatchDecoder(["a.png", "b.png"])
    assert decoder.add(0, png(9, 5, 1))
    assert not decoder.add(1, odd)
    assert decoder.result() is None


@pytest.fixture
async def server(tmp_path, monkeypatch):
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path)
    async with ScriptedServer(Scenario(steps=[Step("done")])) as srv:
        yield srv


async def finished(server: ScriptedServer, specs: list[OutputSpec]) -> tuple[FloyoClient, RunHandle]:
    server.scenario.outputs = specs
    config = Config(api_key="flo_test_key", api_url=server.api_url, cdn_url=server.cdn_url)
    client = FloyoClient(Transport(config, limiter=RateLimiter(rate=10_000),
                                   policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.02)))
    run = await client.create_run({}, name="t", marker="m")
    handle = RunHandle(client, run.id)
    await handle.wait()
    return client, handle


async def test_collect_saves_every_file_and_returns_what_decode_outputs_returns(server, tmp_path):
    specs = [OutputSpec(size=(32, 24), seed=i) for i in range(5)] + [OutputSpec(format="txt")]
    client, handle = await finished(server, specs)
    async with client:
        saved: list[list[str]] = []
        got = await outputs.collect(handle, handle.run, "pad to largest", on_saved=saved.append)
    files = [Path(p).read_bytes() for p in got.paths]
    assert len(got.paths) == 6 and saved == [got.paths] and not list(tmp_path.rglob("*.part"))
    images, masks, warnings = decode_outputs(files[:5], [f"{i}.png" for i in range(5)])
    assert torch.equal(got.images, images) and torch.equal(got.masks, masks) and got.warnings == warnings


async def test_collect_falls_back_to_the_size_policy_when_sizes_differ(server):
    specs = [OutputSpec(size=(32, 24), seed=1), OutputSpec(size=(16, 40), seed=2, mode="RGBA")]
    client, handle = await finished(server, specs)
    async with client:
        got = await outputs.collect(handle, handle.run, "pad to largest")
    assert got.images.shape == (2, 40, 32, 3) and got.warnings and got.warnings[0].startswith("Padded")


async def test_a_corrupt_output_is_saved_with_the_others_before_the_decode_error(server, tmp_path):
    specs = [OutputSpec(seed=1), OutputSpec(seed=2, corrupt=True), OutputSpec(seed=3)]
    client, handle = await finished(server, specs)
    saved: list[list[str]] = []
    async with client:
        with pytest.raises(ImageDecodeError):
            await outputs.collect(handle, handle.run, "pad to largest", on_saved=saved.append)
    assert len(saved[0]) == 3 and len(list(tmp_path.rglob("*.png"))) == 3


async def test_downloads_hand_each_file_over_on_disk_once_and_stop_the_rest_after_a_failure(server, tmp_path):
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


async def test_collect_decodes_from_the_saved_files(server, tmp_path, monkeypatch):
    client, handle = await finished(server, [OutputSpec(size=(32, 24), seed=i) for i in range(3)])
    given: list[object] = []
    add = BatchDecoder.add
    monkeypatch.setattr(BatchDecoder, "add", lambda self, i, src: given.append(src) or add(self, i, src))
    async with client:
        got = await outputs.collect(handle, handle.run, "pad to largest")
    assert sorted(map(str, given)) == sorted(got.paths) and got.images.shape == (3, 24, 32, 3)


async def test_output_names_from_the_server_never_collide_or_leave_the_run_folder(server, tmp_path):
    hostile = ["a.png", "A.PNG", "../../escape.png", "..\\..\\win.png", "C:\\x\\CON.png", "a.png.part",
               "/etc/passwd", "." * 3, "x" * 300 + ".png"]
    client, handle = await finished(server, [OutputSpec(name=n, seed=i) for i, n in enumerate(hostile)])
    async with client:
        got = await outputs.collect(handle, handle.run, "pad to largest")
    folder = tmp_path / "floyo" / handle.run_id
    names = [Path(p).name for p in got.paths]
    assert [Path(p).parent for p in got.paths] == [folder] * len(hostile)
    assert len({n.casefold() for n in names}) == len(hostile)
    assert all(len(n.encode()) <= 120 for n in names) and "_CON.png" in names
    served = [server.files[o.id].data for o in handle.run.outputs]
    assert [p.read_bytes() for p in map(Path, got.paths)] == served, "no output overwrote another"
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["floyo", handle.run_id, *names])
