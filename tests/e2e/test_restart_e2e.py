"""Runs survive ComfyUI going away: kill -9 mid-run → after a restart the run is watched to the
end and its outputs saved and fetchable by id without a second download; SIGTERM cancels the
runs being waited on, and so does Ctrl-C (SIGINT) — but only the runs this ComfyUI created, never
a run a Fetch node merely watches. Also a missing key and an unreachable API, which need a ComfyUI started
without a key and with a dead API URL: this module's own ComfyUI, restarted only where a test
needs a start (journal states after a stop are read from the file)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import ssl
import urllib.request

import pytest
from floyo_scripted import Step

from .support.graphs import REMOTE, remote_run, save
from .support.results import node_error, saved_images
from .support.scripted import FLOYO_KEY
from .support.stats import FAULT_SUITE_STATS
from .support.waits import wait_until

pytestmark = pytest.mark.e2e


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(scope="module")
def aux(comfy_factory):
    dead = _dead_url()
    return comfy_factory(env={"FLOYO_API_KEY": None, "FLOYO_API_URL": dead, "FLOYO_CDN_URL": dead},
                         name="comfy-restart")


def live_env(floyo) -> dict[str, str]:
    return {"FLOYO_API_URL": floyo.api_url, "FLOYO_CDN_URL": floyo.cdn_url}


def ensure_live(aux, floyo) -> None:
    """Running and pointed at the live server: restarted only when it is not (each ComfyUI start
    costs ~15 s of CPU, so tests that follow one another share the last start)."""
    if not aux.running or aux.env.get("FLOYO_API_URL") != floyo.api_url:
        aux.stop()
        aux.env.update(live_env(floyo))
        aux.start()


def journal_state(aux, run_id: str) -> str:
    """The run's state as the journal file holds it, read while ComfyUI is down."""
    db = sqlite3.connect(f"file:{aux.user_dir / 'floyo' / 'runs.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    finally:
        db.close()


def test_missing_key_then_unreachable_api_give_errors_that_say_what_to_do(aux, floyo):
    status, body = aux.post("/prompt", {"prompt": {"1": remote_run(), "2": save("1")}})
    assert status == 400, "a missing key is refused when the prompt is queued"
    details = " ".join(e["details"] for e in body["node_errors"]["1"]["errors"])
    assert "FLOYO_API_KEY" in details and "settings" in details
    assert aux.post("/floyo/key", {"key": FLOYO_KEY})[0] == 200  # the write-only key route
    assert aux.get("/floyo/key")[1] == {"configured": True, "source": "key file"}
    entry = aux.run({"1": remote_run(), "2": save("1")})
    FAULT_SUITE_STATS["scenarios"] += 1  # "API unreachable" belongs to the fault suite's tally
    error = node_error(entry)
    assert "Could not reach 127.0.0.1" in error["exception_message"]
    assert "internet connection" in error["exception_message"]
    assert FLOYO_KEY not in aux.log_text() and FLOYO_KEY not in str(entry)
    state = aux.get("/floyo/runs")[1]["runs"][0]["state"]
    assert state == "not_created", "refused connection: Floyo provably has no such run"


@pytest.mark.timeout(180)
def test_kill_9_mid_run_then_restart_saves_the_outputs_and_fetch_serves_them(aux, floyo):
    ensure_live(aux, floyo)
    floyo.update(steps=[Step("queued", polls=1), Step("processing", seconds=4), Step("done")])
    known = set(floyo.runs)
    aux.queue({"1": remote_run(), "2": save("1")})
    run = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0]
    wait_until(lambda: len(floyo.requests.polls(run.id)) >= 2)
    aux.restart(kill=True)  # kill -9 while the run is processing on Floyo

    def saved_record():
        record = aux.get(f"/floyo/runs/{run.id}")[1]
        return record if record.get("state") == "saved" else None

    record = wait_until(saved_record, timeout=60)
    served = floyo.run(run.id).outputs
    assert [(aux.output_dir / p).read_bytes() for p in record["paths"]] == [f.data for f in served]
    assert len(floyo.requests.creates()) == 1, "never resubmitted after the restart"
    downloads = len(floyo.requests.downloads())
    entry = aux.run({"1": {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": run.id}},
                     "2": save("1", prefix="after_restart")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(saved_images(aux, entry, "2")) == len(served)
    assert len(floyo.requests.downloads()) == downloads, "saved outputs are not downloaded again"


@pytest.mark.timeout(120)
def test_sigterm_while_waiting_cancels_the_floyo_run(aux, floyo):
    ensure_live(aux, floyo)
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])
    known = set(floyo.runs)
    aux.queue({"1": remote_run(), "2": save("1")})
    run = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0]
    wait_until(lambda: floyo.requests.polls(run.id))
    aux.stop()  # SIGTERM, as a service manager or Ctrl-C-less shutdown would
    assert len(floyo.requests.cancel_requests(run.id)) == 1
    assert journal_state(aux, run.id) == "cancelled"


def _create_elsewhere(floyo) -> str:
    """A run started by another Floyo client (another machine), which this ComfyUI only watches."""
    body = json.dumps({"workflow": REMOTE, "name": "started elsewhere"}).encode()
    request = urllib.request.Request(floyo.api_url + "/runs", data=body, method="POST", headers={
        "Authorization": f"Bearer {FLOYO_KEY}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=floyo.ca_file) if floyo.ca_file else None
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:
        return json.loads(answer.read())["id"]


@pytest.mark.timeout(150)
def test_ctrl_c_cancels_the_run_a_node_created_but_not_a_run_a_fetch_node_watches(aux, floyo):
    ensure_live(aux, floyo)
    assert aux.post("/floyo/key", {"key": FLOYO_KEY})[0] == 200
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])
    watched = _create_elsewhere(floyo)
    known = set(floyo.runs)
    aux.queue({"1": remote_run(), "2": save("1"),
               "3": {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": watched}},
               "4": save("3", prefix="watched")})
    created = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0].id

    def looked(run_id: str) -> bool:  # two runs watched at once share one list poll (GET /runs?ids=)
        return bool(floyo.requests.polls(run_id)) or any(
            run_id in r.query.get("ids", "") for r in floyo.requests.filter("GET", r"/runs/?", "api"))

    wait_until(lambda: looked(created) and looked(watched), timeout=60)
    os.killpg(aux.proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
    assert aux.proc.wait(60) is not None, "Ctrl-C still stops ComfyUI"
    assert len(floyo.requests.cancel_requests(created)) == 1
    assert floyo.requests.cancel_requests(watched) == [], "a watched run is not ours to cancel"
    assert "Stopped server" in aux.log_text(), "ComfyUI's own Ctrl-C handling ran after ours"
    assert journal_state(aux, created) == "cancelled"
