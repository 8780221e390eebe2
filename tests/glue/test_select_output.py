"""Floyo Select Output finds a remote output node as the override nodes do (title or id, the valid
choices listed on a miss), returns only that node's files, and refuses clearly where the files of a
node can't be told apart or the node made none, instead of returning an empty batch."""

from __future__ import annotations

import asyncio
import io

import pytest
from floyo_pack.floyo_client.errors import FloyoError
from floyo_pack.floyo_client.models import RunOutput
from floyo_pack.floyo_client.output_tags import tag
from floyo_pack.floyo_client.workflow import WorkflowError
from floyo_pack.nodes.decode.video_audio import MediaError
from floyo_pack.nodes.node_types.select_output import select
from floyo_pack.nodes.node_types.spec import Ctx
from floyo_pack.nodes.run.run_result import run_result
from PIL import Image

PROMPT = {"3": {"class_type": "SaveImage", "inputs": {"filename_prefix": "base"},
                "_meta": {"title": "Base"}},
          "4": {"class_type": "SaveImage", "inputs": {"filename_prefix": "up"},
                "_meta": {"title": "Upscaled"}},
          "5": {"class_type": "SaveVideo", "inputs": {"filename_prefix": "video/clip"}},
          "8": {"class_type": "PreviewImage", "inputs": {}}}


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def result_of(tmp_path, names: dict[str, tuple[int, int]], prompt: dict = PROMPT):
    _, nodes = tag(prompt)
    outputs, paths = [], []
    for name, size in names.items():
        (tmp_path / name).write_bytes(png(size))
        outputs.append(RunOutput("file_x", name))
        paths.append(str(tmp_path / name))
    return run_result("run_abc", outputs, paths, nodes, "pad to largest")


def pick(result, node: str) -> tuple:
    return asyncio.run(select(Ctx("20", None), result, node))


def test_each_selector_gets_only_its_nodes_images_by_title_or_id(tmp_path):
    result = result_of(tmp_path, {"base_floyo-3_00001_.png": (8, 6), "up_floyo-4_00001_.png": (16, 12),
                                  "up_floyo-4_00002_.png": (16, 12), "ComfyUI_temp_abcde_00001_.png": (4, 4)})
    base, up, preview = pick(result, "Base"), pick(result, "4"), pick(result, "8")
    assert base[0].shape == (1, 6, 8, 3) and up[0].shape == (2, 12, 16, 3)
    assert preview[0].shape == (1, 4, 4, 3), "the one PreviewImage gets the untagged file"
    assert up[4].splitlines() == [str(tmp_path / f"up_floyo-4_0000{n}_.png") for n in (1, 2)]
    with pytest.raises(MediaError, match=r"run_abc \(remote node 3\) saved no video"):
        base[2].get_components()


def test_an_unknown_node_lists_the_runs_output_nodes_only(tmp_path):
    result = result_of(tmp_path, {"base_floyo-3_00001_.png": (8, 6)})
    with pytest.raises(WorkflowError) as e:
        pick(result, "Refiner")
    assert "'Base'" in str(e.value) and "5 (SaveVideo)" in str(e.value) and "Refiner" in str(e.value)


def test_a_node_that_made_no_files_is_an_error_that_says_so(tmp_path):
    result = result_of(tmp_path, {"base_floyo-3_00001_.png": (8, 6)})
    with pytest.raises(FloyoError, match=r'node 4 "Upscaled" \(SaveImage\) made no files in Floyo run'):
        pick(result, "Upscaled")
    assert [n.node_id for n in result.silent_nodes()] == ["4", "5", "8"]


def test_two_preview_images_cannot_be_told_apart_and_a_run_without_tags_cannot_be_split(tmp_path):
    prompt = {**PROMPT, "9": {"class_type": "PreviewImage", "inputs": {}}}
    result = result_of(tmp_path, {"ComfyUI_temp_abcde_00001_.png": (4, 4)}, prompt)
    with pytest.raises(WorkflowError, match="can't be tagged"):
        pick(result, "8")
    untagged = run_result("run_old", [RunOutput("f", "ComfyUI_00001_.png")], [str(tmp_path / "x.png")],
                          None, "")
    with pytest.raises(WorkflowError, match="carry no output-node tags"):
        pick(untagged, "9")
    with pytest.raises(WorkflowError, match="Connect 'result'"):
        pick("not a result", "9")
