"""The runs tab as the control centre, and every run's workflow kept (#23), in a real ComfyUI, its
real frontend in headless Chromium and the scripted Floyo over HTTPS:

- a node's run follows the node, not the page: after a reload mid-run (and in a second page) the
  node shows its live run within 3 s, and its Cancel sends exactly one remote cancel;
- after kill -9 and a restart, the resumed run is cancelled from the tab;
- a Cancel that stops a run this ComfyUI did not create says so and asks once;
- "Open what ran" loads the same graph; "Run again" creates once, or reuses when reuse is on;
- provenance reads back from the run folder's sidecar and a downstream SaveImage's PNG, while the
  run folder's files stay Floyo's bytes; the kept workflow comes back from its route.

The browser tests share the session's ComfyUI; only the kill -9 test restarts it (it must).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from floyo_scripted import Step
from PIL import Image

from .support.browser import run_script
from .support.graphs import fresh_remote, remote_run, save
from .support.results import SIDECAR, saved_images, succeeded
from .support.scripted import FLOYO_KEY, SLOW_RUN, start_run_elsewhere
from .support.waits import wait_until

pytestmark = pytest.mark.e2e
UI_WORKFLOW = {"last_node_id": 2, "links": [], "version": 0.4,
               "nodes": [{"id": 1, "type": "FloyoRemoteRun"}, {"id": 2, "type": "SaveImage"}]}


def journal_row(comfy, run_id: str) -> dict:
    db = sqlite3.connect(f"file:{comfy.user_dir / 'floyo' / 'runs.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return dict(db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone())
    finally:
        db.close()


def idle(comfy) -> None:
    """Nothing running or pending in ComfyUI (the next test starts from a quiet server)."""
    wait_until(lambda: not any(comfy.get("/queue")[1].get(k) for k in ("queue_running", "queue_pending")), 60)


def png_text(path) -> dict[str, str]:
    with Image.open(path) as im:
        return dict(im.info)


@pytest.mark.timeout(120)
def test_provenance_reads_back_from_the_sidecar_and_a_downstream_save_images_png(comfy, floyo):
    prompt = {"1": remote_run(), "2": save("1", prefix="provenance")}
    status, body = comfy.post("/prompt", {"prompt": prompt, "client_id": "provenance",
                                          "extra_data": {"extra_pnginfo": {"workflow": UI_WORKFLOW}}})
    assert status == 200, body
    entry = comfy.wait(body["prompt_id"])
    assert succeeded(entry)
    run = floyo.last_run
    row = journal_row(comfy, run.id)
    folder = comfy.output_dir / "floyo" / run.id

    side = json.loads((folder / SIDECAR).read_text())
    assert side["run_id"] == run.id and side["workflow_hash"] == row["resolved_hash"]
    assert side["flotime_ms"] == row["flotime_ms"] and side["created_at"] and side["saved_at"]
    paths = json.loads(row["paths"])
    assert [(comfy.output_dir / p).read_bytes() for p in paths] == [f.data for f in run.outputs], \
        "the run folder's files are still the bytes Floyo sent"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(p.split("/")[-1] for p in paths), SIDECAR])

    (png,) = saved_images(comfy, entry, "2")
    text = png_text(png)
    (mark,) = json.loads(text["floyo"])["runs"]
    assert mark == {"run_id": run.id, "workflow_hash": row["resolved_hash"], "node_id": "1"}
    assert json.loads(text["workflow"]) == UI_WORKFLOW and json.loads(text["prompt"])["1"], \
        "beside ComfyUI's usual prompt and workflow"
    assert FLOYO_KEY not in json.dumps(text) and FLOYO_KEY not in (folder / SIDECAR).read_text()

    fetched = comfy.run({"1": {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": run.id}},
                         "2": save("1", prefix="provenance_fetched")})
    (again,) = saved_images(comfy, fetched, "2")
    assert json.loads(png_text(again)["floyo"])["runs"] == [{**mark, "node_id": "1"}], \
        "a save node after Fetch Outputs carries the run too"

    status, kept = comfy.get(f"/floyo/runs/{run.id}/workflow")
    assert status == 200 and kept["workflow"] == run.workflow and kept["ui_workflow"] == UI_WORKFLOW
    assert kept["workflow_hash"] == row["resolved_hash"] and FLOYO_KEY not in json.dumps(kept)


@pytest.mark.timeout(120)
def test_a_prompt_queued_without_extra_data_still_marks_the_pngs_downstream(comfy, floyo):
    entry = comfy.run({"1": remote_run(), "2": save("1", prefix="no_extra")})
    assert succeeded(entry)
    (png,) = saved_images(comfy, entry, "2")
    (mark,) = json.loads(png_text(png)["floyo"])["runs"]
    assert mark["run_id"] == floyo.last_run.id
    assert comfy.get(f"/floyo/runs/{floyo.last_run.id}/workflow")[1]["ui_workflow"] is None


def test_the_runs_route_pages_filters_and_searches_and_names_a_bad_parameter(comfy, floyo):
    assert succeeded(comfy.run({"1": remote_run(), "2": save("1")}))  # so there is a second page
    entry = comfy.run({"1": remote_run(run_name="findable inbox run"), "2": save("1")})
    assert succeeded(entry)
    run_id = floyo.last_run.id
    status, page = comfy.get(f"/floyo/runs?q={run_id}")
    assert status == 200 and [r["run_id"] for r in page["runs"]] == [run_id] and page["more"] is False
    (card,) = page["runs"]
    assert comfy.get(f"/floyo/runs/{run_id}")[1]["kept"] is True
    assert card["kept"] is True and card["elapsed_s"] >= 0 and "saved" in page["states"]
    assert "today" in page["totals"] and "last_7_days" in page["totals"]
    found = comfy.get("/floyo/runs?q=FINDABLE%20inbox&state=saved")[1]["runs"]
    assert [r["run_id"] for r in found] == [run_id]
    one = comfy.get("/floyo/runs?limit=1")[1]
    assert len(one["runs"]) == 1 and one["more"] is True
    status, body = comfy.get("/floyo/runs?state=bogus")
    assert status == 400 and "state must be one of" in body["error"]


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("needs_browser")
def test_after_a_reload_mid_run_the_node_shows_its_run_and_its_cancel_sends_one_remote_cancel(comfy, floyo):
    floyo.server.scenario.steps = list(SLOW_RUN)
    known = set(floyo.runs)
    res = run_script("follow_run.mjs", comfy, timeout=170, WORKFLOW=fresh_remote())
    (run,) = [r for r in floyo.runs.values() if r.id not in known]
    assert res["resent"] == "1", "ComfyUI re-sent the running node to the reloaded page"
    assert res["afterReload"].startswith("Floyo: processing") and run.id in res["afterReload"], \
        "the re-send is no new start: the reloaded page shows the run as the server has it"
    assert res["afterReloadButton"]["disabled"] is False
    assert run.id in res["secondPage"], "a second page that queued nothing shows the run too"
    assert res["followedMs"] <= 3000, "the node shows its live run within 3 s of the page holding it"
    assert len(floyo.requests.cancel_requests(run.id)) == 1, "exactly one remote cancel"
    assert "Remote run cancel: cancelled" in res["toast"]
    assert res["afterCancelButton"]["disabled"] is True
    idle(comfy)


@pytest.mark.timeout(150)
@pytest.mark.usefixtures("needs_browser")
def test_cancel_on_a_run_not_created_here_says_so_and_asks_once(comfy, floyo):
    floyo.server.scenario.steps = list(SLOW_RUN)
    elsewhere = start_run_elsewhere(floyo)
    res = run_script("cancel_elsewhere.mjs", comfy, timeout=140, RUN_ID=elsewhere)
    assert "not started here" in res["label"]
    assert "not started by this ComfyUI" in res["asked"] and res["postsAfterFirst"] == 0, \
        "the first click only asks"
    assert res["postsAfterSecond"] == 1 and len(floyo.requests.cancel_requests(elsewhere)) == 1
    idle(comfy)


@pytest.mark.timeout(150)
@pytest.mark.usefixtures("needs_browser")
def test_the_tabs_cancel_on_one_list_element_says_it_stops_all_and_asks_once(comfy, floyo):
    floyo.update(steps=[Step("processing")])  # until cancelled
    known = set(floyo.runs)
    remote = remote_run(overrides=["2", 0])
    comfy.queue({"1": {"class_type": "FloyoSeedList", "inputs": {"count": 2, "start": 7}},
                 "2": {"class_type": "FloyoOverrideInt", "inputs": {"target": "1", "input": "color",
                                                                      "value": ["1", 0]}},
                 "3": remote, "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 2]}}})
    wait_until(lambda: len([r for r in floyo.runs.values() if r.id not in known]) == 2)
    runs = [r for r in floyo.runs.values() if r.id not in known]

    def both_live() -> bool:
        active = comfy.get("/floyo/active")[1]["active"]
        return {a.get("run_id") for a in active} == {r.id for r in runs} and all(
            a.get("list_total") == 2 for a in active)

    wait_until(both_live)
    res = run_script("fanout_cancel.mjs", comfy, timeout=140, RUN_IDS=",".join(r.id for r in runs))
    assert res["labels"] == ["Cancel all 2", "Cancel all 2"], "the button says it stops the whole list"
    assert "stops all 2 runs" in res["asked"] and res["postsAfterFirst"] == 0, "the first click only asks"
    assert res["postsAfterSecond"] == 1
    assert [len(floyo.requests.cancel_requests(r.id)) for r in runs] == [1, 1], "one Cancel stopped all"
    idle(comfy)


@pytest.mark.timeout(200)
@pytest.mark.usefixtures("needs_browser")
def test_open_what_ran_loads_the_same_graph_and_run_again_creates_once_or_reuses(comfy, floyo):
    assert succeeded(comfy.run({"1": remote_run(), "2": save("1")}))  # through the API: no UI workflow
    run_c = floyo.last_run
    known = set(floyo.runs)
    res = run_script("what_ran.mjs", comfy, timeout=190, WORKFLOW_A=fresh_remote(), WORKFLOW_B=fresh_remote(),
                     RUN_C=run_c.id)
    new = [r.id for r in floyo.runs.values() if r.id not in known]
    assert res["openedA"] == res["queuedA"], "Open what ran loads the same graph"
    assert res["openedTitle"] is None or res["runA"] in res["openedTitle"], "in a tab of its own"
    assert res["againA"] not in (None, res["runA"])
    assert sorted(new) == sorted([res["runA"], res["againA"], res["runB"]]), \
        "Run again with 'always run' made one create; with 'identical results' none"
    assert res["againB"]["run_id"] == res["runB"], "Run again reused the identical run"
    assert floyo.run(res["againA"]).workflow == floyo.run(res["runA"]).workflow
    opened = res["openedC"]  # a run queued without a UI workflow opens as one node holding what it sent
    assert opened["nodes"] == 1 and opened["source"] == "embedded"
    assert json.loads(opened["workflow"]) == run_c.workflow
    assert res["searched"] == [res["runB"]], "search by run id"
    assert "took " in res["cardB"] and "FloTime 48.2s" in res["cardB"], "each card shows its elapsed time"
    assert res["filtered"] == "No run matches." and res["filteredCards"] == [], "filter by state"
    idle(comfy)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("needs_browser")
def test_after_kill_9_and_a_restart_the_resumed_run_is_cancelled_from_the_tab(comfy, floyo):
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])  # processing until cancelled
    known = set(floyo.runs)
    comfy.queue({"1": remote_run(), "2": save("1")})
    run = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0]
    wait_until(lambda: len(floyo.requests.polls(run.id)) >= 2)
    comfy.restart(kill=True)  # kill -9 mid-run; the restart resumes the run
    wait_until(lambda: any(a.get("run_id") == run.id for a in comfy.get("/floyo/active")[1]["active"]), 60)

    res = run_script("resumed_cancel.mjs", comfy, timeout=150, RUN_ID=run.id, NODE_ID="1")
    assert run.id in res["nodeStatus"], "the node that started it shows the resumed run"
    assert run.id in res["liveCard"]
    assert len(floyo.requests.cancel_requests(run.id)) == 1, "the tab's Cancel reached Floyo once"
    assert [r.id for r in floyo.runs.values() if r.id not in known] == [run.id], "never resubmitted"
    assert comfy.get(f"/floyo/runs/{run.id}")[1]["state"] == "cancelled"
    assert res["nodeEnded"].endswith("(ended)")
    assert "Remote run cancel: cancelled" in res["endedDetail"], "the card says why the run ended"
    assert res["totals"].startswith("Today: ") and "Last 7 days: " in res["totals"], "the header's totals"
    assert "FloTime" in res["totals"]
