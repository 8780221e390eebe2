"""More of what a user sees in a real ComfyUI: live status on the node and its websocket events,
errors for a missing key and an unreachable API, size policies, non-image and empty outputs."""

from __future__ import annotations

import json
import time

import pytest
from floyo_scripted import OutputSpec, Step
from PIL import Image

from .support.graphs import remote_run, save
from .support.results import node_error, saved_images
from .support.scripted import FLOYO_KEY
from .support.websocket import Socket

pytestmark = pytest.mark.e2e


def test_node_status_comes_once_from_floyo_events_and_the_progress_bar_means_something(comfy, floyo):
    floyo.server.scenario.steps = [Step("queued", seconds=1.5), Step("processing", seconds=2.5), Step("done")]
    floyo.server.scenario.outputs = [OutputSpec(size=(32, 32)), OutputSpec(size=(32, 32), seed=2)]
    with Socket(comfy.url) as ws:
        prompt_id = comfy.queue({"7": remote_run(), "2": save("7")}, client_id=ws.client_id)
        entry = comfy.wait(prompt_id, timeout=60)
        time.sleep(0.3)
    assert entry["status"]["status_str"] == "success", entry["status"]
    floyo_events = [e["data"] for e in ws.events if e["type"] == "floyo.run"]
    statuses = [e["status"] for e in floyo_events]
    assert statuses[:3] == ["queued", "processing", "done"] and statuses[-1] == "saved"
    first = floyo_events[0]
    assert set(first) >= {"node_id", "prompt_id", "run_id", "status", "elapsed_s", "flotime_ms", "message"}
    assert first["node_id"] == "7" and first["prompt_id"] == prompt_id and first["run_id"].startswith("run_")
    assert floyo_events[2]["flotime_ms"] == 48210
    downloads = [(e["downloaded"], e["outputs"]) for e in floyo_events if e["status"] == "downloading"]
    assert downloads == [(0, 2), (1, 2), (2, 2)], floyo_events
    # one status line: the extension builds it from these events; ComfyUI's progress text would be a second
    assert [text for _, node, text in ws.texts if node == "7"] == []
    bar = [e["data"]["value"] * 100 // e["data"]["max"] for e in ws.events
           if e["type"] == "progress" and e["data"]["node"] == "7"]
    assert bar == sorted(bar) and {5, 20, 100} <= set(bar), bar  # queued, processing, all downloaded


def test_non_image_outputs_are_saved_and_listed_and_sizes_follow_the_policy(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(size=(64, 48)), OutputSpec(size=(32, 80), seed=1),
                                     OutputSpec(format="txt", nbytes=50, name="notes.txt")]
    graph = {"1": remote_run(), "2": save("1"),
             "3": {"class_type": "PreviewAny", "inputs": {"source": ["1", 3]}}}
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    sizes = {Image.open(p).size for p in saved_images(comfy, entry, "2")}
    assert sizes == {(64, 80)}, "pad to largest: both images on one canvas, nothing stretched"
    listed = entry["outputs"]["3"]["text"][0].splitlines()
    assert len(listed) == 3 and listed[2].endswith("notes.txt")
    assert (comfy.base / "output" / "floyo" / floyo.last_run.id / "notes.txt").read_bytes() == \
        floyo.files[floyo.last_run.outputs[2].id].data
    error = node_error(comfy.run({"1": remote_run(size_policy="error", run_name="strict"), "2": save("1")}))
    assert "64" in error["exception_message"] and "80" in error["exception_message"]


def test_a_run_that_finished_without_outputs_is_an_error(comfy, floyo):
    floyo.server.scenario.outputs = []
    error = node_error(comfy.run({"1": remote_run(), "2": save("1")}))
    assert "no output files" in error["exception_message"]


def test_animated_output_gives_one_batch_entry_per_frame(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(format="gif", mode="P", frames=4, size=(40, 40))]
    entry = comfy.run({"1": remote_run(), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(saved_images(comfy, entry, "2")) == 4


def test_routes_validate_their_input_and_answer_clear_json_errors(comfy):
    assert comfy.post("/floyo/runs/cancel", {"run_id": "../etc"}) == (
        400, {"error": "run_id must look like run_ followed by letters and digits."})
    status, body = comfy.post("/floyo/runs/cancel", {})
    assert status == 400 and "run_id, node_id or prompt_id" in body["error"]
    status, body = comfy.post("/api/floyo/runs/cancel", {"run_id": "run_notstartedhere1"})
    assert status == 404 and "No Floyo run started by this ComfyUI" in body["error"]
    status, body = comfy.request("POST", "/floyo/runs/cancel", body=None)
    assert status == 400 and "JSON object" in body["error"]
    assert comfy.get("/floyo/runs/run_not_a_valid_id!")[0] in (400, 404)
    assert comfy.get("/floyo/runs/run_unknown0000")[0] == 404
    status, body = comfy.post("/floyo/key", {"key": "has spaces in it"})
    assert status == 400 and "flo_" in body["error"]
    status, listing = comfy.get("/floyo/runs")
    assert status == 200 and {"runs", "active"} <= set(listing)
    assert FLOYO_KEY not in json.dumps(listing) and FLOYO_KEY not in json.dumps(comfy.get("/floyo/key")[1])
