"""Every kind of output, end to end: a worker ComfyUI (core nodes on CPU) saves images, a video and
audio through several output nodes; the client gets VIDEO and AUDIO that core SaveVideo, SaveAudio
and GetVideoComponents accept, previews of the saved files on the node, and Floyo Select Output
splits the run by remote node without a second run. Through the gateway, over the realism layer."""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote

import pytest
from PIL import Image

from .support.comfy import Comfy
from .support.gateway import gateway_stack
from .support.results import center_is, node_error, succeeded
from .support.scripted import e2e_realism

pytestmark = pytest.mark.e2e

BLUE, YELLOW = (0x33, 0x33, 0xFF), (0xCC, 0xCC, 0x00)
REMOTE = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 4,
                                                 "color": 0x3333FF}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "poster"},
          "_meta": {"title": "Poster"}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "inverted"},
          "_meta": {"title": "Inverted"}},
    "5": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
    "6": {"class_type": "SaveVideo", "inputs": {"video": ["5", 0], "filename_prefix": "video/clip",
                                                "format": "mp4", "codec": "h264"},
          "_meta": {"title": "Clip"}},
    "7": {"class_type": "EmptyAudio", "inputs": {"duration": 0.5, "sample_rate": 16000, "channels": 1}},
    "8": {"class_type": "SaveAudio", "inputs": {"audio": ["7", 0], "filename_prefix": "audio/tone"}},
}
RUN = {"class_type": "FloyoRemoteRun", "inputs": {"source": "embedded", "workflow": json.dumps(REMOTE),
                                                  "run_name": f"outputs {uuid.uuid4().hex[:6]}",
                                                  "reuse": "always run"}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Worker and client ComfyUI with the gateway between them, its answers shaped like the internet's."""
    with gateway_stack(tmp_path_factory, "out", realism=e2e_realism()) as built:
        yield built


def save(src: str) -> dict:
    return {"class_type": "SaveImage", "inputs": {"images": [src, 0], "filename_prefix": "local/picked"}}


def select(node: str) -> dict:
    return {"class_type": "FloyoSelectOutput", "inputs": {"result": ["1", 6], "node": node}}


def files(comfy: Comfy, entry: dict, node: str, key: str = "images") -> list:
    return [comfy.output_dir / i["subfolder"] / i["filename"] for i in entry["outputs"][node][key]]


def test_video_audio_and_two_selectors_come_back_from_one_run_and_feed_core_nodes(stack):
    graph = {"1": RUN,
             "2": {"class_type": "SaveVideo", "inputs": {"video": ["1", 4], "filename_prefix": "local/clip",
                                                         "format": "auto", "codec": "auto"}},
             "3": {"class_type": "GetVideoComponents", "inputs": {"video": ["1", 4]}},
             "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0],
                                                         "filename_prefix": "local/frame"}},
             "5": {"class_type": "SaveAudio", "inputs": {"audio": ["1", 5], "filename_prefix": "local/tone"}},
             "6": select("Poster"), "7": save("6"),
             "8": select("4"), "9": save("8")}
    entry = stack.client.run(graph, timeout=180)
    assert succeeded(entry)
    [run] = stack.gateway.runs.values()
    # the previews point at the files the run saved (nothing saved twice): the video, and the audio
    shown = entry["outputs"]["1"]
    [video] = files(stack.client, entry, "1")
    [audio] = files(stack.client, entry, "1", "audio")
    assert shown["animated"] == [True] and video.suffix == ".mp4" and audio.suffix == ".flac"
    assert {i["type"] for i in shown["images"] + shown["audio"]} == {"output"}
    assert video.parent == audio.parent == stack.client.output_dir / "floyo" / run.id
    assert "floyo-6" in video.name and "floyo-8" in audio.name  # the routing tags Floyo's history shows
    # core nodes take the VIDEO and AUDIO
    assert files(stack.client, entry, "2")[0].stat().st_size > 0
    frames = files(stack.client, entry, "4")
    assert len(frames) == 4 and Image.open(frames[0]).size == (64, 48)
    assert files(stack.client, entry, "5", "audio")[0].stat().st_size > 0
    # two selectors on two remote output nodes, by title and by id, from the one run
    poster, inverted = files(stack.client, entry, "7"), files(stack.client, entry, "9")
    assert len(poster) == len(inverted) == 4
    assert center_is(poster[0], BLUE) and center_is(inverted[0], YELLOW)

    # the same run, served from ComfyUI's cache: clear errors, no new run
    wrong = node_error(stack.client.run({"1": RUN, "6": select("Nope"), "7": save("6")}))
    assert "'Poster'" in wrong["exception_message"] and "6 (SaveVideo)" in wrong["exception_message"]
    no_audio = node_error(stack.client.run({"1": RUN, "6": select("Poster"), "7": {
        "class_type": "SaveAudio", "inputs": {"audio": ["6", 3], "filename_prefix": "x"}}}))
    assert "saved no audio file" in no_audio["exception_message"]
    assert list(stack.gateway.runs) == [run.id], "selectors never pay for another run"


@pytest.mark.timeout(200)
def test_the_node_previews_the_saved_video_and_audio_in_the_browser(stack):
    from .support.browser import browser_missing, run_script

    if (reason := browser_missing()) is not None:
        pytest.skip(reason)
    res = run_script("previews.mjs", stack.client, timeout=150, WORKFLOW=RUN["inputs"]["workflow"])
    assert res["pageErrors"] == [], res["pageErrors"]  # the audio extension found its player widget
    [video], [audio] = (unquote(u) for u in res["videos"]), (unquote(u) for u in res["audios"])
    assert "subfolder=floyo/run_" in video and "type=output" in video and ".mp4" in video
    assert "subfolder=floyo/run_" in audio and ".flac" in audio and res["isVideoNode"]
    assert [s["status"] for s in res["served"]] == [200, 200] and all(s["bytes"] > 0 for s in res["served"])
