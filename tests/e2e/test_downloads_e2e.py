"""Outputs through a real ComfyUI over the realism layer, as a user sees them: a download cut by a
reset still ends in the whole file, names a server sends never collide or leave the run's
folder, and a hostile answer (thousands of outputs, a pad canvas of half a gigapixel) is a clear
node error before anything is downloaded or allocated, with ComfyUI still serving afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from floyo_scripted import OutputSpec, Realism, Reset

from .support.graphs import remote_run, save
from .support.results import node_error, run_outputs, saved_images

pytestmark = pytest.mark.e2e


def run_folder(comfy, floyo) -> Path:
    return comfy.base / "output" / "floyo" / floyo.last_run.id


def test_a_download_reset_mid_body_still_saves_the_whole_file(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(size=(384, 384), seed=7)]
    floyo.realism = Realism.internet(resets=[Reset(after_bytes=200_000, path="^/p/", origin="cdn")])
    entry = comfy.run({"1": remote_run(), "2": save("1", prefix="reset")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    first, second = floyo.requests.downloads()
    [output] = floyo.last_run.outputs
    saved = run_folder(comfy, floyo) / output.file_name
    assert saved.read_bytes() == floyo.files[output.id].data and len(saved_images(comfy, entry, "2")) == 1
    start = int(second.headers.get("Range", "bytes=0-")[6:-1])
    assert 0 <= start <= 200_000 and "Range" not in first.headers
    assert not list(run_folder(comfy, floyo).glob("*.part"))


def test_output_names_from_the_server_never_collide_or_leave_the_run_folder(comfy, floyo):
    names = ["pic.png", "PIC.PNG", "../../../escape.png", "CON.png", "x" * 200 + ".png"]
    floyo.server.scenario.outputs = [OutputSpec(name=n, seed=i) for i, n in enumerate(names)]
    entry = comfy.run({"1": remote_run(), "2": save("1", prefix="names")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    folder = run_folder(comfy, floyo)
    files = sorted(p.name for p in run_outputs(folder))
    assert len(files) == 5 and len({f.casefold() for f in files}) == 5 and "_CON.png" in files
    assert all(len(f.encode()) <= 120 for f in files)
    assert [p.parent for p in comfy.base.rglob("escape.png")] == [folder], "nothing landed outside it"
    served = sorted(floyo.files[o.id].data for o in floyo.last_run.outputs)
    assert sorted(p.read_bytes() for p in run_outputs(folder)) == served


def test_a_run_listing_thousands_of_outputs_is_a_clear_error_before_any_download(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(format="txt", nbytes=4)] * 1500
    error = node_error(comfy.run({"1": remote_run(), "2": save("1", prefix="many")}))
    message = error["exception_message"]
    assert "1,500 output files" in message and "FLOYO_MAX_OUTPUTS" in message and floyo.last_run.id in message
    assert floyo.requests.downloads() == []


def test_a_pad_canvas_over_the_pixel_budget_is_a_clear_error_and_the_files_are_kept(comfy, floyo):
    # 1 x 16001 and 16001 x 1 padded together: 2 x 16001 x 16001 = 512.06 megapixels (8 GB of
    # float32), over the default 512 megapixel budget, from two files of a few kilobytes
    floyo.server.scenario.outputs = [OutputSpec(size=(1, 16001)), OutputSpec(size=(16001, 1), seed=2)]
    error = node_error(comfy.run({"1": remote_run(), "2": save("1", prefix="canvas")}))
    message = error["exception_message"]
    assert "2 x 16001x16001 = 512.1 megapixels" in message and "'crop to smallest'" in message
    assert "FLOYO_MAX_MEGAPIXELS" in message
    assert len(list(run_folder(comfy, floyo).glob("*.png"))) == 2, "the paid-for files are saved"
    entry = comfy.run({"1": remote_run(size_policy="crop to smallest"), "2": save("1", prefix="cropped")})
    assert entry["status"]["status_str"] == "success", entry["status"]
