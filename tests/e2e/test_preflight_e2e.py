"""Floyo Preflight in the real ComfyUI: its workflow output is exactly what Floyo Remote Run
sends (checked against what the server received from the real node), including the current-graph
split with a checkpoint missing locally, and running it makes no request to Floyo at all."""

from __future__ import annotations

import json

import pytest

from .support.graphs import save

pytestmark = pytest.mark.e2e
KEY_SHAPED = "xoxb-" + "1234567890-abcdefghij"
CHECKPOINT = {"ckpt_name": "only_on_floyo.safetensors"}
REMOTE = {"4": {"class_type": "CheckpointLoaderSimple", "inputs": CHECKPOINT},
          "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox", "clip": ["4", 1]},
                "_meta": {"title": "Prompt"}},
          "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "remote"}}}


def shown(comfy, graph: dict, node: str) -> str:
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    return "".join(entry["outputs"][node]["text"])


def preview(src: str, index: int) -> dict:
    return {"class_type": "PreviewAny", "inputs": {"source": [src, index]}}


def override(value: str) -> dict:
    inputs = {"target": "Prompt", "input": "text", "value": value}
    return {"class_type": "FloyoOverrideText", "inputs": inputs}


def test_embedded_preflight_shows_the_resolved_workflow_and_sends_nothing(comfy, floyo):
    graph = {"21": override("a blue fox"),
             "1": {"class_type": "FloyoPreflight",
                   "inputs": {"source": "embedded", "workflow": json.dumps(REMOTE), "overrides": ["21", 0]}},
             "2": preview("1", 0), "3": preview("1", 1)}
    sent = json.loads(shown(comfy, graph, "2"))
    assert sent["6"]["inputs"]["text"] == "a blue fox" and sent["4"] == REMOTE["4"]
    report = shown(comfy, {**graph, "21": override(f"a fox {KEY_SHAPED}")}, "3")
    assert "node 6 (CLIPTextEncode) input 'text'" in report and KEY_SHAPED not in report
    assert floyo.requests.all() == [], "Preflight sends nothing"


def test_current_graph_preflight_shows_exactly_the_split_remote_run_sends(comfy, floyo):
    local = {"11": {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}}, "12": save("11")}
    node = {"class_type": "FloyoPreflight", "inputs": {"source": "current graph", "workflow": ""}}
    graph = {**REMOTE, "10": node, "13": preview("10", 0)}
    previewed = json.loads(shown(comfy, graph, "13"))
    assert floyo.requests.all() == [], "Preflight sends nothing, and the remote part did not run here"
    real = {**REMOTE, **local, "10": {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "current graph", "workflow": "", "reuse": "always run"}}}
    entry = comfy.run(real)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert previewed == floyo.last_run.workflow
