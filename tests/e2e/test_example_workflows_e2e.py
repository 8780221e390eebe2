"""The example workflows a new user opens first must load and run: every node exists in a real
ComfyUI with this pack, every widget value lines up, and the graph runs to saved images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from floyo_pack.floyo_server.ui_format import ui_to_api, widget_names

from .test_nodes_e2e import saved_images

pytestmark = pytest.mark.e2e
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "example_workflows").glob("*.json"))


def test_there_is_an_embedded_and_a_current_graph_example():
    texts = {p.name: p.read_text() for p in EXAMPLES}
    assert any('"embedded"' in t for t in texts.values())
    assert any('"current graph"' in t for t in texts.values())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_workflow_loads_and_runs_in_comfyui(comfy, floyo, path):
    ui = json.loads(path.read_text())
    info = comfy.get("/object_info")[1]
    for node in ui["nodes"]:
        assert node["type"] in info, f"{path.name}: unknown node {node['type']}"
        assert len(node.get("widgets_values", [])) == len(widget_names(info[node["type"]])), node["type"]
    prompt = ui_to_api(ui, info)
    entry = comfy.run(prompt)
    assert entry["status"]["status_str"] == "success", entry["status"]
    savers = [i for i, n in prompt.items() if n["class_type"] == "SaveImage" and i in entry["outputs"]]
    assert savers and all(saved_images(comfy, entry, i) for i in savers)
    assert len(floyo.requests.creates()) == 1
