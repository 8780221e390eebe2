"""Local VIDEO and AUDIO reach a remote loader as files: a video that came from a file is uploaded as
that file, unchanged; any other video is encoded as mp4 and audio as flac; every size is checked
against FLOYO_MAX_UPLOAD_MB before the bytes are read; a Cancel while encoding is answered at once;
and a wrong target is refused, listing the valid ones, before anything is encoded.

The real comfy_api video classes are exercised end to end (tests/e2e/test_gateway_e2e.py); here
``comfy_api.latest`` is a stand-in, so this suite runs without ComfyUI on the path."""

from __future__ import annotations

import asyncio
import io
import json
import math
import sys
import threading
import types
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from floyo_pack.floyo_client import Interrupted
from floyo_pack.floyo_client.workflow import Override, WorkflowError
from floyo_pack.nodes import comfy
from floyo_pack.nodes.inputs import loader_files, upload_payloads
from floyo_pack.nodes.inputs.override_values import AudioUpload, VideoUpload, resolve
from floyo_pack.nodes.inputs.upload_payloads import UploadTooLarge, audio_payload, prepare_off_loop
from floyo_pack.nodes.node_types import preflight
from floyo_pack.nodes.node_types.override_nodes import SPECS
from floyo_pack.nodes.node_types.spec import Ctx


class FakeVideoFromFile:
    def __init__(self, source):
        self.source = source

    def get_stream_source(self):
        return self.source


class FakeVideoFromFrames:
    """A VIDEO with no source file: ``save_to`` is the encoder (it writes ``size`` bytes)."""

    def __init__(self, size: int):
        self.size, self.saved_as = size, []

    def save_to(self, path, format=None, codec=None):
        self.saved_as.append((Path(path).suffix, format, codec))
        Path(path).write_bytes(b"\0" * self.size)


@pytest.fixture
def fake_comfy_api(monkeypatch):
    latest = types.ModuleType("comfy_api.latest")
    latest.InputImpl = types.SimpleNamespace(VideoFromFile=FakeVideoFromFile)
    latest.Types = types.SimpleNamespace(VideoContainer=types.SimpleNamespace(MP4="mp4"),
                                         VideoCodec=types.SimpleNamespace(H264="h264"))
    monkeypatch.setitem(sys.modules, "comfy_api", types.ModuleType("comfy_api"))
    monkeypatch.setitem(sys.modules, "comfy_api.latest", latest)


def test_a_video_from_a_file_is_uploaded_as_that_file_unchanged(fake_comfy_api, tmp_path):
    clip = tmp_path / "clip.MOV"
    clip.write_bytes(b"original video bytes")
    payload = VideoUpload(FakeVideoFromFile(str(clip))).payload()
    assert payload.data == b"original video bytes"
    assert payload.name.startswith("comfyui_") and payload.name.endswith(".mov")


def test_a_video_without_a_source_file_is_encoded_as_h264_mp4(fake_comfy_api):
    frames = FakeVideoFromFrames(size=10)
    payload = VideoUpload(frames).payload()
    assert frames.saved_as == [(".mp4", "mp4", "h264")]
    assert payload.data == b"\0" * 10 and payload.name.endswith(".mp4")
    in_memory = FakeVideoFromFile(io.BytesIO(b"x"))  # a VideoFromFile over bytes has no file to send
    in_memory.save_to = frames.save_to
    assert VideoUpload(in_memory).payload().name.endswith(".mp4")


def test_videos_over_the_upload_limit_are_refused_before_they_are_read(fake_comfy_api, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_UPLOAD_MB", "1")
    clip = tmp_path / "big.mp4"
    clip.write_bytes(b"\0" * (2 * 2**20))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self.name} was read"))
    in_memory = FakeVideoFromFile(io.BytesIO(b"\0" * (2 * 2**20)))
    in_memory.save_to = lambda *a, **kw: pytest.fail("remuxed before its size was checked")
    for video in (FakeVideoFromFile(str(clip)), FakeVideoFromFrames(size=2 * 2**20), in_memory):
        with pytest.raises(UploadTooLarge, match=r"2\.0 MB, over the 1 MB upload limit.*FLOYO_MAX_UPLOAD_MB"):
            VideoUpload(video).payload()


def _decode_flac(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        chunks = [f.to_ndarray().reshape(-1, channels).T if f.format.is_packed else f.to_ndarray()
                  for f in container.decode(stream)]  # packed: one row of interleaved samples
        return np.concatenate(chunks, axis=1), stream.rate


def test_audio_is_uploaded_as_flac_holding_the_same_samples():
    rate, seconds = 22050, 3.5  # longer than one encoded chunk
    t = torch.arange(int(rate * seconds)) / rate
    left, right = 0.5 * torch.sin(2 * math.pi * 440 * t), 0.25 * torch.sin(2 * math.pi * 660 * t)
    waveform = torch.stack([left, right]).unsqueeze(0)  # [1, 2, T]
    second_clip = torch.zeros_like(waveform)
    payload = audio_payload({"waveform": torch.cat([waveform, second_clip]), "sample_rate": rate})
    assert payload.data.startswith(b"fLaC") and payload.name.endswith(".flac")
    samples, got_rate = _decode_flac(payload.data)
    assert got_rate == rate and samples.shape == (2, waveform.shape[2])  # the first clip only
    scale = 32768.0 if samples.dtype == np.int16 else 1.0
    assert np.abs(samples / scale - waveform[0].numpy()).max() < 1e-3


@pytest.mark.parametrize("audio", [{"waveform": torch.zeros(2, 3), "sample_rate": 44100},
                                   {"waveform": torch.zeros(1, 1, 8)},
                                   {"waveform": torch.zeros(1, 6, 8), "sample_rate": 44100}])
def test_audio_that_is_not_mono_or_stereo_comfyui_audio_is_refused_with_the_fix(audio):
    with pytest.raises(ValueError, match="Load Audio|mono or stereo"):
        audio_payload(audio)


def test_a_cancel_while_an_upload_is_prepared_is_answered_before_the_encoding_ends():
    release, stop = threading.Event(), threading.Event()

    def slow_encoding() -> bytes:
        stop.set()  # the user presses Cancel while the encoder runs
        release.wait(timeout=30)
        return b""

    async def cancelled() -> None:
        with pytest.raises(Interrupted, match="nothing was uploaded"):
            await prepare_off_loop(slow_encoding, stop.is_set)
        assert not release.is_set()  # answered while the encoder was still busy
        release.set()  # (asyncio.run waits for the thread before it returns)

    asyncio.run(cancelled())


REMOTE = {"4": {"class_type": "LoadVideo", "inputs": {"file": "x.mp4"}, "_meta": {"title": "Clip"}},
          "5": {"class_type": "LoadAudio", "inputs": {"audio": "y.wav"}, "_meta": {"title": "Voice"}}}


class Untouchable:
    kind = "VIDEO"

    def payload(self):
        raise AssertionError("encoded before the target was checked")


def test_video_and_audio_overrides_name_their_loader_and_a_wrong_one_lists_the_choices():
    specs = {s.node_id: s for s in SPECS}
    for node_id, value_input, default in (("FloyoOverrideVideo", "video", "file"),
                                          ("FloyoOverrideAudio", "audio", "audio")):
        spec = specs[node_id]
        assert [i.name for i in spec.inputs] == ["target", "input", value_input, "overrides"]
        assert spec.inputs[1].options["default"] == default and spec.category == "Floyo/overrides"
    video = VideoUpload(Untouchable())
    for target, name, message in (("Clp", "file", r"No remote node .*'Clip'.*'Voice'.*4 \(LoadVideo\)"),
                                  ("Clip", "video", r"has no input 'video'\. Its inputs: file")):
        with pytest.raises(WorkflowError, match=message):
            asyncio.run(resolve(None, REMOTE, [Override(target, name, video)], lambda: False))


def test_the_node_outputs_an_upload_to_be_prepared_at_run_time_not_at_queue_time():
    spec = {s.node_id: s for s in SPECS}["FloyoOverrideAudio"]
    audio = {"waveform": torch.zeros(1, 1, 8), "sample_rate": 8000}
    (chain,) = asyncio.run(spec.run(Ctx("1", None), target="Voice", input="audio", audio=audio))
    assert len(chain) == 1 and isinstance(chain[0].value, AudioUpload) and chain[0].value.audio is audio


def test_preflight_shows_pending_video_and_audio_uploads_without_encoding(monkeypatch, tmp_path):
    monkeypatch.setattr(comfy, "local_input_file", lambda name: None)
    monkeypatch.setattr(comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.delenv("FLOYO_API_KEY", raising=False)
    overrides = (Override("Clip", "file", VideoUpload(Untouchable())),
                 Override("Voice", "audio", AudioUpload({"waveform": None})))
    text, report = asyncio.run(preflight.preflight(Ctx("3", None), "embedded", json.dumps(REMOTE),
                                                   overrides=overrides))
    sent = json.loads(text)
    assert sent["4"]["inputs"]["file"] == "<pending upload: local VIDEO>"
    assert sent["5"]["inputs"]["audio"] == "<pending upload: local AUDIO>"
    assert "VIDEO override of Clip.file" in report and "AUDIO override of Voice.audio" in report


def test_a_local_file_over_the_upload_limit_is_refused_before_it_is_read_or_sent(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOYO_MAX_UPLOAD_MB", "1")
    big = tmp_path / "long.wav"
    big.write_bytes(b"\0" * (3 * 2**20))
    monkeypatch.setattr(comfy, "local_input_file", lambda name: big if name == "long.wav" else None)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self.name} was read"))

    class NoUploads:
        async def send_upload(self, *a, **kw):
            raise AssertionError("uploaded")

    refused = r"long\.wav \(node 5 input 'audio'\) is 3\.0 MB.*FLOYO_MAX_UPLOAD_MB"
    with pytest.raises(UploadTooLarge, match=refused):
        asyncio.run(loader_files.upload_local_inputs(NoUploads(), {**REMOTE, "5": {
            "class_type": "LoadAudio", "inputs": {"audio": "long.wav"}}}, lambda: False))
    assert upload_payloads.max_upload_bytes() == 2**20
