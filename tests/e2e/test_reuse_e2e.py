"""Identical work is not paid for again: the journal remembers the hash of every workflow it sent
and where the outputs were saved, so A, B, A and the same prompt after a restart make no new run;
files deleted from disk are fetched again by run id, a run Floyo no longer has is made again, and
'always run' pays every time. Each run's FloTime and partner-API cost are kept and totalled.
This module's own ComfyUI (its own journal), restarted once in the middle, keyed through the
settings panel's route so that switching teams needs no restart."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from floyo_scripted import OutputSpec, Scenario
from PIL import Image

from .support.graphs import save
from .support.results import saved_images
from .support.scripted import FLOYO_KEY, e2e_realism
from .support.websocket import Socket

pytestmark = pytest.mark.e2e


def workflow(color: int) -> str:
    image = {"width": 64, "height": 64, "batch_size": 1, "color": color}
    return json.dumps({"1": {"class_type": "EmptyImage", "inputs": image},
                       "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                                                   "filename_prefix": "r"}}})


def prompt(color: int, **inputs) -> dict:
    """A unique run name each time: ComfyUI's own cache never answers, only the journal can."""
    name = f"reuse {uuid.uuid4().hex[:6]}"
    node = {"class_type": "FloyoRemoteRun",
            "inputs": {"source": "embedded", "workflow": workflow(color), "run_name": name, **inputs}}
    return {"1": node, "2": save("1", prefix=f"reuse_{uuid.uuid4().hex[:6]}")}


@pytest.fixture(scope="module")
def own(comfy_factory, comfy_env):
    """This module's ComfyUI, keyed through the settings panel's route rather than the environment,
    so a test can switch teams as a user does, without a restart (each start costs ~15 s of CPU)."""
    comfy = comfy_factory(env={**comfy_env, "FLOYO_API_KEY": None}, name="comfy-reuse")
    _use_key(comfy, FLOYO_KEY)
    return comfy


def _use_key(comfy, key: str) -> None:
    assert comfy.post("/floyo/key", {"key": key})[0] == 200


def _ok(comfy, graph: dict) -> list[bytes]:
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    return [Image.open(p).tobytes() for p in saved_images(comfy, entry, "2")]  # pixels (not metadata)


def _saved_paths(comfy, run_id: str) -> list[Path]:
    return [comfy.output_dir / p for p in comfy.get(f"/floyo/runs/{run_id}")[1]["paths"]]  # under output/


def test_a_b_a_pays_twice_and_the_third_returns_the_first_runs_outputs(own, floyo):
    floyo.update(outputs=[OutputSpec(seed=11)])
    first = _ok(own, prompt(101))
    floyo.update(outputs=[OutputSpec(seed=22)])
    second = _ok(own, prompt(102))
    assert len(floyo.requests.creates()) == 2 and first != second
    third = _ok(own, prompt(101))
    assert len(floyo.requests.creates()) == 2, "A again: the saved outputs, no new run"
    assert third == first
    assert len(own.get("/floyo/runs")[1]["runs"]) == 2


@pytest.fixture(scope="module")
def paid_then_restarted(own, floyo_server):
    """Two prompts paid for (one embedded, one current graph with a local file), then one restart:
    what each reuse test below finds after it. One restart serves both (each costs a start)."""
    floyo_server.server.scenario = Scenario(realism=e2e_realism())
    floyo_server.requests.clear()
    uploads = len(floyo_server.uploads)
    embedded, local = prompt(103), _local_file_graph()
    paid = {"embedded": _ok(own, embedded), "local": _events(own, local)}
    assert len(floyo_server.requests.creates()) == 2 and len(floyo_server.uploads) == uploads + 1
    own.restart()
    return {"embedded": embedded, "local": local, "paid": paid}


def test_after_a_restart_the_same_prompt_makes_no_new_run(own, paid_then_restarted, floyo):
    assert _ok(own, paid_then_restarted["embedded"]) == paid_then_restarted["paid"]["embedded"]
    assert floyo.requests.creates() == [] and floyo.requests.downloads() == [], "served from disk"


def test_files_gone_from_disk_are_fetched_again_by_run_id_without_a_new_run(own, floyo):
    _ok(own, prompt(104))
    run_id = own.get("/floyo/runs")[1]["runs"][0]["run_id"]
    for path in _saved_paths(own, run_id):
        path.unlink()
    floyo.requests.clear()
    _ok(own, prompt(104))
    assert floyo.requests.creates() == [] and floyo.requests.downloads(), "fetched again, not run again"
    assert all(p.is_file() for p in _saved_paths(own, run_id))


def test_a_run_floyo_no_longer_has_is_made_again(own, floyo):
    _ok(own, prompt(105))
    run_id = own.get("/floyo/runs")[1]["runs"][0]["run_id"]
    for path in _saved_paths(own, run_id):
        path.unlink()
    with floyo.server._store.lock:  # Floyo forgot the run (and its outputs)
        del floyo.server._store.runs[run_id]
    floyo.requests.clear()
    _ok(own, prompt(105))
    assert len(floyo.requests.creates()) == 1
    _ok(own, prompt(105))
    assert len(floyo.requests.creates()) == 1, "the new run is the one reused from now on"


def test_always_run_pays_for_an_identical_workflow_again(own, floyo):
    _ok(own, prompt(106))
    _ok(own, prompt(106, reuse="always run"))
    assert len(floyo.requests.creates()) == 2
    _ok(own, prompt(106))
    assert len(floyo.requests.creates()) == 2, "the default reuses again"


def test_flotime_and_partner_cost_are_kept_per_run_and_totalled_for_today_and_7_days(own, floyo):
    before = own.get("/floyo/runs")[1]["totals"]
    floyo.update(flotime_ms=4200, partner_nodes_cost_usd=0.12)
    _ok(own, prompt(107))
    body = own.get("/floyo/runs")[1]
    row = body["runs"][0]
    assert (row["flotime_ms"], row["partner_cost_usd"]) == (4200, 0.12)
    for period in ("today", "last_7_days"):
        now, then = body["totals"][period], before[period]
        assert now["runs"] == then["runs"] + 1 and now["flotime_ms"] == then["flotime_ms"] + 4200
        assert round(now["partner_cost_usd"] - (then["partner_cost_usd"] or 0), 6) == 0.12


def _events(comfy, graph: dict) -> list[dict]:
    with Socket(comfy.url) as ws:
        entry = comfy.wait(comfy.queue(graph, client_id=ws.client_id), timeout=60)
        time.sleep(0.3)
    assert entry["status"]["status_str"] == "success", entry["status"]
    return [e["data"] for e in ws.events if e["type"] == "floyo.run"]


def test_the_status_ends_with_the_final_flotime_and_partner_cost_and_a_reuse_says_so(own, floyo):
    floyo.update(flotime_ms=4200, partner_nodes_cost_usd=0.12)
    paid = _events(own, prompt(108))
    saved = paid[-1]
    assert saved["status"] == "saved" and (saved["flotime_ms"], saved["partner_cost_usd"]) == (4200, 0.12)
    assert "spent 4.2 s FloTime, $0.12 partner API" in saved["message"]
    (reused,) = _events(own, prompt(108))
    assert reused["status"] == "reused" and reused["run_id"] == saved["run_id"]
    assert re.fullmatch(rf"reused {saved['run_id']} from \d{{4}}-\d\d-\d\d \d\d:\d\d, no FloTime spent",
                        reused["message"]), reused["message"]


def _local_file_graph() -> dict:
    """A current graph whose remote part loads the local input/example.png."""
    return {"1": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": save("2", prefix="remote"),
            "4": {"class_type": "FloyoRemoteRun", "inputs": {"source": "current graph", "workflow": "",
                                                             "run_name": f"local {uuid.uuid4().hex[:6]}"}},
            "5": save("4", prefix=f"reuse_{uuid.uuid4().hex[:6]}")}


def test_a_graph_with_a_local_file_is_reused_after_a_restart_with_no_upload_and_no_create(
        own, paid_then_restarted, floyo):
    paid = paid_then_restarted["paid"]["local"]
    events = _events(own, paid_then_restarted["local"])
    assert floyo.requests.creates() == [], "the same bytes, the same input_path, the same workflow"
    assert floyo.requests.filter("POST", "/upload", "cdn") == [], "the team already has example.png"
    assert [e["status"] for e in events] == ["reused"] and events[0]["run_id"] == paid[-1]["run_id"]
    assert events[0]["message"].startswith(f"reused {paid[-1]['run_id']} from ")


def test_a_replaced_or_truncated_saved_file_is_fetched_again_by_run_id_never_returned_as_the_result(own,
                                                                                                    floyo):
    first = _ok(own, prompt(109))
    run_id = own.get("/floyo/runs")[1]["runs"][0]["run_id"]
    (path,) = _saved_paths(own, run_id)
    paid = path.read_bytes()
    for edit in (lambda: Image.new("RGB", (64, 64), (1, 2, 3)).save(path),  # replaced by another image
                 lambda: path.write_bytes(paid[:-10])):  # truncated
        edit()
        floyo.requests.clear()
        assert _ok(own, prompt(109)) == first, "the result is what was paid for"
        assert floyo.requests.creates() == [] and floyo.requests.downloads(), "fetched again, not run again"
        assert path.read_bytes() == paid


def test_another_teams_key_never_gets_the_first_teams_run(own, floyo):
    _ok(own, prompt(110))
    assert len(floyo.requests.creates()) == 1
    other = "flo_another_team_key"
    floyo.server.keys.add(other)
    try:
        _use_key(own, other)  # as a user switches teams in the settings panel
        floyo.requests.clear()
        _ok(own, prompt(110))
        assert len(floyo.requests.creates()) == 1, "the other team pays for its own run"
        journal = sorted((own.user_dir / "floyo").glob("runs.sqlite3*"))
        assert journal and all(other.encode() not in f.read_bytes() for f in journal)
        assert other not in own.log_text()
    finally:
        _use_key(own, FLOYO_KEY)
