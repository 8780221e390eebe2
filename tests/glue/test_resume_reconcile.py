"""At startup, creates left "unknown" are looked for by their name marker in Floyo's run list:
found, the run is watched to its end and its outputs saved, or cancelled if its node had given
up on it; not found, or with no run list, the row stays unknown (never resubmitted). A running
run whose node gave up while its cancel could not get through is cancelled, not watched."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest
from floyo_pack.floyo_client import CancelResult
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.nodes import comfy
from floyo_pack.nodes.comfy_server import resume
from floyo_pack.nodes.run.active_runs import REGISTRY
from floyo_scripted import Fault, Scenario, ScriptedServer, Step

from ..core.conftest import WORKFLOW

KEY = "flo_test_key"


@pytest.fixture
async def floyo(tmp_path, monkeypatch):
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path / "output")
    monkeypatch.setattr(comfy, "key_file", lambda: tmp_path / "no_key_file")
    async with ScriptedServer(Scenario(steps=[Step("processing", polls=1), Step("done")])) as server:
        monkeypatch.setenv("FLOYO_API_KEY", KEY)
        monkeypatch.setenv("FLOYO_API_URL", server.api_url)
        monkeypatch.setenv("FLOYO_CDN_URL", server.cdn_url)
        yield server


def unknown_row(journal: Journal, server, marker: str, *, gave_up: bool = False) -> None:
    journal.begin(marker, name=f"node 3 [{marker}]", prompt_id="p", node_id="3",
                  api_url=server.api_url)
    if gave_up:
        journal.gave_up(marker, "ComfyUI cancelled the node while its create was in flight")
    else:
        journal.create_unknown(marker, "no answer")


async def created_on_floyo(server, marker: str) -> str:
    """A run that reached Floyo although its creator never heard back."""
    body = json.dumps({"workflow": WORKFLOW, "name": f"node 3 [{marker}]"}).encode()
    request = urllib.request.Request(server.api_url + "/runs", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {KEY}"})

    def send() -> str:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["id"]

    return await asyncio.to_thread(send)


async def test_an_unknown_create_found_by_its_marker_is_watched_and_its_outputs_saved(floyo, tmp_path):
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000aa")
    run_id = await created_on_floyo(floyo, "flyc-00000000aa")
    await resume.resume_all(journal, [], journal.unknown_runs())
    row = journal.get(run_id)
    assert row.state == "saved" and row.paths and all(Path(p).is_file() for p in row.paths)
    assert floyo.run(run_id).cancels == 0 and len(floyo.requests.creates()) == 1


async def test_an_unknown_create_whose_node_gave_up_is_cancelled_when_found(floyo, tmp_path):
    floyo.scenario.steps = [Step("processing")]
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000bb", gave_up=True)
    run_id = await created_on_floyo(floyo, "flyc-00000000bb")
    await resume.resume_all(journal, [], journal.unknown_runs())
    assert floyo.run(run_id).cancels == 1
    assert journal.get(run_id).state == "cancelled"


@pytest.mark.parametrize("run_list", [True, False])
async def test_an_unknown_create_not_found_stays_unknown_and_is_never_resent(floyo, tmp_path, run_list):
    floyo.scenario.run_list = run_list
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000cc")
    await resume.resume_all(journal, [], journal.unknown_runs())
    (row,) = journal.list()
    assert row.state == "unknown" and row.run_id is None
    assert floyo.requests.creates() == []
    assert len(floyo.requests.filter("GET", r"^/runs$")) == 1


async def test_a_running_run_its_node_gave_up_on_is_cancelled_not_watched(floyo, tmp_path):
    floyo.scenario.steps = [Step("processing")]
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000dd")
    run_id = await created_on_floyo(floyo, "flyc-00000000dd")
    journal.created("flyc-00000000dd", run_id)
    journal.status(run_id, GAVE_UP, None)
    await resume.resume_all(journal, [journal.get(run_id)])
    assert floyo.run(run_id).cancels == 1 and floyo.requests.polls(run_id) == []
    assert journal.get(run_id).state == "cancelled"


async def test_a_resumed_run_stopped_from_the_runs_tab_is_cancelled_and_journaled_with_its_outcome(
        floyo, tmp_path):
    floyo.scenario.steps = [Step("processing")]
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000ee")
    run_id = await created_on_floyo(floyo, "flyc-00000000ee")
    journal.created("flyc-00000000ee", run_id)
    resuming = asyncio.ensure_future(resume.resume_all(journal, [journal.get(run_id)]))
    for _ in range(200):  # 10 s at most: until the resume thread watches it
        if floyo.requests.polls(run_id) and REGISTRY.request_cancel(run_id=run_id):  # the tab's Cancel
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the resumed run was never watched")
    await asyncio.wait_for(resuming, 30)
    row = journal.get(run_id)
    assert floyo.run(run_id).cancels == 1
    assert row.state == "cancelled" and row.cancel_result is CancelResult.CANCELLED


async def test_a_resumed_run_whose_poll_is_refused_is_left_for_the_next_start_not_cancelled(floyo, tmp_path):
    journal = Journal(tmp_path / "runs.sqlite3")
    unknown_row(journal, floyo, "flyc-00000000ff")
    run_id = await created_on_floyo(floyo, "flyc-00000000ff")
    journal.created("flyc-00000000ff", run_id)
    floyo.scenario.faults.append(Fault("GET", rf"^/runs/{run_id}$", status=401, count=-1,
                                       body={"error": "Unauthorized"}))
    await resume.resume_all(journal, [journal.get(run_id)])
    assert floyo.run(run_id).cancels == 0  # only a stop cancels a resumed run
    assert journal.get(run_id).state == "running"
