"""Smoke test for the e2e harness itself (tests/e2e/conftest.py), independent of the pack's nodes."""

import os
import signal
import subprocess

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


@pytest.mark.usefixtures("needs_browser")
def test_a_browser_script_finds_nothing_an_earlier_script_of_its_worker_stored(comfy):
    """A pytest worker's browser scripts share one Chromium profile for its caches
    (tests/e2e/support/browser.py), yet each page starts as in a new browser: what one script
    stored for the ComfyUI's origin, the next does not find."""
    from .support.browser import run_script

    run_script("storage_probe.mjs", comfy, timeout=60)
    found = run_script("storage_probe.mjs", comfy, timeout=60)
    assert found == {"local": None, "databases": []}



def test_a_forked_comfyui_start_loads_the_same_nodes_and_pack_as_a_plain_python_main_py(comfy_env, tmp_path):
    """The suites start ComfyUI by forking a warm start server (tests/e2e/support/forked.py);
    the process under test must be the ComfyUI a user starts: the same node classes with the same
    inputs, the pack loaded, its own pid and exit code on SIGTERM, a log of its own."""
    from .support import comfy as harness

    harness.require_comfyui()
    answers = {}
    for how in ("exec", "fork"):
        server = harness.Comfy(tmp_path / how, env={**comfy_env, "FLOYO_TEST_COMFY_START": None})
        previous = os.environ.get("FLOYO_TEST_COMFY_START")
        os.environ["FLOYO_TEST_COMFY_START"] = how
        try:
            server.start()
        finally:
            os.environ.pop("FLOYO_TEST_COMFY_START") if previous is None else os.environ.update(
                FLOYO_TEST_COMFY_START=previous)
        try:
            assert isinstance(server.proc, subprocess.Popen) == (how == "exec")
            answers[how] = server.get("/object_info")[1]
            assert server.get("/system_stats")[1]["system"]["comfyui_version"] == server.leg.name
        finally:
            assert server.stop() in (0, -signal.SIGTERM), server.log_tail()
        text = server.log_text()
        assert "Import times for custom nodes" in text and "IMPORT FAILED" not in text
    assert "FloyoRemoteRun" in answers["fork"]
    assert answers["fork"] == answers["exec"]
