"""An output that is an image only by its MIME type (a file name with no image extension, served as
image/png) decodes the same whichever way it comes back: fresh from its run, on reuse of identical
results, from the journal through Floyo Fetch Outputs, and through Floyo Select Output each time.
The journal keeps each saved file's kind and MIME type, so nothing is guessed again from names."""

from __future__ import annotations

import json
import random
import uuid

import pytest
from floyo_scripted import OutputSpec
from PIL import Image

from .support.graphs import save
from .support.results import saved_images, succeeded

pytestmark = pytest.mark.e2e

NO_EXTENSION = "shot_floyo-2_00001_"  # SaveImage node 2's routing tag, and no extension at all


def remote(color: int) -> str:
    image = {"width": 64, "height": 64, "batch_size": 1, "color": color}
    return json.dumps({"1": {"class_type": "EmptyImage", "inputs": image},
                       "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                                                   "filename_prefix": "shot"}}})


def graph(source: dict, result: int) -> dict:
    """``source``'s images saved, and Select Output's images of remote node 2 from its ``result``."""
    tag = uuid.uuid4().hex[:6]
    pick = {"class_type": "FloyoSelectOutput", "inputs": {"result": ["1", result], "node": "2"}}
    return {"1": source, "2": save("1", prefix=f"mime_{tag}"), "3": pick,
            "4": save("3", prefix=f"pick_{tag}")}


def run_node(workflow: str) -> dict:
    """A unique run name each time: ComfyUI's own cache never answers, only the journal can."""
    return {"class_type": "FloyoRemoteRun", "inputs": {"source": "embedded", "workflow": workflow,
                                                       "run_name": f"mime {uuid.uuid4().hex[:6]}"}}


def pixels(comfy, prompt: dict) -> tuple[list[bytes], list[bytes]]:
    """The pixels the run's 'images' gave, and those Select Output gave."""
    entry = comfy.run(prompt)
    assert succeeded(entry)
    return tuple([Image.open(p).tobytes() for p in saved_images(comfy, entry, node)] for node in ("2", "4"))


def test_an_image_known_only_by_its_mime_type_decodes_the_same_fresh_reused_fetched_and_selected(
        comfy, floyo):
    floyo.update(outputs=[OutputSpec(format="png", name=NO_EXTENSION, seed=7)])
    workflow = remote(random.randrange(1 << 24))  # no other test's run is identical to this one
    images, picked = pixels(comfy, graph(run_node(workflow), result=6))
    assert len(images) == 1 and picked == images, "fresh: the image/png output is an image"
    assert len(floyo.requests.creates()) == 1
    run_id = floyo.last_run.id
    floyo.requests.clear()

    assert pixels(comfy, graph(run_node(workflow), result=6)) == (images, images), "reused"
    assert floyo.requests.creates() == [] and floyo.requests.downloads() == [], "served from disk"

    fetch = {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": run_id}}
    assert pixels(comfy, graph(fetch, result=5)) == (images, images), "fetched from the journal"
    assert floyo.requests.downloads() == [], "Fetch served the journal's files"
