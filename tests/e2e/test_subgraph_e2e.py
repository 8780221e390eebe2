"""A Floyo node inside a subgraph, nested two deep, in the real frontend: ComfyUI runs it under its
execution id ("outer:inner:node"), the node's status line shows the live run, and its Cancel
button reaches Floyo (the cancel route gets the execution id, not the node's local id)."""

from __future__ import annotations

import pytest

from .support.browser import run_script
from .support.graphs import fresh_remote
from .support.scripted import SLOW_RUN

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(150)
def test_status_and_cancel_work_for_a_floyo_node_in_a_nested_subgraph(comfy, floyo):
    floyo.server.scenario.steps = list(SLOW_RUN)
    known = set(floyo.runs)
    res = run_script("subgraph_run.mjs", comfy, WORKFLOW=fresh_remote())
    execution_id = ":".join(res["path"])
    assert res["promptIds"] == [execution_id], res  # ComfyUI runs the node under its execution id
    (run,) = [r for r in floyo.runs.values() if r.id not in known]
    assert res["processing"].startswith("Floyo: processing") and run.id in res["processing"]
    assert res["later"] != res["processing"] and "s · " in res["later"]  # the elapsed time counts
    assert all(e["node_id"] == execution_id for e in res["events"]), res["events"]
    assert len(floyo.requests.cancel_requests(run.id)) == 1, "Cancel must reach POST /runs/{id}/cancel"
    assert "Remote run cancel: cancelled" in res["toast"] and res["toastSeverity"] == "success"
    assert res["ended"].startswith("Floyo: cancelled")
