"""The nodes in a real ComfyUI 0.3.75, queued over its HTTP API as a user's frontend would,
against the local Floyo-compatible server: what a user sees is what these tests check."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from floyo_pack.floyo_client.output_tags import tag
from floyo_scripted import OutputSpec, RunError, Step
from PIL import Image

from .support.graphs import REMOTE, remote_run, save
from .support.results import node_error, run_outputs, saved_images
from .support.waits import wait_for_new_run

pytestmark = pytest.mark.e2e


def test_pack_loads_with_every_node_and_no_import_problems(comfy):
    status, info = comfy.get("/object_info/FloyoRemoteRun")
    assert status == 200, "the pack did not load (ComfyUI starts anyway, so check object_info)"
    node = info["FloyoRemoteRun"]
    assert node["output_name"][:3] == ["images", "masks", "run_id"] and node["output_node"] is True
    assert {"source", "workflow"} <= set(node["input"]["required"])
    for other in ("FloyoRunStatus", "FloyoFetchOutputs", "FloyoOverrideText", "FloyoOverrideInt",
                  "FloyoOverrideFloat", "FloyoOverrideBoolean", "FloyoOverrideImage", "FloyoOverrideVideo",
                  "FloyoOverrideAudio"):
        assert other in comfy.get(f"/object_info/{other}")[1]
    startup = comfy.log_text().split("Starting server")[0]
    ours = [line for line in startup.splitlines()
            if "comfyui-floyo" in line or re.search(r"\bFloyo\b|floyo_client|floyo_pack", line)]
    # the only startup line about the pack is ComfyUI's own import-times entry: no print output,
    # no warning, no traceback, no IMPORT FAILED
    assert len(ours) == 1 and ours[0].strip().endswith("custom_nodes/comfyui-floyo"), ours


def test_embedded_run_sends_the_workflow_once_and_feeds_save_image(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(size=(96, 80)), OutputSpec(size=(96, 80), seed=3)]
    entry = comfy.run({"1": remote_run(run_name="e2e embedded"), "2": save("1")})
    again = comfy.run({"1": remote_run(run_name="e2e embedded"), "2": save("1")})
    assert again["status"]["status_str"] == "success"
    assert len(floyo.requests.creates()) == 1, "an unchanged graph is served from cache, not paid twice"
    assert entry["status"]["status_str"] == "success", entry["status"]
    files = saved_images(comfy, entry, "2")
    assert len(files) == 2 and Image.open(files[0]).size == (96, 80)
    run = floyo.last_run
    assert len(floyo.requests.creates()) == 1 and run.workflow == tag(REMOTE)[0]  # with routing tags
    assert run.name.startswith("e2e embedded [flyc-")
    kept = sorted(p.name for p in run_outputs(comfy.base / "output" / "floyo" / run.id))
    assert kept == sorted(o.file_name for o in run.outputs), "every paid output is saved locally"


def test_current_graph_sends_only_the_remote_part_even_with_a_locally_missing_checkpoint(comfy, floyo):
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "only_on_floyo.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox", "clip": ["4", 1]},
              "_meta": {"title": "Prompt"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0],
            "seed": 1, "steps": 20, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
            "denoise": 1.0}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": save("8", prefix="remote"),
        "10": {"class_type": "FloyoRemoteRun", "inputs": {"source": "current graph", "workflow": "",
                                                          "reuse": "always run"}},
        "11": {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}},
        "12": save("11"),
    }
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    sent = floyo.last_run.workflow
    assert sorted(sent) == ["3", "4", "5", "6", "7", "8", "9"]
    assert sent["6"] == graph["6"] and sent["3"]["inputs"]["seed"] == 1
    assert len(saved_images(comfy, entry, "12")) == 1 and "9" not in entry["outputs"]


def test_overrides_set_text_seed_and_upload_a_local_image_once(comfy, floyo):
    # a colour no other test sends: the pack remembers uploads for the life of the process
    # (floyo_client/keystate.py), so bytes another test on this ComfyUI sent are not sent again
    color = uuid.uuid4().int & 0xFFFFFF
    remote = {"3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 4}},
              "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "old"}, "_meta": {"title": "Prompt"}},
              "10": {"class_type": "LoadImage", "inputs": {"image": "x.png"}, "_meta": {"title": "Photo"}},
              "9": save("10", prefix="remote")}
    graph = {
        "20": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 24, "batch_size": 1,
                                                      "color": color}},
        "21": {"class_type": "FloyoOverrideImage", "inputs": {"target": "Photo", "input": "image",
                                                              "image": ["20", 0]}},
        "22": {"class_type": "FloyoOverrideText", "inputs": {"target": "Prompt", "input": "text",
                                                             "value": "a cat", "overrides": ["21", 0]}},
        "23": {"class_type": "FloyoOverrideInt", "inputs": {"target": "3", "input": "seed",
                                                            "value": 123456789012, "overrides": ["22", 0]}},
        "1": remote_run(workflow=json.dumps(remote), overrides=["23", 0]),
        "2": save("1"),
    }
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    sent = floyo.last_run.workflow
    uploads = floyo.uploads
    assert len(uploads) == 1 and sent["10"]["inputs"]["image"] == uploads[0].input_path
    assert sent["6"]["inputs"]["text"] == "a cat" and sent["3"]["inputs"]["seed"] == 123456789012
    assert len(saved_images(comfy, entry, "2")) == 1


def test_unknown_override_target_is_an_error_listing_the_valid_titles(comfy, floyo):
    remote = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "x"}, "_meta": {"title": "Prompt"}},
              "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "r"}}}
    graph = {"21": {"class_type": "FloyoOverrideText", "inputs": {"target": "Promt", "input": "text",
                                                                  "value": "y"}},
             "1": remote_run(workflow=json.dumps(remote), overrides=["21", 0])}
    status, body = comfy.post("/prompt", {"prompt": graph})
    assert status == 400, "refused when queued, before anything runs"
    details = " ".join(e["details"] for e in body["node_errors"]["1"]["errors"])
    assert "'Promt'" in details and "'Prompt'" in details
    assert floyo.requests.creates() == [], "nothing is sent when an override cannot apply"


@pytest.mark.timeout(90)
def test_interrupt_mid_run_cancels_the_floyo_run_and_ends_interrupted(comfy, floyo):
    floyo.server.scenario.steps = [Step("queued", polls=1), Step("processing")]
    known = set(floyo.runs)
    prompt_id = comfy.queue({"1": remote_run(), "2": save("1")})
    run = wait_for_new_run(floyo, known)
    while not floyo.requests.polls(run.id):
        time.sleep(0.05)
    asked = time.monotonic()
    assert comfy.interrupt() == 200
    entry = comfy.wait(prompt_id, timeout=30)
    took = time.monotonic() - asked
    kinds = [m[0] for m in entry["status"]["messages"]]
    assert "execution_interrupted" in kinds and "execution_error" not in kinds
    assert len(floyo.requests.cancel_requests(run.id)) == 1
    assert took < 2.0, f"interrupt took {took:.1f}s to end the prompt (the promise is 2 s)"


def test_failed_run_shows_floyos_message_as_the_node_error(comfy, floyo):
    floyo.server.scenario.steps = [Step("processing", polls=1), Step("failed")]
    floyo.server.scenario.failure = RunError(message="KSampler: CUDA out of memory", node_id="3")
    error = node_error(comfy.run({"1": remote_run(), "2": save("1")}))
    assert error["node_type"] == "FloyoRemoteRun"
    message = error["exception_message"]
    assert "CUDA out of memory" in message and "remote node 3" in message


def test_node_timeout_cancels_the_run_and_reports_its_id(comfy, floyo):
    floyo.server.scenario.steps = [Step("processing")]
    error = node_error(comfy.run({"1": remote_run(timeout=2), "2": save("1")}))
    run = floyo.last_run
    assert run.id in error["exception_message"] and "cancel: cancelled" in error["exception_message"]
    assert len(floyo.requests.cancel_requests(run.id)) == 1


def test_insufficient_balance_and_bad_key_errors_say_what_to_do(comfy, floyo):
    floyo.server.scenario.steps = [Step("insufficient_balance")]
    error = node_error(comfy.run({"1": remote_run(), "2": save("1")}))
    assert "Add FloTime" in error["exception_message"]
    floyo.server.keys.clear()
    floyo.server.keys.add("flo_some_other_key")
    error = node_error(comfy.run({"1": remote_run(run_name="bad key"), "2": save("1")}))
    assert "refused the API key" in error["exception_message"] and "flo_test_key" not in json.dumps(error)


def test_status_and_fetch_work_by_run_id_for_a_run_started_elsewhere(comfy, floyo):
    import ssl
    import urllib.request

    floyo.server.scenario.steps = [Step("processing", polls=2), Step("done")]
    body = json.dumps({"workflow": REMOTE, "name": "started by someone else"}).encode()
    req = urllib.request.Request(floyo.api_url + "/runs", data=body, method="POST", headers={
        "Authorization": "Bearer flo_test_key", "Content-Type": "application/json"})
    trust = ssl.create_default_context(cafile=floyo.ca_file)  # the e2e server is https
    with urllib.request.urlopen(req, timeout=10, context=trust) as r:
        run_id = json.loads(r.read())["id"]
    status_graph = {"3": {"class_type": "FloyoRunStatus", "inputs": {"run_id": run_id}},
                    "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}
    before = comfy.run(status_graph)
    assert before["outputs"]["4"]["text"] == ["processing"]
    entry = comfy.run({"1": {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": run_id}},
                       "2": save("1", prefix="fetched")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(saved_images(comfy, entry, "2")) == 1
    after = comfy.run(status_graph)  # not served from cache: a status changes
    assert after["outputs"]["4"]["text"] == ["done"]
    assert (comfy.base / "output" / "floyo" / run_id).is_dir()


def test_rgba_output_alpha_becomes_the_mask(comfy, floyo):
    floyo.server.scenario.outputs = [OutputSpec(mode="RGBA", size=(40, 30))]
    graph = {"1": remote_run(), "2": {"class_type": "MaskToImage", "inputs": {"mask": ["1", 1]}},
             "3": save("2", prefix="mask")}
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    (path,) = saved_images(comfy, entry, "3")
    served = Image.open(__import__("io").BytesIO(floyo.files[floyo.last_run.outputs[0].id].data))
    alpha = served.getchannel("A")
    mask = Image.open(path).convert("L")
    assert mask.size == (40, 30)
    for xy in [(0, 0), (39, 29), (20, 15), (5, 25)]:
        assert abs(mask.getpixel(xy) - (255 - alpha.getpixel(xy))) <= 1


def test_local_input_files_named_by_remote_loaders_are_uploaded_once(comfy, floyo):
    import hashlib
    import io

    # Bytes no other test has sent: the pack remembers every upload of its key's team for the life
    # of the process (floyo_client/keystate.py), so a shared file such as example.png may already be
    # known from an earlier test on this ComfyUI, and then rightly is not sent again.
    name = f"upload-once-{uuid.uuid4().hex[:8]}.png"
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), tuple(uuid.uuid4().bytes[:3])).save(buf, "PNG")
    local = comfy.base / "input" / name
    local.write_bytes(buf.getvalue())

    def graph() -> dict:
        return {
            "1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": save("2", prefix="remote"),
            "4": {"class_type": "FloyoRemoteRun", "inputs": {"source": "current graph", "workflow": "",
                                                             "run_name": f"upload {uuid.uuid4().hex[:6]}",
                                                             "reuse": "always run"}},
            "5": save("4"),
        }

    entry = comfy.run(graph())
    assert entry["status"]["status_str"] == "success", entry["status"]
    (upload,) = floyo.uploads
    assert upload.sha256 == hashlib.sha256(local.read_bytes()).hexdigest()
    assert floyo.last_run.workflow["1"]["inputs"]["image"] == upload.input_path
    first_run = floyo.last_run.id

    entry = comfy.run(graph())  # a second paid run of the same file: sent again, never uploaded again
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert floyo.last_run.id != first_run
    assert len(floyo.uploads) == 1
    assert floyo.last_run.workflow["1"]["inputs"]["image"] == upload.input_path
