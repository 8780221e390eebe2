"""A workflow kept on Floyo runs from the local graph (source 'floyo workflow'), in the real
ComfyUI against the scripted server with its realism layer on: found by its team name, fetched
when the prompt is queued, a local image override uploaded into it, its outputs returned; and
every way it can be wrong (a name two team workflows share, an id that is gone, another team's
workflow, an answer without a graph) refused when the prompt is queued, before any create."""

from __future__ import annotations

import threading
import time

import pytest
from floyo_scripted import LateBody
from PIL import Image

from .support.graphs import remote_run, save
from .support.results import saved_images, succeeded

PHOTO = {"10": {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"},
                "_meta": {"title": "Photo"}},
         "11": {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}},
         "9": {"class_type": "SaveImage", "inputs": {"images": ["11", 0], "filename_prefix": "team"}}}


@pytest.fixture
def workflows(floyo):
    """The scripted server's workflows, empty at the start and end of each test."""
    floyo.workflows.reset()
    yield floyo.workflows
    floyo.workflows.reset()


def hosted(ref: str, **inputs) -> dict:
    return remote_run(source="floyo workflow", floyo_workflow=ref, workflow="", **inputs)


def _refusal(comfy, graph: dict, node: str = "1") -> str:
    status, body = comfy.post("/prompt", {"prompt": graph})
    assert status == 400, f"refused when queued, before anything runs: {body}"
    return " ".join(e["details"] for e in body["node_errors"][node]["errors"])


def test_a_team_workflow_picked_by_name_runs_with_a_local_image_uploaded_and_returns_its_outputs(
        comfy, floyo, workflows):
    workflows.add("wf_team01", "Invert photo", PHOTO, version=3)
    workflows.add("wf_public9", "Invert photo", {"1": {"class_type": "Nope", "inputs": {}}}, team=None)
    node = hosted("Invert photo", overrides=["21", 0])
    color = time.time_ns() & 0xFFFFFF  # bytes no other test sent: an upload is remembered per process
    graph = {"20": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 24, "batch_size": 1,
                                                           "color": color}},
             "21": {"class_type": "FloyoOverrideImage", "inputs": {"target": "Photo", "input": "image",
                                                                   "image": ["20", 0]}},
             "1": node, "2": save("1")}
    entry = comfy.run(graph)
    assert succeeded(entry) and len(saved_images(comfy, entry, "2")) == 1
    sent, uploads = floyo.last_run.workflow, floyo.uploads
    assert len(floyo.requests.creates()) == 1 and sent["11"]["class_type"] == "ImageInvert"
    assert len(uploads) == 1 and sent["10"]["inputs"]["image"] == uploads[0].input_path
    assert floyo.requests.count("GET", "/workflows/wf_team01") == 1
    again = comfy.run(graph)  # unchanged on Floyo: the same input, so ComfyUI's cache answers
    assert succeeded(again) and len(floyo.requests.creates()) == 1
    assert floyo.requests.count("GET", "/workflows/wf_team01") == 1, "an unchanged version: no new fetch"


def test_an_ambiguous_name_and_a_missing_id_are_refused_at_queue_time_with_no_create(comfy, floyo, workflows):
    workflows.add("wf_first1", "Portrait", PHOTO)
    workflows.add("wf_second2", "portrait", PHOTO)
    details = _refusal(comfy, {"1": hosted("Portrait"), "2": save("1")})
    assert "wf_first1" in details and "wf_second2" in details and "Put the id" in details
    details = _refusal(comfy, {"1": hosted("wf_gone404"), "2": save("1")})
    assert "Floyo has no workflow wf_gone404" in details
    assert floyo.requests.creates() == [] and floyo.uploads == []


def test_another_teams_workflow_and_an_answer_without_a_graph_are_refused_at_queue_time(comfy, floyo,
                                                                                        workflows):
    workflows.add("wf_theirs1", "Theirs", PHOTO, team="flo_another_team_key")
    assert "belongs to another team" in _refusal(comfy, {"1": hosted("wf_theirs1"), "2": save("1")})
    workflows.add("wf_ours1", "Ours", PHOTO)
    workflows.graph_key = None  # the answer carries the workflow's fields but no graph
    details = _refusal(comfy, {"1": hosted("Ours"), "2": save("1")})
    assert "holds no API-format graph" in details and "class_type" not in details
    assert floyo.requests.creates() == []


def test_a_slow_workflow_fetch_never_blocks_comfyuis_server(comfy, floyo, workflows):
    """The fetch runs on the server's loop while /prompt waits for it: other requests are served."""
    workflows.add("wf_slow1", "Slow answer", PHOTO)
    floyo.realism.late_bodies.append(LateBody(seconds=3, path=r"^/workflows", count=1))
    answers: list = []
    queued = threading.Thread(target=lambda: answers.append(comfy.post("/prompt", {"prompt": {
        "1": hosted("Slow answer"), "2": save("1")}})))
    queued.start()
    time.sleep(0.5)  # the /prompt is now waiting for Floyo's first body byte
    started = time.monotonic()
    status, _ = comfy.get("/system_stats")
    answered_in = time.monotonic() - started
    still_waiting = queued.is_alive()
    queued.join(30)
    assert status == 200 and answered_in < 1.5 and still_waiting, "ComfyUI answered while Floyo was slow"
    assert answers and answers[0][0] == 200 and succeeded(comfy.wait(answers[0][1]["prompt_id"]))


def test_a_local_file_the_workflow_loads_is_uploaded_and_an_identical_run_is_reused(comfy, floyo, workflows):
    """As on a pasted workflow: a loader naming a file in input/ gets it uploaded, and the same
    workflow queued again (another run name, so ComfyUI's cache misses) reuses the saved run."""
    name = f"hosted_local_{time.time_ns()}.png"
    Image.new("RGB", (8, 6), (0, 128, 255)).save(comfy.input_dir / name)
    workflows.add("wf_local1", "Local file", {**PHOTO, "10": {**PHOTO["10"], "inputs": {"image": name}}})
    first = comfy.run({"1": hosted("Local file", reuse="identical results"), "2": save("1")})
    assert succeeded(first) and len(floyo.requests.creates()) == 1
    (upload,) = floyo.uploads
    assert floyo.last_run.workflow["10"]["inputs"]["image"] == upload.input_path
    again = comfy.run({"1": hosted("Local file", reuse="identical results"), "2": save("1")})
    assert succeeded(again) and len(floyo.requests.creates()) == 1, "identical: reused, not paid again"
    assert len(saved_images(comfy, again, "2")) == 1
