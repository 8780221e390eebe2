"""Smoke test for the e2e harness itself (tests/e2e/conftest.py), independent of the pack's nodes."""

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e


def test_real_comfyui_starts_and_runs_a_builtin_prompt_to_a_png(comfy):
    status, stats = comfy.get("/system_stats")
    assert status == 200, stats
    assert stats["system"]["comfyui_version"]

    entry = comfy.run({
        "1": {"class_type": "EmptyImage",
              "inputs": {"width": 32, "height": 24, "batch_size": 1, "color": 0xFF0000}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "harness"}},
    }, timeout=60)

    assert entry["status"]["status_str"] == "success", entry["status"]
    img = entry["outputs"]["2"]["images"][0]
    with Image.open(comfy.output_dir / img["subfolder"] / img["filename"]) as im:
        assert im.size == (32, 24)
        assert im.convert("RGB").getpixel((0, 0)) == (255, 0, 0)

