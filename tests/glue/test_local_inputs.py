"""Only files inside ComfyUI's own input folders are ever uploaded for a remote loader: a value
that climbs out (``../``) or names nothing is left alone, never read."""

from __future__ import annotations

import os
import sys
import types

import pytest
from floyo_pack.nodes import comfy
from floyo_pack.nodes.inputs.loader_files import local_files


@pytest.fixture
def input_dir(tmp_path, monkeypatch):
    folder = tmp_path / "input"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(b"a")
    (folder / "sub" / "b.png").write_bytes(b"b")
    (tmp_path / "secret.txt").write_text("no")

    def annotated(name):
        return (name[:-8], str(folder)) if name.endswith(" [input]") else (name, None)

    fake = types.SimpleNamespace(annotated_filepath=annotated, get_input_directory=lambda: str(folder))
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    return folder


def test_loader_values_naming_local_files_are_found(input_dir):
    workflow = {"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
                "2": {"class_type": "LoadImageMask", "inputs": {"image": "sub/b.png [input]"}},
                "3": {"class_type": "LoadImage", "inputs": {"image": "#inputs/api/x.png"}},
                "4": {"class_type": "LoadImage", "inputs": {"image": "missing.png"}},
                "5": {"class_type": "SaveImage", "inputs": {"filename_prefix": "a.png"}}}
    found = [(n, k, os.path.relpath(p, input_dir)) for n, k, p in local_files(workflow)]
    assert found == [("1", "image", "a.png"), ("2", "image", os.path.join("sub", "b.png"))]


def test_paths_that_climb_out_of_the_input_folder_are_refused(input_dir):
    assert comfy.local_input_file("../secret.txt") is None
    assert comfy.local_input_file(str(input_dir.parent / "secret.txt")) is None
    assert comfy.local_input_file("a.png") == (input_dir / "a.png").resolve()


def test_video_and_audio_loaders_name_their_local_files_by_their_file_input(input_dir):
    for name in ("clip.mp4", "song.flac", "vhs.webm", "voice.wav"):
        (input_dir / name).write_bytes(b"media")
    workflow = {"1": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
                "2": {"class_type": "LoadAudio", "inputs": {"audio": "song.flac"}},
                "3": {"class_type": "VHS_LoadVideo", "inputs": {"video": "vhs.webm", "force_rate": 0}},
                "4": {"class_type": "VHS_LoadAudioUpload", "inputs": {"audio": "voice.wav", "start_time": 0}},
                "5": {"class_type": "LoadVideo", "inputs": {"file": "#inputs/api/on_floyo.mp4"}},
                "6": {"class_type": "CreateVideo", "inputs": {"fps": 24.0, "images": ["1", 0]}}}
    found = [(n, k, p.name) for n, k, p in local_files(workflow)]
    assert found == [("1", "file", "clip.mp4"), ("2", "audio", "song.flac"), ("3", "video", "vhs.webm"),
                     ("4", "audio", "voice.wav")]
