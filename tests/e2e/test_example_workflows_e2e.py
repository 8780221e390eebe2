"""The example workflows a new user opens first are real ones and they run: a current
text-to-image model (Z-Image Turbo), a current text-to-video model (Wan 2.2, with the node and
model file names of ComfyUI's own template) and a base + upscale pair whose two remote output
nodes are routed to two Floyo Select Output nodes, each sent embedded and as the current graph,
each with Floyo Override Text for the prompt and a seed override set to randomize, and one that
fetches a run's outputs by its id. Every node exists in a real ComfyUI with this pack, every
widget value lines up, the graph runs, and each example has a .jpg thumbnail beside it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from floyo_scripted.ui_format import ui_to_api

from .support.results import saved_images
from .support.scripted import start_run_elsewhere, two_outputs

pytestmark = pytest.mark.e2e
FOLDER = Path(__file__).resolve().parents[2] / "example_workflows"
EXAMPLES = sorted(FOLDER.glob("*.json"))
RUNS = ("floyo", "floyo_text_to_video", "floyo_base_upscale")  # each as <name>_embedded, _current_graph


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


def test_every_run_example_comes_embedded_and_as_the_current_graph_and_one_fetches_by_run_id():
    modes = _modes()
    assert sorted(p.name for p in modes["embedded"]) == sorted(f"{r}_embedded.json" for r in RUNS)
    assert sorted(p.name for p in modes["current graph"]) == sorted(f"{r}_current_graph.json" for r in RUNS)
    assert [p.name for p in modes["fetch"]] == ["floyo_fetch_by_run_id.json"]


def remote_part(path: Path) -> dict[str, dict]:
    """What the example sends: the embedded API JSON, or the graph's nodes (current graph)."""
    nodes = {n["type"]: n for n in _nodes(path)}
    if nodes["FloyoRemoteRun"]["widgets_values"][0] == "embedded":
        return json.loads(nodes["FloyoRemoteRun"]["widgets_values"][1])
    ui = json.loads(path.read_text())
    local = {n["id"] for n in ui["nodes"] if n["type"].startswith("Floyo")}
    while grown := {link[3] for link in ui["links"] if link[1] in local} - local:
        local |= grown  # everything downstream of a Floyo node runs here
    return {str(n["id"]): {"class_type": n["type"], "_meta": {"title": n.get("title") or n["type"]},
                           "widgets_values": n.get("widgets_values", [])}
            for n in ui["nodes"] if n["id"] not in local}


def _values(node: dict) -> list:
    """A node's widget values, from either form (links left out)."""
    values = node["inputs"].values() if "inputs" in node else node["widgets_values"]
    return [v for v in values if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], str))]


RUN_EXAMPLES = [FOLDER / f"{r}_{m}.json" for r in RUNS for m in ("embedded", "current_graph")]


@pytest.mark.parametrize("path", RUN_EXAMPLES, ids=lambda p: p.stem)
def test_run_examples_override_the_prompt_and_a_random_seed_of_the_nodes_they_send(path):
    nodes = {n["type"]: n for n in _nodes(path)}
    text, seed = nodes["FloyoOverrideText"]["widgets_values"], nodes["FloyoOverrideInt"]["widgets_values"]
    assert text[:2] == ["Positive prompt", "text"] and text[2].strip()
    assert seed[:2] == ["KSampler", "seed"] and seed[3] == "randomize"
    remote = remote_part(path)
    kinds = {n["class_type"] for n in remote.values()}
    assert {"UNETLoader", "CLIPLoader", "VAELoader", "KSampler", "VAEDecode"} <= kinds
    titles = [n["_meta"]["title"] for n in remote.values()]
    assert titles.count("Positive prompt") == titles.count("KSampler") == 1  # what the overrides target


@pytest.mark.parametrize("mode", ["embedded", "current_graph"])
def test_text_to_image_examples_use_z_image_turbo(mode):
    remote = remote_part(FOLDER / f"floyo_{mode}.json")
    assert "SaveImage" in {n["class_type"] for n in remote.values()} and "z_image_turbo" in json.dumps(remote)


def _template(name: str) -> dict[str, dict]:
    """A video template ComfyUI 0.3.75 ships (comfyui-workflow-templates), its nodes by type."""
    spec = importlib.util.find_spec("comfyui_workflow_templates_media_video")
    assert spec and spec.origin, "comfyui-workflow-templates-media-video is not installed (.ci/setup.sh)"
    ui = json.loads((Path(spec.origin).parent / "templates" / name).read_text())
    return {n["type"]: n for n in ui["nodes"]}


@pytest.mark.parametrize("mode", ["embedded", "current_graph"])
def test_text_to_video_examples_are_wan_2_2_with_the_nodes_and_model_files_of_comfyuis_template(mode):
    remote = remote_part(FOLDER / f"floyo_text_to_video_{mode}.json")
    by_type = {n["class_type"]: n for n in remote.values()}
    template = _template("video_wan2_2_5B_ti2v.json")
    # the template's graph without its optional (bypassed) start image and its markdown note
    assert set(by_type) == set(template) - {"LoadImage", "MarkdownNote"}
    for kind in ("UNETLoader", "CLIPLoader", "VAELoader", "ModelSamplingSD3", "CreateVideo"):
        assert _values(by_type[kind]) == template[kind]["widgets_values"], kind
    latent = "Wan22ImageToVideoLatent"
    assert _values(by_type[latent]) == template[latent]["widgets_values"]  # 1280x704, 121 frames
    sampler = _values(by_type["KSampler"])
    assert [v for v in sampler if v != "fixed"][1:] == [v for v in template["KSampler"]["widgets_values"]
                                                        if v != "randomize"][1:]  # steps, cfg, sampler…


@pytest.mark.parametrize("mode", ["embedded", "current_graph"])
def test_base_upscale_examples_route_their_two_remote_output_nodes_to_two_selectors(mode):
    path = FOLDER / f"floyo_base_upscale_{mode}.json"
    remote = remote_part(path)
    saves = sorted(n["_meta"]["title"] for n in remote.values() if n["class_type"] == "SaveImage")
    assert saves == ["Base", "Upscaled"]
    ui = json.loads(path.read_text())
    selectors = [n for n in ui["nodes"] if n["type"] == "FloyoSelectOutput"]
    assert sorted(n["widgets_values"][0] for n in selectors) == saves
    run = next(n for n in ui["nodes"] if n["type"] == "FloyoRemoteRun")
    result_links = next(o["links"] for o in run["outputs"] if o["name"] == "result")
    fed = sorted(link[3] for link in ui["links"] if link[0] in result_links)
    assert fed == sorted(n["id"] for n in selectors)


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
    prompt = ui_to_api(ui, info)  # raises when a node saved more widget values than it has
    for node in prompt.values():
        if node["class_type"] == "FloyoFetchOutputs":  # the user pastes a run id: here, one from Floyo
            node["inputs"]["run_id"] = start_run_elsewhere(floyo)
        if node["class_type"] == "FloyoRemoteRun":  # a paid run here; reuse is test_reuse_e2e.py's
            node["inputs"]["reuse"] = "always run"
    two_outputs(floyo)
    before = len(floyo.requests.creates())
    entry = comfy.run(prompt)
    assert entry["status"]["status_str"] == "success", entry["status"]
    showing = ("SaveImage", "PreviewImage", "FloyoRemoteRun", "FloyoFetchOutputs")
    shown = [i for i, n in prompt.items() if n["class_type"] in showing and i in entry["outputs"]]
    assert shown and all(entry["outputs"][i].get("images") for i in shown)  # saved, or shown on the node
    savers = [i for i in shown if prompt[i]["class_type"] == "SaveImage"]
    assert all(saved_images(comfy, entry, i) for i in savers)
    runs = 0 if any(n["class_type"] == "FloyoFetchOutputs" for n in prompt.values()) else 1
    assert len(floyo.requests.creates()) == before + runs
