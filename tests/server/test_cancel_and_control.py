"""Cancel semantics (200 / 409 / 404, docs/floyo-api.md) and the manual run controls tests use
to park a run in any state without polling it there."""

from __future__ import annotations

from floyo_pack.floyo_client.models import Phase
from floyo_scripted import Step


async def test_cancel_queued_run_then_it_reads_cancelled(server, api):
    run_id = await api.create()
    assert await api.cancel(run_id) == (200, {"id": run_id, "object": "run", "message": "Run cancelled"})
    assert await api.statuses(run_id, 2) == ["cancelled", "cancelled"]
    assert len(server.requests.cancel_requests()) == 1 and server.run(run_id).cancels == 1


async def test_cancel_processing_run_is_accepted(server, api):
    run_id = await api.create()
    assert await api.statuses(run_id, 2) == ["queued", "processing"]
    assert (await api.cancel(run_id))[0] == 200


async def test_cancel_finished_run_is_409_with_current_status(server, api):
    server.scenario.steps = [Step("done")]
    run_id = await api.create()
    status, body = await api.cancel(run_id)
    assert status == 409
    assert body == {"id": run_id, "status": "done", "object": "run", "error": "Run is already finished",
                    "message": "Run has already completed"}


async def test_second_cancel_is_409_cancelled_in_both_vocabularies(server, api):
    for vocabulary, word in (("docs", "cancelled"), ("alt", "canceled")):
        server.scenario.vocabulary = vocabulary
        run_id = await api.create()
        assert (await api.cancel(run_id))[0] == 200
        status, body = await api.cancel(run_id)
        assert status == 409 and body["status"] == word
        assert body["message"] == "Run was cancelled by the user"


async def test_cancel_unknown_run_is_404(server, api):
    assert await api.cancel("run_zzzzzzzzzzzzzzzz") == (404, {"error": "Run not found"})


async def test_cancel_does_not_advance_poll_steps(server, api):
    """A run that showed 'processing' on its last poll is still cancellable, even if its
    processing step has used up its polls: poll-based steps move only on GETs."""
    server.scenario.steps = [Step("processing", polls=1), Step("done")]
    run_id = await api.create()
    assert await api.statuses(run_id, 1) == ["processing"]
    assert (await api.cancel(run_id))[0] == 200


async def test_cancel_steps_script_a_slow_cancel(server, api):
    server.scenario.cancel_steps = [Step("processing", polls=2), Step(Phase.CANCELLED)]
    run_id = await api.create()
    assert (await api.cancel(run_id))[0] == 200
    assert await api.statuses(run_id, 3) == ["processing", "processing", "cancelled"]


async def test_cancel_race_can_end_in_success(server, api):
    server.scenario.cancel_steps = [Step(Phase.SUCCEEDED)]
    run_id = await api.create()
    assert (await api.cancel(run_id))[0] == 200
    assert (await api.get(run_id))[1]["status"] == "done"


async def test_set_phase_and_finish_override_the_script(server, api):
    server.scenario.steps = [Step("queued")]
    run_id = await api.create()
    server.set_phase(run_id, Phase.RUNNING)
    assert await api.statuses(run_id, 2) == ["processing", "processing"]
    server.set_phase(run_id, "warming_up")
    assert await api.statuses(run_id, 1) == ["warming_up"]
    server.finish(run_id)
    body = (await api.get(run_id))[1]
    assert body["status"] == "done" and len(body["outputs"]) == 1
    other = await api.create()
    server.finish(other, Phase.FAILED)
    assert (await api.get(other))[1]["error"]["details"] == {"node_id": "9"}


async def test_set_steps_rescripts_one_run(server, api):
    server.scenario.steps = [Step("queued")]
    run_id = await api.create()
    server.set_steps(run_id, [Step("processing", polls=1), Step("complete")])
    assert await api.statuses(run_id, 2) == ["processing", "complete"]
    assert server.last_run.id == run_id
