"""The credits-safety fault suite: each scenario breaks one thing between the pack and Floyo and
checks, through a real ComfyUI, the promises that matter when money is spent: correct outputs or
a clear node error, at most one POST /runs per queued prompt, every run the node abandoned got
POST /runs/{id}/cancel, no download request carried Authorization, and the key appears in no
log, no history entry and no PNG metadata."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from floyo_scripted import (
    DownloadFault,
    Fault,
    LateBody,
    Outage,
    OutputSpec,
    Realism,
    Reset,
    RunError,
    Step,
)
from PIL import Image

from .support.graphs import remote_run, save
from .support.results import saved_images
from .support.scripted import FLOYO_KEY
from .support.stats import FAULT_SUITE_STATS
from .support.waits import wait_until

pytestmark = pytest.mark.e2e


def first_poll(comfy, floyo, prompt_id) -> None:
    wait_until(lambda: floyo.requests.polls())


def interrupt_after_first_poll(comfy, floyo, prompt_id) -> None:
    first_poll(comfy, floyo, prompt_id)
    assert comfy.interrupt() == 200


def cancel_button_after_first_poll(comfy, floyo, prompt_id) -> None:
    first_poll(comfy, floyo, prompt_id)
    status, body = comfy.post("/floyo/runs/cancel", {"node_id": "1"})
    assert status == 200 and body["requested"] is True


def interrupt_during_download(comfy, floyo, prompt_id) -> None:
    wait_until(lambda: floyo.requests.downloads())
    time.sleep(0.3)
    assert comfy.interrupt() == 200


def interrupt_during_create(comfy, floyo, prompt_id) -> None:
    wait_until(lambda: floyo.requests.creates())
    assert comfy.interrupt() == 200


@dataclass
class Case:
    name: str
    knobs: dict[str, Any] = field(default_factory=dict)
    expect: str = "success"  # success | error | interrupted
    message: str | None = None
    action: Callable[..., None] | None = None
    node: dict[str, Any] = field(default_factory=dict)
    wrong_key: bool = False
    run_unknown: bool = False  # the create got no answer: the run is reported, never cancelled blindly
    images: int = 1


SLOW = [Step("queued", polls=1), Step("processing")]
# The network misbehaving on top of the e2e profile (chunked, gzip, split answers over HTTPS).
# 8 s outlasts the five tries a single request gets (at most 7.5 s of backoff between them): only a
# wait that rides out outages keeps the run.
NETWORK_CASES = [
    Case("Cloudflare 522 pages for 8 s while polling", {"realism": Realism.internet(outages=[
        Outage(seconds=8, kind="page", status=522, path="^/runs/run_", method="GET")])}),
    Case("connection resets for 8 s while polling", {"realism": Realism.internet(outages=[
        Outage(seconds=8, kind="reset", path="^/runs/run_", method="GET")])}),
    Case("unanswered polls for 4 s while polling", {"realism": Realism.internet(outages=[
        Outage(seconds=4, kind="hang", path="^/runs/run_", method="GET")])}),
    Case("the create's answer cut mid-body, the run found by its marker", {"realism": Realism.internet(
        resets=[Reset(after_bytes=8, path="^/runs$", method="POST")])}),
    Case("a poll's answer cut mid-body", {"realism": Realism.internet(
        resets=[Reset(after_bytes=8, count=2, path="^/runs/run_", method="GET")])}),
    Case("a download cut mid-body by the network", {"realism": Realism.internet(
        resets=[Reset(after_bytes=1000, origin="cdn")])}),
    # Headers at once, the first body byte seconds later (a busy origin, a cold object store): the
    # run was paid, so nothing may crash, cancel or resend (issue 21 item 1).
    Case("create, poll and download answers whose bodies start 3 s after their headers",
         {"realism": Realism.internet(late_bodies=[
             LateBody(seconds=3, count=1, method="POST", path="^/runs$", origin="api"),
             LateBody(seconds=3, count=2, method="GET", path="^/runs/run_", origin="api"),
             LateBody(seconds=3, count=1, method="GET", origin="cdn")])}),
]
CASES = NETWORK_CASES + [
    Case("429 with Retry-After", {"faults": [Fault("GET", "^/runs/", 429, {"error": "Too Many Requests"},
                                                   count=2, retry_after=1)]}),
    Case("429 without Retry-After", {"faults": [Fault("GET", "^/runs/", 429, {}, count=1)]}),
    Case("5xx burst while polling", {"faults": [Fault("GET", "^/runs/", 502, "Bad gateway", count=3)]}),
    Case("5xx on create", {"faults": [Fault("POST", "^/runs$", 500, count=1)]}, "error", "not retried"),
    Case("connection reset on create after the body was sent, no run list",
         {"create_drop_connection": 1, "run_list": False}, "error", "may have been created",
         run_unknown=True),
    Case("connection reset on create, the run found by its marker", {"create_drop_connection": 1}),
    Case("reset mid-download", {"download_faults": [DownloadFault("reset", after_bytes=300)]}),
    Case("stall mid-download", {"download_faults": [DownloadFault("stall", after_bytes=300, stall_s=2)]}),
    Case("truncated download", {"download_faults": [DownloadFault("truncate", after_bytes=300)]}),
    Case("5xx from the download host",
         {"faults": [Fault("GET", "^/p/", 503, "busy", count=2, origin="cdn")]}),
    Case("expired links", {"expired_links": 1}),
    Case("redirect of a download to another host", {"redirect_downloads": True}),
    Case("409 race on cancel", {"steps": SLOW, "faults": [Fault("POST", "/cancel$", 409, {
        "id": "run_x", "status": "done", "object": "run", "error": "Run is already finished"})]},
         "interrupted", action=interrupt_after_first_poll),
    Case("unknown status words", {"steps": [Step("warming_up", polls=2), Step("done")]}),
    Case("the other status vocabulary", {"vocabulary": "alt"}),
    Case("noisy error object on a successful run", {"noisy_success_error": True}),
    Case("failed run with details", {"steps": [Step("processing", polls=1), Step("failed")],
                                     "failure": RunError(message="VAE decode blew up", node_id="8")},
         "error", "remote node 8): VAE decode blew up"),
    Case("insufficient balance", {"steps": [Step("insufficient_balance")]}, "error", "Add FloTime"),
    Case("empty outputs", {"outputs": []}, "error", "no output files"),
    Case("corrupt image", {"outputs": [OutputSpec(corrupt=True, name="broken.png")]}, "error", "broken.png"),
    Case("decompression bomb", {"outputs": [OutputSpec(bomb=True, name="bomb.png")]}, "error", "bomb.png"),
    Case("a non-image output beside an image",
         {"outputs": [OutputSpec(), OutputSpec(format="txt", nbytes=99)]}),
    Case("wrong key", {}, "error", "refused the API key", wrong_key=True),
    Case("outputs larger than the size cap", {"outputs": [OutputSpec(format="bin", nbytes=40 * 1024 * 1024)]},
         "error", "over the 32 MB per-file limit"),
    Case("interrupt mid-run", {"steps": SLOW}, "interrupted", action=interrupt_after_first_poll),
    Case("the node's Cancel button", {"steps": SLOW}, "interrupted", action=cancel_button_after_first_poll),
    Case("node timeout", {"steps": SLOW}, "error", "did not finish within 2s", node={"timeout": 2}),
    Case("interrupt while outputs download", {"download_faults": [DownloadFault("stall", 300, stall_s=20)]},
         "interrupted", "had already finished", action=interrupt_during_download),
    Case("interrupt while the create is in flight", {"steps": SLOW, "faults": [
        Fault("POST", "^/runs$", status=None, delay_s=1.5)]}, "interrupted", action=interrupt_during_create),
]


def _no_key_anywhere(comfy, entry: dict) -> bool:
    texts = [comfy.log_text(), json.dumps(entry, default=str)]
    for node in entry.get("outputs", {}):
        for path in saved_images(comfy, entry, node) if "images" in entry["outputs"][node] else []:
            with Image.open(path) as im:
                texts.append(json.dumps({k: str(v) for k, v in im.info.items()}))
    return not any(FLOYO_KEY in t for t in texts)


def _check_outcome(case: Case, entry: dict, comfy) -> None:
    kinds = [m[0] for m in entry["status"]["messages"]]
    if case.expect == "success":
        assert entry["status"]["status_str"] == "success", entry["status"]
    elif case.expect == "interrupted":
        assert "execution_interrupted" in kinds and "execution_error" not in kinds, kinds
        if case.message:  # what the user was told is kept in the journal too
            assert case.message in comfy.get("/floyo/runs")[1]["runs"][0]["detail"]
    else:
        errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
        assert errors and case.message in errors[0]["exception_message"], errors


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_scenario_keeps_every_money_promise(comfy, floyo, case: Case):
    floyo.update(steps=[Step("done")])  # no waiting where the case does not script the status
    floyo.update(**case.knobs)
    if case.wrong_key:
        floyo.server.keys.clear()
    known = set(floyo.runs)
    prompt_id = comfy.queue({"1": remote_run(**case.node), "2": save("1", prefix="fault")})
    if case.action:
        case.action(comfy, floyo, prompt_id)
    entry = comfy.wait(prompt_id, timeout=90)
    time.sleep(0.2)  # a cancel is sent before the node returns; let the recorder settle
    FAULT_SUITE_STATS["scenarios"] += 1
    creates = len(floyo.requests.creates())
    live = [r for r in floyo.runs.values() if r.id not in known and not r.phase.terminal
            and not floyo.requests.cancel_requests(r.id) and not case.run_unknown]
    leak = not _no_key_anywhere(comfy, entry) or bool(floyo.requests.auth_leaks())
    FAULT_SUITE_STATS["duplicate_creates"] += creates > 1
    FAULT_SUITE_STATS["uncancelled_abandoned"] += len(live)
    FAULT_SUITE_STATS["key_leaks"] += leak
    _check_outcome(case, entry, comfy)
    assert creates <= 1 and live == [] and not leak
    if case.expect == "success":  # a healthy run is never cancelled, whatever the network did
        assert len(saved_images(comfy, entry, "2")) == case.images
        assert floyo.requests.cancel_requests() == []
    if case.run_unknown:
        journal = comfy.get("/floyo/runs")[1]["runs"]
        assert journal[0]["state"] == "unknown" and journal[0]["marker"] in journal[0]["hint"]


def test_fault_suite_covers_at_least_25_scenarios():
    assert len(CASES) >= 25
