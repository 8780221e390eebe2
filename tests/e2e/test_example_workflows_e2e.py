"""The example workflows a new user opens first are real ones and they run: a current
text-to-image model (Z-Image Turbo) sent embedded and as the current graph, each with Floyo
Override Text for the prompt and a seed override set to randomize, and one that fetches a run's
outputs by its id. Every node exists in a real ComfyUI with this pack, every widget value lines
up, the graph runs to saved images, and each example has a .jpg thumbnail beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from floyo_scripted.ui_format import ui_to_api, widget_names

from .conftest import saved_images, start_run_elsewhere

pytestmark = pytest.mark.e2e
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "example_workflows").glob("*.json"))


def _nodes(path: Path) -> list[dict]:
    return json.loads(path.read_text())["nodes"]


def _modes() -> dict[str, list[Path]]:
    by_mode: dict[str, list[Path]] = {"embedded": [], "current graph": [], "fetch": []}
    for path in EXAMPLES:
        for node in _nodes(path):
            if node["type"] == "FloyoRemoteRun":
                by_mode[node["widgets_values"][0]].append(path)
            elif node["type"] == "FloyoFetchOutputs":
                by_mode["fetch"].append(path)
    return by_mode


def test_there_are_embedded_current_graph_and_fetch_by_run_id_examples():
    modes = _modes()
    assert all(len(paths) == 1 for paths in modes.values()), modes


@pytest.mark.parametrize("mode", ["embedded", "current graph"])
def test_run_examples_use_a_current_text_to_image_model_with_prompt_and_random_seed_overrides(mode):
    (path,) = _modes()[mode]
    nodes = {n["type"]: n for n in _nodes(path)}
    text, seed = nodes["FloyoOverrideText"]["widgets_values"], nodes["FloyoOverrideInt"]["widgets_values"]
    assert text[:2] == ["Positive prompt", "text"] and text[2].strip()
    assert seed[:2] == ["KSampler", "seed"] and seed[3] == "randomize"
    remote = json.loads(nodes["FloyoRemoteRun"]["widgets_values"][1]) if mode == "embedded" else \
        {str(n["id"]): {"class_type": n["type"], "title": n.get("title") or n["type"]} for n in _nodes(path)}
    kinds = {n["class_type"] for n in remote.values()}
    assert {"UNETLoader", "CLIPLoader", "VAELoader", "KSampler", "VAEDecode", "SaveImage"} <= kinds
    titles = {n.get("_meta", {}).get("title") or n.get("title") for n in remote.values()}
    assert {"Positive prompt", "KSampler"} <= titles  # what the overrides target
    assert "z_image_turbo" in json.dumps(remote if mode == "embedded" else _nodes(path))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_has_a_jpeg_thumbnail_beside_it(path):
    from PIL import Image

    thumb = path.with_suffix(".jpg")
    with Image.open(thumb) as image:
        assert image.format == "JPEG" and image.width >= 600 and image.height >= 300


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_workflow_loads_and_runs_in_comfyui(comfy, floyo, path):
    ui = json.loads(path.read_text())
    info = comfy.get("/object_info")[1]
    for node in ui["nodes"]:
        assert node["type"] in info, f"{path.name}: unknown node {node['type']}"
        assert len(node.get("widgets_values", [])) == len(widget_names(info[node["type"]])), node["type"]
    prompt = ui_to_api(ui, info)
    for node in prompt.values():
        if node["class_type"] == "FloyoFetchOutputs":  # the user pastes a run id: here, one from Floyo
            node["inputs"]["run_id"] = start_run_elsewhere(floyo)
        if node["class_type"] == "FloyoRemoteRun":  # a paid run here; reuse is test_reuse_e2e.py's
            node["inputs"]["reuse"] = "always run"
    before = len(floyo.requests.creates())
    entry = comfy.run(prompt)
    assert entry["status"]["status_str"] == "success", entry["status"]
    savers = [i for i, n in prompt.items() if n["class_type"] == "SaveImage" and i in entry["outputs"]]
    assert savers and all(saved_images(comfy, entry, i) for i in savers)
    runs = 0 if any(n["class_type"] == "FloyoFetchOutputs" for n in prompt.values()) else 1
    assert len(floyo.requests.creates()) == before + runs
