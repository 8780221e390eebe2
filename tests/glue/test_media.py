"""AUDIO decoded from a saved file equals what was encoded, whatever the sample format; its size is
checked against the budget before the samples are allocated; a missing video or audio is a value
whose use fails with a message saying what is missing, never a silent empty value."""

from __future__ import annotations

import abc
import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from floyo_pack.nodes.decode.video_audio import (
    MediaError,
    MissingAudio,
    MissingVideo,
    decode_audio,
    missing_video_type,
    video_problem,
)
from floyo_pack.nodes.run import run_result


def tone(path: Path, rate: int = 16000, channels: int = 2, seconds: float = 0.5, codec: str = "flac",
         fmt: str = "s16") -> np.ndarray:
    """Write a two-tone file with PyAV; returns the float samples [channels, T] it holds."""
    t = np.arange(int(rate * seconds)) / rate
    wave = np.stack([0.5 * np.sin(2 * math.pi * (220 + 220 * c) * t) for c in range(channels)])
    pcm = (wave * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo" if channels == 2 else "mono")
        stream.format = fmt
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16",
                                           layout="stereo" if channels == 2 else "mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return pcm.astype(np.float32) / 32768.0


@pytest.mark.parametrize(("codec", "fmt", "suffix", "tolerance"), [
    ("flac", "s16", "flac", 1e-6), ("pcm_s16le", "s16", "wav", 1e-6), ("libopus", "flt", "opus", 0.2)])
def test_audio_decodes_to_comfyui_audio_with_the_saved_samples(tmp_path, codec, fmt, suffix, tolerance):
    path = tmp_path / f"a.{suffix}"
    expected = tone(path, rate=48000 if codec == "libopus" else 16000, codec=codec, fmt=fmt)
    audio = decode_audio(path, max_samples=10**8)
    waveform = audio["waveform"]
    assert waveform.dtype == torch.float32 and waveform.shape[:2] == (1, 2)
    assert audio["sample_rate"] == (48000 if codec == "libopus" else 16000)
    if tolerance < 1e-3:  # lossless: sample for sample
        assert waveform.shape[2] == expected.shape[1]
        assert torch.allclose(waveform[0], torch.from_numpy(expected), atol=tolerance)
    else:  # lossy: the same loudness
        assert abs(waveform.abs().mean().item() - float(np.abs(expected).mean())) < tolerance


def test_audio_over_the_budget_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "long.flac"
    tone(path, seconds=2.0)  # 2 channels x 32000 samples
    decoded = []
    real = av.container.InputContainer.decode
    monkeypatch.setattr(av.container.InputContainer, "decode",
                        lambda self, *a, **k: decoded.append(1) or real(self, *a, **k))
    with pytest.raises(MediaError, match="more audio"):
        decode_audio(path, max_samples=50_000)
    assert decoded == [], "refused from the header, before any frame was decoded"
    assert decode_audio(path, max_samples=64_000)["waveform"].shape == (1, 2, 32000)


def test_missing_video_and_audio_fail_clearly_when_a_downstream_node_uses_them():
    video, audio = MissingVideo("run_x saved no video file"), MissingAudio("run_x saved no audio file")
    for use in (video.get_components, video.get_dimensions, lambda: video.save_to("x.mp4")):
        with pytest.raises(MediaError, match="saved no video"):
            use()
    for use in (lambda: audio["waveform"], lambda: audio.get("sample_rate")):
        with pytest.raises(MediaError, match="saved no audio"):
            use()


def test_a_missing_video_fills_abstract_methods_a_newer_video_interface_declares():
    """ComfyUI v0.14.0 added the abstract ``as_trimmed`` to its VIDEO; a later release may add more.
    The real interfaces are checked in tests/e2e/test_comfy_api_e2e.py on every ComfyUI of the matrix."""
    class NewerVideo(abc.ABC):
        @abc.abstractmethod
        def as_trimmed(self, start: float, duration: float): ...

        @abc.abstractmethod
        def as_something_next(self): ...

    video = missing_video_type(NewerVideo)("run_x saved no video file")
    assert isinstance(video, NewerVideo)
    for use in (lambda: video.as_trimmed(0, 1), video.as_something_next, video.get_components):
        with pytest.raises(MediaError, match="saved no video"):
            use()


def test_a_file_that_is_not_a_video_is_named_with_the_reason(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    assert "clip.mp4" in video_problem(bad)
    sound = tmp_path / "a.flac"
    tone(sound)
    assert "no video stream" in video_problem(sound)


def test_previews_point_at_the_saved_files_videos_over_stills_never_outside_output(tmp_path, monkeypatch):
    monkeypatch.setattr(run_result.comfy, "output_dir", lambda: tmp_path / "output")
    folder = tmp_path / "output" / "floyo" / "run_abc"
    made = [run_result.SavedFile(str(folder / n), n, k, None) for n, k in
            [("a.png", "image"), ("v.mp4", "video"), ("s.flac", "audio"), ("t.flac", "audio")]]
    ui = run_result.previews(made)
    entry = {"subfolder": "floyo/run_abc", "type": "output"}
    assert ui == {"images": [{"filename": "v.mp4", **entry}], "animated": [True],
                  "audio": [{"filename": "s.flac", **entry}]}
    assert run_result.previews(made[:1]) == {"images": [{"filename": "a.png", **entry}]}
    assert run_result.previews([run_result.SavedFile("/elsewhere/a.png", "a.png", "image", None)]) is None


def test_a_run_with_a_video_but_no_image_says_so_and_names_output_nodes_that_made_nothing():
    from floyo_pack.floyo_client.output_tags import OutputNode

    nodes = {"6": OutputNode("6", "SaveVideo", None, True), "7": OutputNode("7", "SaveImage", "Poster", True),
             "8": OutputNode("8", "PreviewImage", None, False)}
    clip = run_result.SavedFile("/o/clip_floyo-6_00001_.mp4", "clip_floyo-6_00001_.mp4", "video", "6")
    result = run_result.RunResult("run_abc", (clip,), nodes)
    assert run_result.extra_warnings(result, result.files) == [
        "the run saved a video but no image: 'images' is empty, use 'video'",
        'node 7 "Poster" (SaveImage) made no files',
        "node 8 (PreviewImage) made no files (Floyo may not return preview files: use a Save node to be "
        "sure)"]
