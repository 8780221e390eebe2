"""Gateway mode end to end: a client ComfyUI with the pack → the local gateway → a worker ComfyUI
without it. This is the path of the one-command demo and of a team pointing the pack at its own
GPU box, so what the user sees on the client must be what the worker really did: its images, its
node errors, and an interrupt that actually stops the worker's prompt."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from floyo_scripted import GatewayServer, ServerThread
from floyo_scripted.ui_format import ui_to_api
from PIL import Image

from .conftest import Comfy, require_comfyui

pytestmark = pytest.mark.e2e

KEY = "flo_gateway_e2e"
EXAMPLES = Path(__file__).resolve().parents[2] / "demo" / "workflows"  # the demo: runs on a CPU worker


@dataclass
class Stack:
    worker: Comfy
    gateway: ServerThread
    client: Comfy

    def new_run(self, known: set[str], timeout: float = 30.0):
        """The first gateway run not in ``known`` that has reached the worker."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            fresh = [r for r in self.gateway.runs.values() if r.id not in known]
            if fresh:
                return fresh[0]
            time.sleep(0.05)
        raise TimeoutError("no run reached the gateway")

    def api(self, path: str) -> dict:
        req = urllib.request.Request(self.gateway.api_url + path, headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Worker and client ComfyUI (started in parallel, ~12 s) with the gateway between them."""
    require_comfyui()
    worker = Comfy(tmp_path_factory.mktemp("gw-worker"), pack=False)
    gateway = ServerThread(server=GatewayServer(worker.url, keys=[KEY])).start()
    client = Comfy(tmp_path_factory.mktemp("gw-client"), env={
        "FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": KEY})
    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(worker.start), pool.submit(client.start)]:
                started.result()
        yield Stack(worker, gateway, client)
    finally:
        for comfy in (client, worker):
            comfy.stop()
        gateway.stop()


def remote_run(workflow: dict, **inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "embedded", "workflow": json.dumps(workflow), "run_name": f"gw {uuid.uuid4().hex[:6]}",
        "reuse": "always run", **inputs}}


def save(src: str, prefix: str = "local") -> dict:
    return {"class_type": "SaveImage", "inputs": {"images": [src, 0], "filename_prefix": prefix}}


def saved(comfy: Comfy, entry: dict, node: str) -> list[Path]:
    return [comfy.output_dir / i["subfolder"] / i["filename"] for i in entry["outputs"][node]["images"]]


def succeeded(entry: dict) -> bool:
    errors = [m[1].get("exception_message") for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert entry["status"]["status_str"] == "success", errors or entry["status"]
    return True


def node_error(entry: dict) -> dict:
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert errors, f"expected an execution error, got {entry['status']}"
    return errors[0]


def center_is(path: Path, rgb: tuple[int, int, int]) -> bool:
    """The middle pixel is ``rgb``, give or take float rounding on the way."""
    with Image.open(path) as im:
        got = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
    return all(abs(a - b) <= 2 for a, b in zip(got, rgb, strict=True))


@pytest.mark.parametrize(("example", "local_saver", "pixel"), [
    ("demo_embedded.json", "2", (0x33, 0x33, 0xFF)),       # the remote image as it is
    ("demo_current_graph.json", "6", (0xCC, 0xCC, 0x00)),  # inverted locally
])
def test_example_workflow_runs_on_the_worker_and_its_image_comes_back(stack, example, local_saver, pixel):
    info = stack.client.get("/object_info")[1]
    prompt = ui_to_api(json.loads((EXAMPLES / example).read_text()), info)
    known = set(stack.gateway.runs)
    entry = stack.client.run(prompt)
    assert succeeded(entry)
    [local] = saved(stack.client, entry, local_saver)
    assert Image.open(local).size == (512, 512) and center_is(local, pixel)
    run = stack.new_run(known)
    worker_entry = stack.worker.history(run.prompt_id)
    assert worker_entry["status"]["status_str"] == "success"
    [remote] = saved(stack.worker, worker_entry, "3")
    assert remote.name.startswith("floyo_example_") and center_is(remote, (0x33, 0x33, 0xFF))
    body = stack.api(f"/runs/{run.id}?expand=outputs.presigned_url")
    assert body["status"] == "done" and isinstance(body["flotime_ms"], int)  # 0 if the worker cached it
    [output] = body["outputs"]
    assert output["file_name"] == remote.name  # the routing tag's subfolder is in input_path
    assert output["input_path"] == f"floyo-3/{remote.name} [output]" and "floyo-3" in remote.name
    with urllib.request.urlopen(output["presigned_url"], timeout=30) as response:  # no key: signed link
        assert response.read() == remote.read_bytes()


def test_image_override_is_uploaded_into_the_workers_input_and_read_by_its_load_image(stack):
    remote = {"10": {"class_type": "LoadImage", "inputs": {"image": "example.png"},
                     "_meta": {"title": "Photo"}},
              "11": {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}},
              "12": save("11", prefix="override")}
    graph = {"20": {"class_type": "EmptyImage", "inputs": {"width": 40, "height": 30, "batch_size": 1,
                                                           "color": 0xFF0000}},
             "21": {"class_type": "FloyoOverrideImage", "inputs": {"target": "Photo", "input": "image",
                                                                   "image": ["20", 0]}},
             "1": remote_run(remote, overrides=["21", 0]),
             "2": save("1")}
    known = set(stack.gateway.runs)
    entry = stack.client.run(graph)
    assert succeeded(entry)
    [local] = saved(stack.client, entry, "2")
    assert Image.open(local).size == (40, 30) and center_is(local, (0, 255, 255))  # red, inverted remotely
    run = stack.new_run(known)
    sent = stack.worker.history(run.prompt_id)["prompt"][2]
    input_path = sent["10"]["inputs"]["image"]
    assert input_path != "example.png" and not input_path.startswith("#")
    with Image.open(stack.worker.input_dir / input_path) as uploaded:
        assert uploaded.size == (40, 30)


def test_a_failing_node_on_the_worker_reaches_the_clients_node_error(stack):
    escape = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1,
                                                           "color": 0}},
              "2": save("1", prefix="../outside")}  # SaveImage refuses this while executing
    error = node_error(stack.client.run({"1": remote_run(escape), "2": save("1")}))
    assert error["node_id"] == "1" and error["node_type"] == "FloyoRemoteRun"
    message = error["exception_message"]
    assert "remote node 2" in message and "Saving image outside the output folder is not allowed" in message

    invalid = {**escape, "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 99,
                                                                     "sigma": 1.0}},
               "3": save("2", prefix="never")}  # the worker's /prompt rejects it (HTTP 400)
    message = node_error(stack.client.run({"1": remote_run(invalid), "2": save("1")}))["exception_message"]
    assert "remote node 2" in message and "bigger than max" in message and "blur_radius" in message


def slow_graph(nodes: int = 30) -> dict:
    """Model-free but slow on CPU (~1 s per blur), with a node boundary to interrupt at each second."""
    graph = {"1": {"class_type": "EmptyImage", "inputs": {"width": 512, "height": 512, "batch_size": 1,
                                                          "color": 0x808080}}}
    for i in range(2, nodes + 2):
        graph[str(i)] = {"class_type": "ImageBlur", "inputs": {"image": [str(i - 1), 0], "blur_radius": 31,
                                                               "sigma": 8.0}}
    graph["99"] = save(str(nodes + 1), prefix="slow")
    return graph


@pytest.mark.timeout(120)
def test_interrupting_the_client_interrupts_the_workers_prompt(stack):
    known = set(stack.gateway.runs)
    prompt_id = stack.client.queue({"1": remote_run(slow_graph()), "2": save("1")})
    run = stack.new_run(known)
    stack.worker.wait_running(run.prompt_id)
    time.sleep(1.0)
    t0 = time.monotonic()
    assert stack.client.interrupt() == 200
    worker_entry = stack.worker.wait(run.prompt_id, timeout=30)
    stopped_after = time.monotonic() - t0
    assert worker_entry["status"]["status_str"] == "error"
    assert "execution_interrupted" in [m[0] for m in worker_entry["status"]["messages"]]
    assert stopped_after < 10, f"the worker ran on for {stopped_after:.1f}s after the interrupt"
    assert not list(stack.worker.output_dir.glob("slow_*")), "the worker's SaveImage never ran"
    client_entry = stack.client.wait(prompt_id, timeout=30)
    assert "execution_interrupted" in [m[0] for m in client_entry["status"]["messages"]]
    assert stack.api(f"/runs/{run.id}")["status"] == "cancelled"
