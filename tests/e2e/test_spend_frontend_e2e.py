"""The spend guard in ComfyUI's real frontend (headless Chromium), on every frontend CI covers: the
team's balance shows in the settings panel and in the runs tab header (beside today's spend
against the daily budget), a
Floyo Remote Run node shows its next run's estimate before it runs (from the journal's earlier
run of the same graph, another seed), and its status line carries an ETA while it processes."""

from __future__ import annotations

import json
import re

import pytest

from .support.browser import run_script
from .support.graphs import remote_run, save, shaped
from .support.scripted import SLOW_RUN

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_browser")]
DEFAULT_BALANCE_MS = 4_080_000
DAY_BUDGET_S = 9_000_000  # a daily budget the whole session's runs stay far below


@pytest.mark.timeout(240)
def test_balance_estimate_and_eta_show_in_the_real_frontend(comfy, floyo):
    entry = comfy.run({"1": remote_run(workflow=json.dumps(shaped(104, seed=1))), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]  # the estimate's history
    floyo.server.scenario.balance_flotime_ms = 1_234_000
    floyo.server.scenario.steps = list(SLOW_RUN)
    known = set(floyo.runs)
    assert comfy.post("/settings/Floyo.Budget.DayFloTimeS", DAY_BUDGET_S)[0] == 200  # as the panel sets it
    try:
        res = run_script("spend.mjs", comfy, timeout=200, WORKFLOW=json.dumps(shaped(104, seed=7)))
    finally:  # the shared ComfyUI remembers the balance it read: give it the usual one back
        comfy.post("/settings/Floyo.Budget.DayFloTimeS", 0)
        floyo.server.scenario.balance_flotime_ms = DEFAULT_BALANCE_MS
        comfy.get("/floyo/balance")
    assert res["settingsBalance"] == "Balance: 1234 s FloTime · $25.50 partner credit", res
    assert res["tabBalance"] == res["settingsBalance"]
    assert re.fullmatch(rf"Today: \d+ s of {DAY_BUDGET_S} s FloTime \(daily budget\)", res["tabSpend"]), res

    assert res["estimate"].startswith("Floyo: no run · next run: ≈ 48 s FloTime"), res["estimate"]
    assert "1 earlier run(s) of this graph" in res["estimate"]
    # after the run ends the estimate is read again, on hover: a cancelled run is no history
    assert res["ended"].endswith("(ended)") and "1 earlier run(s)" in res["estimateAfter"], res
    assert re.search(r"Floyo: (queued|processing) · \d+s · ETA ≈ \d+s", res["eta"]), res["eta"]
    (run,) = [r for r in floyo.runs.values() if r.id not in known]
    assert len(floyo.requests.cancel_requests(run.id)) == 1  # the interrupt cancelled the UI's run
