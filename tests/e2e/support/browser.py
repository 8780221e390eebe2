"""The real frontend in headless Chromium: whether the browser and its node scripts are here, and
running one ``tests/e2e/ui/*.mjs`` script against a ComfyUI. The ``needs_browser`` fixture
(tests/e2e/conftest.py) skips or fails a test on ``browser_missing()``; this module decides nothing.

The scripts that one pytest process runs, one after another, share a Chromium profile folder: the
frontend's code then comes from its HTTP and code caches, not from ComfyUI and the compiler again.
Each script's page still starts with nothing stored (``ui/comfy_page.mjs``).
``FLOYO_TEST_BROWSER_PROFILE=0`` gives each script a new profile instead.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

UI = pathlib.Path(__file__).parents[1] / "ui"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM}"
    if not shutil.which("node"):
        return "no node on PATH"
    if not (UI / "node_modules" / "playwright-core").exists():
        return "no tests/e2e/ui/node_modules (npm ci)"
    return None


@functools.cache
def profile() -> str:
    """This process's Chromium profile folder, removed when the process ends."""
    folder = tempfile.mkdtemp(prefix="floyo-chromium-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def run_script(name: str, comfy, timeout: float = 100, **env: str) -> dict:
    """Run ``ui/<name>`` against ``comfy``; returns its RESULT dict (asserts it ran cleanly)."""
    if os.environ.get("FLOYO_TEST_BROWSER_PROFILE") != "0":
        env = {"PROFILE": profile(), **env}
    proc = subprocess.run(["node", str(UI / name)], cwd=UI, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COMFY_URL": comfy.url, "CHROMIUM": CHROMIUM, **env})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("RESULT "):])
    assert "error" not in result, f"{name}: {result['error']}\n{json.dumps(result, indent=1)[:3000]}"
    return result
