"""Where the user sees it, through the real ComfyUI over HTTPS and the realism layer: answers
whose body starts seconds after their headers (the create's, the polls', the download's) still
end with the run saved; a create and polls answered ``[[[[…`` (too deep to parse) neither fail
nor cancel the run; and a Fetch of run A that Floyo answers with run B writes no file anywhere."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest
from floyo_scripted import Fault, LateBody, Step

from .support.graphs import remote_run, save
from .support.results import node_error, succeeded
from .support.scripted import e2e_realism, start_run_elsewhere

pytestmark = pytest.mark.e2e

LATE_S = 1.5  # past the download's one-second read slice, where a late body used to crash the node
DEEP = "[" * 100_000 + "]" * 100_000  # far past the JSON parser's recursion limit
POLL = r"^/runs/run_\w+$"


def _run_json(floyo, run_id: str) -> dict:
    """Floyo's answer for a run, with its output links, as the pack would get it."""
    req = urllib.request.Request(f"{floyo.api_url}/runs/{run_id}?expand=outputs.presigned_url",
                                 headers={"Authorization": "Bearer flo_test_key"})
    trust = ssl.create_default_context(cafile=floyo.ca_file)
    with urllib.request.urlopen(req, timeout=10, context=trust) as r:
        return json.loads(r.read())


@pytest.mark.timeout(180)
def test_a_run_whose_create_poll_and_download_answers_start_seconds_late_is_saved(comfy, floyo):
    floyo.realism = e2e_realism()
    floyo.realism.late_bodies = [LateBody(seconds=LATE_S, method="POST", path="^/runs$", origin="api"),
                                 LateBody(seconds=LATE_S, method="GET", path=POLL, origin="api"),
                                 LateBody(seconds=LATE_S, method="GET", origin="cdn")]
    entry = comfy.run({"1": remote_run(), "2": save("1")})
    assert succeeded(entry)
    run = floyo.last_run
    assert len(floyo.requests.creates()) == 1 and run.cancels == 0
    for origin, path in (("api", "^/runs$"), ("api", POLL), ("cdn", "^/p/")):
        sent = floyo.realism.sent_for(origin, path)
        assert sent and all(s.late_s == LATE_S and s.fate == "whole" for s in sent), (origin, path, sent)
    assert comfy.get(f"/floyo/runs/{run.id}")[1]["state"] == "saved"


@pytest.mark.timeout(180)
def test_a_create_and_polls_answered_too_deep_to_parse_neither_fail_nor_cancel_the_run(comfy, floyo):
    floyo.update(garbled_creates=[DEEP], steps=[Step("processing", polls=2), Step("done")])
    floyo.scenario.faults.append(Fault("GET", POLL, status=200, body=DEEP, count=2))
    entry = comfy.run({"1": remote_run(), "2": save("1")})
    assert succeeded(entry)
    run = floyo.last_run
    assert len(floyo.requests.creates()) == 1 and run.cancels == 0  # found by its marker, never resent
    assert [r.note for r in floyo.requests.polls(run.id)][:2] == ["fault", "fault"]
    assert comfy.get(f"/floyo/runs/{run.id}")[1]["state"] == "saved"


def test_a_fetch_of_run_a_answered_with_run_b_is_an_error_and_writes_nothing(comfy, floyo):
    floyo.update(steps=[Step("done")])
    run_a, run_b = start_run_elsewhere(floyo), start_run_elsewhere(floyo)
    floyo.scenario.faults.append(Fault("GET", rf"^/runs/{run_a}$", status=200,
                                       body=_run_json(floyo, run_b), count=-1))
    entry = comfy.run({"1": {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": run_a, "wait": False}},
                       "2": save("1", prefix="fetched")})
    message = node_error(entry)["exception_message"]
    assert run_a in message and run_b in message
    folder = comfy.base / "output" / "floyo"
    assert not (folder / run_a).exists() and not (folder / run_b).exists()
    assert floyo.run(run_a).cancels == 0 and floyo.run(run_b).cancels == 0
