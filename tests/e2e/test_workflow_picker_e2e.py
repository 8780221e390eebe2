"""The Floyo workflow picker, in the real frontend over the real ComfyUI and the scripted server:
the Remote Run node's button opens it, it pages through the team's and public workflows with the
cursor, searches, filters by scope, shows what overrides can target in one (node titles and widget
names), and "Use" fills the node, whose queued prompt then runs that very workflow."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import tag

from .support.browser import run_script
from .support.graphs import REMOTE
from .support.waits import wait_until

pytestmark = pytest.mark.e2e
TEAM_GRAPH = {"1": {**REMOTE["1"], "_meta": {"title": "Canvas"}},
              "2": {**REMOTE["2"], "inputs": {**REMOTE["2"]["inputs"], "filename_prefix": "picked"}}}


@pytest.mark.timeout(150)
def test_search_pick_and_the_node_is_filled_then_runs_the_picked_workflow(comfy, floyo, needs_browser):
    floyo.workflows.reset()
    for i in range(30):  # more than one page (the picker asks for 25)
        floyo.workflows.add(f"wf_batch{i:02d}", f"Batch {i:02d}", REMOTE,
                            updated_at=f"2026-02-{i % 28 + 1:02d}")
    floyo.workflows.add("wf_zebra7", "Zebra stripes", TEAM_GRAPH, updated_at="2026-01-01",
                        description="stripes on anything")
    try:
        res = run_script("workflow_picker.mjs", comfy, timeout=140, SEARCH="zebra", WANTED="wf_zebra7")
    finally:
        floyo.workflows.reset()
    assert res["button"] == "Pick Floyo workflow…"
    assert res["firstPage"] == 25 and res["afterMore"] == 31, "More follows the cursor to the last page"
    assert len(res["found"]) == 1 and "Zebra stripes" in res["found"][0] and "team" in res["found"][0]
    assert sorted(res["inputs"]) == ["#2 (SaveImage): filename_prefix",
                                     "Canvas (EmptyImage): width, height, batch_size, color"]
    assert "No workflows match" in res["publicOnly"]
    assert "Zebra stripes" in res["toast"] and res["dialogLeft"] == 0
    assert res["widgets"] == {"source": "floyo workflow", "floyo_workflow": "wf_zebra7"}
    assert res["queued"] is True and res["pageErrors"] == []
    # the page's own prompt: fetched at queue time, the picked workflow is what Floyo runs
    wait_until(lambda: floyo.last_run is not None and floyo.last_run.workflow == tag(TEAM_GRAPH)[0], 30)


def test_the_picker_routes_show_names_never_values_and_refuse_bad_input_clearly(comfy, floyo):
    floyo.workflows.reset()
    secret = "flo_" + "s3cr3t" * 6
    floyo.workflows.add("wf_vals1", "Values", {"1": {"class_type": "CLIPTextEncode", "inputs": {
        "text": secret, "clip": ["2", 1]}, "_meta": {"title": "Prompt"}}})
    try:
        status, page = comfy.get("/floyo/workflows?search=values&scope=team")
        assert status == 200 and [i["id"] for i in page["items"]] == ["wf_vals1"]
        assert page["fill"] == {"source_input": "source", "source": "floyo workflow",
                                "input": "floyo_workflow"}
        status, one = comfy.get("/floyo/workflows/wf_vals1")
        assert status == 200 and one["targets"] == [{"node": "1", "title": "Prompt",
                                                     "class_type": "CLIPTextEncode", "inputs": ["text"]}]
        assert "s3cr3t" not in str(one) and "s3cr3t" not in str(page)
        status, bad = comfy.get("/floyo/workflows?scope=mine")
        assert status == 400 and "scope must be one of all, team, public" in bad["error"]
        status, gone = comfy.get("/floyo/workflows/wf_gone1")
        assert status == 404 and "Floyo has no workflow wf_gone1" in gone["error"]
    finally:
        floyo.workflows.reset()
