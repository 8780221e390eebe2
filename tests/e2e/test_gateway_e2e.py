"""Gateway mode end to end: a client ComfyUI with the pack → the local gateway → a worker ComfyUI
without it. This is the path of the one-command demo and of a team pointing the pack at its own
GPU box, so what the user sees on the client must be what the worker really did: its images, its
node errors, and an interrupt that actually stops the worker's prompt."""

from __future__ import annotations

import importlib.util
import json
import re
import time
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest
from floyo_scripted.ui_format import ui_to_api
from PIL import Image

from .support.browser import run_script
from .support.comfy import Comfy
from .support.gateway import gateway_stack
from .support.graphs import remote_run_of
from .support.results import center_is, node_error, succeeded
from .support.websocket import Socket

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "demo" / "workflows"  # the demo: runs on a CPU worker


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Worker and client ComfyUI (started in parallel, ~12 s) with the gateway between them."""
    with gateway_stack(tmp_path_factory, "gw", worker_nodes=True) as built:
        yield built


def save(src: str, prefix: str = "local") -> dict:
    return {"class_type": "SaveImage", "inputs": {"images": [src, 0], "filename_prefix": prefix}}


def saved(comfy: Comfy, entry: dict, node: str) -> list[Path]:
    return [comfy.output_dir / i["subfolder"] / i["filename"] for i in entry["outputs"][node]["images"]]


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
             "1": remote_run_of(remote, overrides=["21", 0]),
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
    error = node_error(stack.client.run({"1": remote_run_of(escape), "2": save("1")}))
    assert error["node_id"] == "1" and error["node_type"] == "FloyoRemoteRun"
    message = error["exception_message"]
    assert "remote node 2" in message and "Saving image outside the output folder is not allowed" in message

    invalid = {**escape, "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 99,
                                                                     "sigma": 1.0}},
               "3": save("2", prefix="never")}  # the worker's /prompt rejects it (HTTP 400)
    message = node_error(stack.client.run({"1": remote_run_of(invalid), "2": save("1")}))["exception_message"]
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
    prompt_id = stack.client.queue({"1": remote_run_of(slow_graph()), "2": save("1")})
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


def write_clip(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A small H.264 mp4 whose frames get brighter one by one."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("h264", rate=8)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(frames):
            pixels = np.full((size[1], size[0], 3), 30 * i, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))


def write_tone(path: Path, rate: int, samples: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        tone = (8000 * np.sin(np.arange(samples) * 2 * np.pi * 440 / rate)).astype("<i2")
        out.writeframes(tone.tobytes())


def media(path: Path) -> tuple[int, tuple[int, int] | int]:
    """(video frames, (width, height)) or (audio samples, sample rate) of a file, decoded."""
    import av

    with av.open(str(path)) as container:
        if container.streams.video:
            frames = list(container.decode(video=0))
            return len(frames), (frames[0].width, frames[0].height)
        stream = container.streams.audio[0]
        return sum(f.samples for f in container.decode(stream)), stream.rate


@pytest.fixture
def internet_like(stack):
    """This test's gateway answers travel like the internet's (tests/e2e/support/scripted.py e2e_realism)."""
    from .support.scripted import e2e_realism

    scenario = stack.shaping.scenario
    scenario.realism = e2e_realism()
    yield
    scenario.realism = None


def test_local_video_and_audio_reach_the_worker_as_files_its_loaders_read(stack, internet_like):
    """Files named by remote LoadVideo/LoadAudio are uploaded as they are; a VIDEO override from a
    file is uploaded as that file, one made of frames as an mp4, an AUDIO override as flac."""
    inputs = stack.client.input_dir
    write_clip(inputs / "gw_clip.mp4", 8, (64, 48))
    write_clip(inputs / "gw_clip_override.mp4", 5, (48, 32))
    write_tone(inputs / "gw_tone.wav", 16000, 8000)
    write_tone(inputs / "gw_voice.wav", 22050, 11025)

    def loader(kind: str, key: str, value: str, title: str | None = None) -> dict:
        return {"class_type": kind, "inputs": {key: value}, **({"_meta": {"title": title}} if title else {})}

    remote = {"10": loader("LoadVideo", "file", "gw_clip.mp4"),
              "20": loader("LoadVideo", "file", "placeholder.mp4", "From file"),
              "25": loader("LoadVideo", "file", "placeholder.mp4", "Made"),
              "40": loader("LoadAudio", "audio", "gw_tone.wav"),
              "45": loader("LoadAudio", "audio", "placeholder.wav", "Voice"),
              "41": {"class_type": "SaveAudio", "inputs": {"audio": ["40", 0], "filename_prefix": "tone"}},
              "46": {"class_type": "SaveAudio", "inputs": {"audio": ["45", 0], "filename_prefix": "voice"}}}
    for src in ("10", "20", "25"):
        remote[f"{src}1"] = {"class_type": "GetVideoComponents", "inputs": {"video": [src, 0]}}
        remote[f"{src}2"] = save(f"{src}1", prefix=f"frames{src}")

    def override(kind: str, target: str, key: str, value: list, chain: list | None = None) -> dict:
        return {"class_type": f"FloyoOverride{kind}", "inputs": {
            "target": target, "input": key, kind.lower(): value, **({"overrides": chain} if chain else {})}}

    graph = {"30": loader("LoadVideo", "file", "gw_clip_override.mp4"),
             "31": override("Video", "From file", "file", ["30", 0]),
             "32": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 24, "batch_size": 6,
                                                           "color": 0x00FF00}},
             "33": {"class_type": "CreateVideo", "inputs": {"images": ["32", 0], "fps": 12.0}},
             "34": override("Video", "Made", "file", ["33", 0], ["31", 0]),
             "35": loader("LoadAudio", "audio", "gw_voice.wav"),
             "36": override("Audio", "Voice", "audio", ["35", 0], ["34", 0]),
             "1": remote_run_of(remote, overrides=["36", 0]),
             "2": save("1")}
    known = set(stack.gateway.runs)
    assert succeeded(stack.client.run(graph, timeout=180))
    worker_entry = stack.worker.history(stack.new_run(known).prompt_id)
    assert succeeded(worker_entry)
    sent = {node: stack.worker.input_dir / worker_entry["prompt"][2][node]["inputs"][key]
            for node, key in (("10", "file"), ("20", "file"), ("25", "file"), ("40", "audio"),
                              ("45", "audio"))}
    assert sent["10"].read_bytes() == (inputs / "gw_clip.mp4").read_bytes()  # local files, as they are
    assert sent["40"].read_bytes() == (inputs / "gw_tone.wav").read_bytes()
    assert sent["20"].read_bytes() == (inputs / "gw_clip_override.mp4").read_bytes()  # VideoFromFile's source
    assert sent["25"].suffix == ".mp4" and media(sent["25"]) == (6, (32, 24))  # frames, encoded
    assert sent["45"].suffix == ".flac" and media(sent["45"]) == (11025, 22050)  # AUDIO, encoded
    outputs = worker_entry["outputs"]
    assert [len(outputs[f"{n}2"]["images"]) for n in ("10", "20", "25")] == [8, 5, 6]  # the worker read them


def load_demo_module(name: str):
    spec = importlib.util.spec_from_file_location(f"floyo_demo_{name}", EXAMPLES.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_media_demo_uploads_its_picture_and_sound_and_returns_image_video_and_audio(stack, internet_like):
    """demo/workflows/demo_media.json as `bash demo/run` runs it: example.png and the chime are
    uploaded, the worker detects edges and makes a video with sound, and the client gets the IMAGE,
    VIDEO and AUDIO back (used here by core nodes) and the Edges node routed to its selector."""
    chime = load_demo_module("chime").write_chime(stack.client.input_dir / "floyo_demo_chime.wav")
    info = stack.client.get("/object_info")[1]
    prompt = ui_to_api(json.loads((EXAMPLES / "demo_media.json").read_text()), info)
    floyo = next(i for i, n in prompt.items() if n["class_type"] == "FloyoRemoteRun")
    prompt[floyo]["inputs"]["reuse"] = "always run"
    prompt.update({  # what a user would connect next: the outputs are ordinary core values
        "90": save(floyo, prefix="demo_images"),
        "91": {"class_type": "GetVideoComponents", "inputs": {"video": [floyo, 4]}},
        "92": save("91", prefix="demo_frames"),
        "93": {"class_type": "SaveAudio", "inputs": {"audio": [floyo, 5], "filename_prefix": "demo_audio"}}})
    known = set(stack.gateway.runs)
    entry = stack.client.run(prompt, timeout=240)
    assert succeeded(entry)
    worker_entry = stack.worker.history(stack.new_run(known).prompt_id)
    sent = worker_entry["prompt"][2]
    by_title = {n["_meta"]["title"]: n for n in sent.values()}
    assert by_title["Photo"]["inputs"]["image"] != "example.png"  # uploaded: the worker's copy
    uploaded = stack.worker.input_dir / by_title["Chime"]["inputs"]["audio"]
    assert uploaded.read_bytes() == chime.read_bytes()
    [edges] = saved(stack.client, entry, "90")  # IMAGE: the edges, 320x320
    assert Image.open(edges).size == (320, 320)
    assert len(saved(stack.client, entry, "92")) == 6  # VIDEO: photo and edges, three times
    [audio] = [stack.client.output_dir / a["subfolder"] / a["filename"]
               for a in entry["outputs"]["93"]["audio"]]
    assert media(audio) == (3 * 22050, 22050)  # AUDIO: the 3 s chime
    routed = next(i for i, n in prompt.items() if n["_meta"]["title"] == "Edges, routed here")
    [preview] = entry["outputs"][routed]["images"]
    with Image.open(stack.client.base / "temp" / preview["subfolder"] / preview["filename"]) as image:
        assert image.size == (320, 320) and image.getextrema() == Image.open(edges).getextrema()


# ---- a Floyo workflow from the gateway's folder (--workflows DIR; issue 26) -------------------------

def test_a_workflow_file_in_the_gateways_folder_runs_by_name_with_a_local_image_uploaded(stack, tmp_path):
    """A team's own box serves its workflows from a folder: picked by name, fetched when queued,
    the local image uploaded into the worker's input and read by the workflow's LoadImage."""
    remote = {"10": {"class_type": "LoadImage", "inputs": {"image": "example.png"},
                     "_meta": {"title": "Photo"}},
              "11": {"class_type": "ImageInvert", "inputs": {"image": ["10", 0]}},
              "12": save("11", prefix="folder")}
    (tmp_path / "invert photo.json").write_text(json.dumps(remote))
    (tmp_path / "broken.json").write_text("{not json")  # skipped, with a warning in the gateway's log
    stack.gateway.server.workflows = str(tmp_path)
    graph = {"20": {"class_type": "EmptyImage", "inputs": {"width": 40, "height": 30, "batch_size": 1,
                                                           "color": 0xFF0000}},
             "21": {"class_type": "FloyoOverrideImage", "inputs": {"target": "Photo", "input": "image",
                                                                   "image": ["20", 0]}},
             "1": remote_run_of({}, source="floyo workflow", floyo_workflow="invert photo",
                                overrides=["21", 0]),
             "2": save("1")}
    try:
        listed = stack.api("/workflows?scope=team")
        known = set(stack.gateway.runs)
        entry = stack.client.run(graph)
        status, refused = stack.client.post("/prompt", {"prompt": {
            "1": remote_run_of({}, source="floyo workflow", floyo_workflow="wf_gone"),
            "2": save("1")}})
    finally:
        stack.gateway.server.workflows = None
    assert [(w["id"], w["name"]) for w in listed["data"]] == [("wf_invert_photo", "invert photo")]
    assert succeeded(entry)
    [local] = saved(stack.client, entry, "2")
    assert center_is(local, (0, 255, 255))  # red, inverted on the worker
    run = stack.new_run(known)
    sent = stack.worker.history(run.prompt_id)["prompt"][2]
    assert sent["11"]["class_type"] == "ImageInvert" and sent["10"]["inputs"]["image"] != "example.png"
    assert status == 400 and "no workflow wf_gone" in json.dumps(refused)
    assert set(stack.gateway.runs) == known | {run.id}, "the refused prompt created nothing"


def stepping(steps: int = 12, seconds: float = 0.6) -> dict:
    """A remote graph whose node titled "Sampler" reports ``steps`` steps on the worker; a fresh
    color each time, so the worker runs it again rather than serving it from its cache."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1,
                                                         "color": time.time_ns() % 0xFFFFFF}},
            "2": {"class_type": "RemoteOnlySteps", "_meta": {"title": "Sampler"},
                  "inputs": {"image": ["1", 0], "steps": steps, "seconds": seconds}},
            "3": save("2", prefix=f"stepped_{time.time_ns()}")}


@pytest.mark.timeout(120)
def test_the_client_node_shows_the_workers_node_and_step_while_it_runs(stack):
    """Issue #25, item 5: the gateway follows its worker's websocket and adds ``progress`` to the
    run; the pack's ``floyo.run`` events carry "Sampler 3/12" (the node's title and its step),
    which the node's status line shows (web/floyo/node_status.js), and drop it once the run is done."""
    with Socket(stack.client.url) as ws:
        graph = {"1": remote_run_of(stepping()), "2": save("1")}
        prompt_id = stack.client.queue(graph, client_id=ws.client_id)
        assert succeeded(stack.client.wait(prompt_id, timeout=90))
        time.sleep(0.3)
    events = [e["data"] for e in ws.events if e["type"] == "floyo.run"]
    steps = [e["progress"] for e in events if e.get("progress")]
    assert steps, [e["status"] for e in events]
    assert all(re.fullmatch(r"Sampler (\d+)/12", s) for s in steps), steps
    counts = [int(re.fullmatch(r"Sampler (\d+)/12", s)[1]) for s in steps]
    assert counts == sorted(counts) and len(set(counts)) >= 2, "the step moves on, event by event"
    assert all(e.get("progress") is None for e in events if e["status"] != "processing")


@pytest.mark.timeout(150)
def test_the_nodes_status_line_in_the_browser_shows_the_workers_step(stack, needs_browser):
    """The same step on the node as the user sees it, in the real frontend of this leg."""
    res = run_script("gateway_progress.mjs", stack.client, timeout=120, WORKFLOW=json.dumps(stepping()))
    stepped = [t for t in res["texts"] if re.search(r"^Floyo: processing Sampler \d+/12 · ", t)]
    assert len(stepped) >= 2, (res["texts"], res["events"])
    others = [t for t in res["texts"] if not t.startswith("Floyo: processing")]
    assert not any("Sampler" in t for t in others), res["texts"]


@pytest.mark.timeout(180)
def test_a_run_watched_through_a_gateway_restart_is_saved_and_paid_once(stack):
    """Issue #25, item 2: the gateway is stopped mid-run and started again over its state folder;
    the pack rides out the gap, and the restarted gateway still knows the run and its worker prompt."""
    known = set(stack.gateway.runs)
    prompt_id = stack.client.queue({"1": remote_run_of(slow_graph(8)), "2": save("1", prefix="restarted")})
    run = stack.new_run(known)
    stack.worker.wait_running(run.prompt_id)
    stack.restart_gateway(down_s=2.0)
    entry = stack.client.wait(prompt_id, timeout=120)
    assert succeeded(entry)
    [local] = saved(stack.client, entry, "2")
    assert Image.open(local).size == (512, 512)
    assert [r.id for r in stack.gateway.runs.values() if r.id not in known] == [run.id], "one run, paid once"
    body = stack.api(f"/runs/{run.id}")
    assert body["status"] == "done" and len(body["outputs"]) == 1


@pytest.mark.timeout(240)
def test_a_worker_restarted_mid_run_ends_the_run_failed_naming_the_worker(stack):
    """Issue #25, item 4: the worker forgets its queue when it restarts; the run is failed with a
    message naming the worker and what happened, and the client's node shows it. Last in this
    module: it costs a worker start."""
    known = set(stack.gateway.runs)
    prompt_id = stack.client.queue({"1": remote_run_of(slow_graph(40)), "2": save("1", prefix="lost")})
    run = stack.new_run(known)
    stack.worker.wait_running(run.prompt_id)
    stack.worker.restart(kill=True)
    entry = stack.client.wait(prompt_id, timeout=120)
    message = node_error(entry)["exception_message"]
    assert stack.worker.url in message and "restarted" in message
    assert stack.api(f"/runs/{run.id}")["status"] == "failed"
