"""The pack's frontend (web/floyo.js) in ComfyUI's real web UI, in headless Chromium.

What a user does and sees: the Cancel button and status line on a live run, a real click that
cancels the Floyo run and ends the prompt as interrupted with a visible outcome, and the key
panel that stores the key server-side without it ever becoming a (plaintext) frontend setting.
Each test drives one browser through a script in ``tests/e2e/ui/`` (set up by .ci/setup.sh).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time

import pytest

from .support.browser import run_script
from .support.graphs import fresh_remote
from .support.scripted import SLOW_RUN

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_browser")]

REPO = pathlib.Path(__file__).resolve().parents[2]
REMOTE = {"1": {"class_type": "EmptyImage",
                "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
          "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "remote"}}}


def last_prompt_id(comfy) -> str:
    _, history = comfy.get("/history?max_items=1")
    assert history, "no prompt reached ComfyUI"
    return next(iter(history))


def cancel_in_browser(comfy, floyo, renderer: str, shot: pathlib.Path | None = None) -> tuple[dict, dict]:
    floyo.server.scenario.steps = list(SLOW_RUN)
    known = set(floyo.runs)
    env = {"WORKFLOW": fresh_remote(), "RENDERER": renderer}
    if shot:
        env["SHOT"] = str(shot)
    res = run_script("cancel_run.mjs", comfy, **env)
    runs = [r for r in floyo.runs.values() if r.id not in known]
    assert len(runs) == 1, "the browser's prompt should create exactly one Floyo run"
    prompt_id = next(e["prompt_id"] for e in res["events"] if e.get("prompt_id"))
    return res, {"run": runs[0], "entry": comfy.wait(prompt_id, timeout=30)}


def assert_cancelled(res: dict, outcome: dict, floyo) -> None:
    run, entry = outcome["run"], outcome["entry"]
    assert len(floyo.requests.cancel_requests(run.id)) == 1, "Cancel must reach POST /runs/{id}/cancel"
    kinds = [m[0] for m in entry["status"]["messages"]]
    assert "execution_interrupted" in kinds and "execution_error" not in kinds, kinds
    assert "Remote run cancel: cancelled" in res["toast"], res["toast"]  # shown,
    assert res["toastSeverity"] == "success", res["toastSeverity"]  # as a success toast
    assert any(e.get("status") == "cancelled" and e.get("cancel") == "cancelled" for e in res["events"])
    assert res["ended"].startswith("Floyo: cancelled") and res["after"]["buttonDisabled"] is True


@pytest.mark.timeout(150)
def test_cancel_button_and_live_status_line_on_the_canvas_renderer(comfy, floyo, tmp_path):
    shot = tmp_path / "node-running.png"
    res, outcome = cancel_in_browser(comfy, floyo, "canvas", shot)

    # the extension loaded and put its widgets on the node, kept out of the saved workflow
    assert "button:Cancel Floyo run" in res["widgets"] and "floyo-status:floyo_status" in res["widgets"]
    assert "Cancel Floyo run" not in res["serialized"] and "floyo_status" not in res["serialized"]
    # idle: "Floyo: no run", then the next run's estimate once read (tests/e2e/test_spend_frontend_e2e.py)
    assert res["before"]["status"].startswith("Floyo: no run")
    assert res["before"]["buttonDisabled"] is True and res["before"]["progressText"] is False
    assert res["idleStatus"].startswith("Floyo: no run") and "no Floyo run in progress" in res["idleToast"]

    # the status line follows the run: queued, then processing with elapsed time and run id
    run_id = outcome["run"].id
    assert res["queued"].startswith("Floyo: queued") and run_id in res["queued"]
    assert res["processing"].startswith("Floyo: processing") and run_id in res["processing"]
    assert res["during"]["buttonDisabled"] is False and "s · " in res["during"]["status"]
    assert res["during"]["progressText"] is False, "the status shows once: no ComfyUI progress text line"

    # a real mouse click on the canvas button cancels the remote run; the user sees the outcome
    assert_cancelled(res, outcome, floyo)

    assert shot.stat().st_size > 5_000
    if os.environ.get("FLOYO_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on purpose only
        docs = REPO / "docs" / "images"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, docs / "node-running.png")


@pytest.mark.timeout(150)
def test_cancel_button_works_on_the_vue_nodes_renderer(comfy, floyo):
    try:
        res, outcome = cancel_in_browser(comfy, floyo, "vue")
    finally:  # the setting is stored for the session's ComfyUI user; later browser tests expect canvas
        comfy.post("/settings/Comfy.VueNodes.Enabled", False)
    # idle, the button is greyed out (frontends whose Vue nodes follow the widget's `disabled`) or,
    # where Vue nodes froze widget options (1.32), a real click on it is inert and says so
    assert res["idleStatus"].startswith("Floyo: no run") and "no Floyo run in progress" in res["idleToast"]
    assert res["queued"].startswith("Floyo: queued") and res["processing"].startswith("Floyo: processing")
    assert res["duringVueDisabled"] is False, "a live run's Cancel must be clickable on Vue nodes"
    assert_cancelled(res, outcome, floyo)


@pytest.mark.timeout(120)
def test_key_set_in_the_settings_panel_goes_to_the_key_file_not_to_settings(comfy, tmp_path):
    key = f"flo_ui_{time.time_ns()}"
    key_file = comfy.base / "user" / "floyo" / "api_key"  # folder_paths.get_user_directory()/floyo
    # the session's ComfyUI is shared: another test on this worker may have left a key file
    key_file.unlink(missing_ok=True)
    try:
        res = run_script("set_key.mjs", comfy, KEY=key, SHOT=str(tmp_path / "key-panel.png"))
        assert res["inputType"] == "password" and res["inputAfter"] == ""
        # FLOYO_API_KEY is set for this ComfyUI, so the environment stays the active source
        assert res["initial"] == "Configured (environment)"
        assert res["saved"].startswith("Saved to the key file. Configured (environment)")
        assert key_file.read_text().strip() == key and key_file.stat().st_mode & 0o077 == 0
        status, body = comfy.get("/floyo/key")
        assert status == 200 and body == {"configured": True, "source": "environment"}
        status, settings = comfy.get("/api/settings")
        assert status == 200 and key not in json.dumps(settings)
        assert res["settingValue"] in ("", None)
        assert key not in comfy.log_text()
    finally:
        key_file.unlink(missing_ok=True)


@pytest.mark.timeout(150)
def test_example_workflows_open_in_the_ui_and_queue_what_they_show(comfy, floyo):
    from .support.scripted import start_run_elsewhere, two_outputs

    two_outputs(floyo)  # the base + upscale examples' two selectors each find their node's file
    paths = sorted((REPO / "example_workflows").glob("*.json"))
    examples = [json.loads(p.read_text()) for p in paths]
    run_id = start_run_elsewhere(floyo)  # what a user pastes into the fetch example
    res = run_script("load_examples.mjs", comfy, EXAMPLES=json.dumps(examples), RUN_ID=run_id)
    assert len(res["examples"]) == len(examples) >= 3
    for path, ui, seen in zip(paths, examples, res["examples"], strict=True):
        assert seen["missing"] == [] and sorted(seen["types"]) == sorted(n["type"] for n in ui["nodes"])
        classes = [n["class_type"] for n in seen["output"].values()]
        creates = classes.count("FloyoRemoteRun")
        assert creates + classes.count("FloyoFetchOutputs") == 1, path.name
        if creates:  # the seed override comes up on randomize in the UI, as saved
            assert seen["controls"].get("FloyoOverrideInt") == "randomize", (path.name, seen["controls"])
        assert all(n["inputs"].get("reuse") == "identical results" for n in seen["output"].values()
                   if n["class_type"] == "FloyoRemoteRun"), "the UI sends the reuse default"
        for node in seen["output"].values():  # the examples test ran the same workflow: pay again here
            if node["class_type"] == "FloyoRemoteRun":
                node["inputs"]["reuse"] = "always run"
        before = len(floyo.requests.creates())
        entry = comfy.run(seen["output"])  # what the UI's Run button sends (but 'always run')
        assert entry["status"]["status_str"] == "success", (path.name, entry["status"])
        assert len(floyo.requests.creates()) == before + creates
