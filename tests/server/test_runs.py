"""Run lifecycle contract of the local server: what client tests rely on when they script runs.

Bodies and codes follow docs/floyo-api.md, "Endpoints used"; statuses advance per GET (or per scripted
second on an injected clock), so tests never sleep.
"""

from __future__ import annotations

from floyo_pack.floyo_client.models import RUN_ID_RE, Phase
from floyo_scripted import OutputSpec, RunError, Step


async def test_create_returns_run_id_object_and_name(http, server, api):
    async with http.post(f"{server.api_url}/runs", json={"workflow": api.WORKFLOW, "name": "t1"},
                         headers=api.AUTH) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert set(body) == {"id", "object", "name"}
    assert RUN_ID_RE.fullmatch(body["id"]) and len(body["id"]) == len("run_") + 16
    assert body["object"] == "run" and body["name"] == "t1"
    run = server.run(body["id"])
    assert run.workflow == api.WORKFLOW and run.name == "t1" and run.key == "flo_test_key"
    assert server.requests.count("POST", "/runs") == len(server.requests.creates()) == 1


async def test_create_without_name_gets_default_name(http, server, api):
    run_id = await api.create()
    assert server.run(run_id).name.startswith("API Run ")


async def test_create_rejects_non_object_workflow(http, server, api):
    for body in ({"workflow": [1]}, {"workflow": "x"}, {}, [1], {"workflow": {}, "name": 5}):
        async with http.post(f"{server.api_url}/runs", json=body, headers=api.AUTH) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "Validation error"
    async with http.post(f"{server.api_url}/runs", data=b"{not json", headers=api.AUTH) as resp:
        assert resp.status == 400
    assert server.runs == {}


async def test_allowed_class_types_rejects_unknown_nodes_with_node_id(http, server, api):
    server.scenario.allowed_class_types = frozenset({"KSampler"})
    async with http.post(f"{server.api_url}/runs", json={"workflow": api.WORKFLOW}, headers=api.AUTH) as resp:
        assert resp.status == 400
        assert (await resp.json())["details"] == {"node_id": "9"}


async def test_default_script_is_queued_processing_done(http, server, api):
    run_id = await api.create()
    assert await api.statuses(run_id, 4) == ["queued", "processing", "done", "done"]
    assert server.run(run_id).polls == 4


async def test_per_poll_steps_and_last_step_sticks(http, server, api):
    server.scenario.steps = [Step("queued", polls=2), Step("processing", polls=3), Step("done")]
    run_id = await api.create()
    assert await api.statuses(run_id, 7) == ["queued"] * 2 + ["processing"] * 3 + ["done"] * 2


async def test_alt_vocabulary_translates_phases_and_docs_words(http, server, api):
    server.scenario.vocabulary = "alt"
    server.scenario.steps = [Step(Phase.RUNNING), Step("done")]
    run_id = await api.create()
    assert await api.statuses(run_id, 2) == ["processing", "complete"]
    other = await api.create()
    async with http.post(f"{server.api_url}/runs/{other}/cancel", headers=api.AUTH) as resp:
        assert resp.status == 200
    assert (await api.get(other))[1]["status"] == "canceled"


async def test_unknown_status_words_are_emitted_verbatim(http, server, api):
    server.scenario.steps = [Step("warming_up", polls=2), Step(Phase.SUCCEEDED)]
    run_id = await api.create()
    assert await api.statuses(run_id, 3) == ["warming_up", "warming_up", "done"]


async def test_time_based_steps_follow_the_injected_clock(http, server, clock, api):
    server.scenario.steps = [Step("queued", seconds=1.0), Step("processing", seconds=2.0), Step("done")]
    run_id = await api.create()
    assert await api.statuses(run_id, 3) == ["queued"] * 3
    clock.advance(1.5)
    assert await api.statuses(run_id, 1) == ["processing"]
    clock.advance(1.6)  # 3.1 s after creation: past both timed steps
    assert await api.statuses(run_id, 1) == ["done"]


async def test_done_run_has_flotime_outputs_and_no_error(http, server, api):
    server.scenario.steps = [Step("done")]
    run_id = await api.create()
    status, body = await api.get(run_id)
    assert status == 200 and body["status"] == "done" and body["flotime_ms"] == 48210
    assert "error" not in body and body["requested_at"].endswith("+00:00")
    [out] = body["outputs"]
    assert out["object"] == "file" and out["id"].startswith("file_") and "presigned_url" not in out
    assert out["file_name"] == "floyo_n9_00001_.png" and out["input_path"] == "#outputs/floyo_n9_00001_.png"
    assert out["mime_type"] == "image/png" and out["size_bytes"] == len(server.files[out["id"]].data)


async def test_running_run_has_no_flotime_and_empty_outputs(http, server, api):
    run_id = await api.create()
    body = (await api.get(run_id))[1]
    assert body["outputs"] == [] and "flotime_ms" not in body


async def test_noisy_system_error_on_success(http, server, api):
    server.update(steps=[Step("done")], noisy_success_error=True)
    body = (await api.get(await api.create()))[1]
    assert body["status"] == "done" and body["error"]["type"] == "system"


async def test_failed_run_carries_error_with_node_id(http, server, api):
    server.update(steps=[Step("failed")], failure=RunError("validation", "bad input", "12"))
    body = (await api.get(await api.create()))[1]
    assert body["status"] == "failed" and body["outputs"] == []
    assert body["error"] == {"type": "validation", "message": "bad input", "details": {"node_id": "12"}}


async def test_insufficient_balance_is_terminal(http, server, api):
    server.scenario.steps = [Step("queued"), Step("insufficient_balance")]
    run_id = await api.create()
    assert await api.statuses(run_id, 2) == ["queued", "insufficient_balance"]
    assert server.run(run_id).phase is Phase.FAILED
    async with http.post(f"{server.api_url}/runs/{run_id}/cancel", headers=api.AUTH) as resp:
        assert resp.status == 409


async def test_outputs_named_by_save_prefixes_round_robin(http, server, api):
    workflow = {"5": {"class_type": "SaveImage", "inputs": {"filename_prefix": "sub/b"}},
                "10": {"class_type": "SaveImage", "inputs": {"filename_prefix": "c"}}}
    outputs = [OutputSpec(), OutputSpec(), OutputSpec(format="jpeg"), OutputSpec(node="10"),
               OutputSpec(name="x.txt", format="txt")]
    server.update(steps=[Step("done")], outputs=outputs)
    body = (await api.get(await api.create(workflow)))[1]
    assert [o["file_name"] for o in body["outputs"]] == [
        "b_00001_.png", "c_00001_.png", "b_00002_.jpg", "c_00002_.png", "x.txt"]


async def test_no_save_nodes_means_floyo_prefix_and_empty_outputs_possible(http, server, api):
    server.update(steps=[Step("done")], outputs=[OutputSpec(format="webp")])
    body = (await api.get(await api.create({"1": {"class_type": "X"}})))[1]
    assert body["outputs"][0]["file_name"] == "Floyo_00001_.webp"
    server.scenario.outputs = []
    body = (await api.get(await api.create()))[1]
    assert body["status"] == "done" and body["outputs"] == []


async def test_get_unknown_run_is_404(http, server, api):
    assert await api.get("run_aaaaaaaaaaaaaaaa") == (404, {"error": "Run not found"})
