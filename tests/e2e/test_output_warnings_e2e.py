"""Nothing about a run's outputs is silent: frames dropped by 'first only', a video that can't be
read, and remote output nodes that made no files reach the node's status line and the log, and a
Floyo Select Output on a node that made nothing fails saying so (issue 14: no silently partial runs)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from floyo_scripted import OutputSpec

from .support.results import node_error
from .support.websocket import Socket

pytestmark = pytest.mark.e2e

REMOTE = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                       "color": 0}},
          "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "base"},
                "_meta": {"title": "Base"}},
          "4": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "up"},
                "_meta": {"title": "Upscaled"}},
          "6": {"class_type": "SaveVideo", "inputs": {"video": ["1", 0], "filename_prefix": "video/clip",
                                                      "format": "auto", "codec": "auto"}}}
RUN = {"class_type": "FloyoRemoteRun", "inputs": {
    "source": "embedded", "workflow": json.dumps(REMOTE), "run_name": f"warn {uuid.uuid4().hex[:6]}",
    "reuse": "always run", "size_policy": "first only"}}


def test_dropped_frames_an_unreadable_video_and_silent_output_nodes_are_told(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(size=(64, 64), node="3"), OutputSpec(size=(32, 32), node="3"),
                                     OutputSpec(format="bin", nbytes=64, name="clip_floyo-6_00001_.mp4")]
    select = {"class_type": "FloyoSelectOutput", "inputs": {"result": ["7", 6], "node": "Base"}}
    graph = {"7": RUN, "8": select, "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}}
    with Socket(comfy.url) as ws:
        entry = comfy.wait(comfy.queue(graph, client_id=ws.client_id), timeout=60)
        time.sleep(0.3)
    assert entry["status"]["status_str"] == "success", entry["status"]
    [saved] = [e["data"] for e in ws.events if e["type"] == "floyo.run" and e["data"]["status"] == "saved"]
    status = saved["message"]
    assert "skipped 1 of 1 frame(s)" in status and "first only" in status
    assert "video not usable: clip_floyo-6_00001_.mp4" in status
    assert 'node 4 "Upscaled" (SaveImage) made no files' in status and "node 3" not in status
    log = comfy.log_text()
    assert 'node 4 "Upscaled" (SaveImage) made no files' in log and "video not usable" in log
    assert len(entry["outputs"]["9"]["images"]) == 1, "the selector has node 3's one kept image"

    # the same run (ComfyUI's cache): a selector on the node that made nothing fails clearly
    upscaled = {**select, "inputs": {**select["inputs"], "node": "Upscaled"}}
    error = node_error(comfy.run({**graph, "8": upscaled}))
    assert 'node 4 "Upscaled" (SaveImage) made no files' in error["exception_message"]
    assert error["node_type"] == "FloyoSelectOutput" and len(floyo.requests.creates()) == 1
