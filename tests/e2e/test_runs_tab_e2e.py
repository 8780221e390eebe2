"""The "Floyo runs" sidebar tab, in the real frontend over a real ComfyUI: it lists the journal's
runs with status, FloTime, run id (copy) and outputs; Fetch saves a finished run's outputs into
output/floyo/<run id>/ (downloaded again when they were deleted); Cancel on a live run this
ComfyUI started reaches Floyo. The Fetch route is a write route: it refuses a cross-site request."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request

import pytest

from .support.browser import run_script
from .support.graphs import fresh_remote, remote_run, save
from .support.results import run_outputs
from .support.scripted import SLOW_RUN

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(180)
def test_runs_tab_lists_copies_fetches_and_cancels(comfy, floyo):
    entry = comfy.run({"1": remote_run(run_name="for the runs tab"), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    saved = floyo.last_run
    folder = comfy.output_dir / "floyo" / saved.id
    files = sorted(p.name for p in folder.iterdir())
    shutil.rmtree(folder)  # the user deleted them: Fetch downloads them again
    floyo.server.scenario.steps = list(SLOW_RUN)
    known = set(floyo.runs)

    res = run_script("runs_tab.mjs", comfy, timeout=150, SAVED_RUN=saved.id, WORKFLOW=fresh_remote())

    assert res["tabButton"] == 1, "the tab has its own button in ComfyUI's sidebar"
    card = res["savedCard"]
    assert saved.id in card and "FloTime 48.2s" in card and card.startswith("saved")
    assert res["savedImages"] == len(run_outputs(folder)) == len(files) - 1 >= 1  # and the sidecar
    assert res["copyToast"].endswith(f"Copied {saved.id}")
    assert res["copyAcrossRefresh"] is True, "a card the refresh left unchanged keeps taking clicks"
    assert sorted(p.name for p in folder.iterdir()) == files, "Fetch saves them in output/floyo/<run id>/"
    assert res["clickAsItMoved"] == {"disabled": True, "fetchStarted": False}, \
        "a card pushed down by a new run's card must not take a click meant for what was there"
    assert res["fetchAfterSettling"] is True
    (live,) = [r for r in floyo.runs.values() if r.id not in known]
    assert res["liveRunId"] == live.id and live.id in res["liveCard"]
    assert len(floyo.requests.cancel_requests(live.id)) == 1, "the tab's Cancel must reach Floyo"
    assert "Remote run cancel: cancelled" in res["cancelled"] and res["cancelledSeverity"] == "success"
    assert "cancelled" in res["endedCard"]


def test_fetch_route_refuses_a_cross_site_request(comfy, floyo):
    req = urllib.request.Request(f"{comfy.url}/floyo/runs/run_abcdef123/fetch", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json", "Origin": "https://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    assert not (comfy.output_dir / "floyo" / "run_abcdef123").exists()
