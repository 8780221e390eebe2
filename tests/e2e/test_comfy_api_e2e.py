"""The pack's stand-in values against the real ``comfy_api`` of the ComfyUI under test (every leg
of the CI matrix), never a stub: a VIDEO that holds nothing must be constructible and fail clearly
on every method that ComfyUI's own VIDEO interface declares, including ones a newer ComfyUI adds.

The check runs in the leg's own Python with that ComfyUI's source on ``sys.path``, exactly as the
pack's modules are imported inside the server.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from .support.comfy import COMFY_DIR, COMFY_LEG, COMFY_PY, REPO, require_comfyui

pytestmark = pytest.mark.e2e

PROBE = r"""
import importlib.util, inspect, json, sys
sys.path.insert(0, sys.argv[1])
from comfy_api.latest import Input
spec = importlib.util.spec_from_file_location("floyo_media", sys.argv[2])
media = importlib.util.module_from_spec(spec)
spec.loader.exec_module(media)
video = media.MissingVideo("run_x saved no video file")
outcomes = {}
for name in sorted(getattr(Input.Video, "__abstractmethods__", ())):
    params = [p for p in inspect.signature(getattr(Input.Video, name)).parameters.values()
              if p.name != "self" and p.default is p.empty
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    try:
        getattr(video, name)(*([None] * len(params)))
        outcomes[name] = "returned"
    except media.MediaError as e:
        outcomes[name] = "MediaError: " + str(e)
    except Exception as e:
        outcomes[name] = type(e).__name__ + ": " + str(e)
print(json.dumps({"is_video": isinstance(video, Input.Video), "outcomes": outcomes}))
"""


def test_a_missing_video_is_a_real_comfyui_video_whose_every_abstract_method_fails_clearly():
    require_comfyui()
    module = REPO / "nodes" / "decode" / "video_audio.py"
    done = subprocess.run([str(COMFY_PY), "-c", PROBE, str(COMFY_DIR), str(module)],
                          capture_output=True, text=True, timeout=120, cwd=COMFY_DIR)
    assert done.returncode == 0, f"ComfyUI {COMFY_LEG.name}: {done.stderr[-3000:]}"
    report, leg = json.loads(done.stdout.strip().splitlines()[-1]), COMFY_LEG.name
    assert report["is_video"], f"not an instance of ComfyUI {leg}'s VIDEO interface"
    assert report["outcomes"], f"ComfyUI {leg}'s VIDEO declares no abstract method: the probe is broken"
    for name, outcome in report["outcomes"].items():
        assert outcome == "MediaError: run_x saved no video file", f"{name} on ComfyUI {leg}: {outcome}"
