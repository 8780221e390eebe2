"""Waiting for a run: both status vocabularies, unknown words, queued time not counted, and a
remote cancel for every run the client gives up on, without ever hiding the original error."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from floyo_pack.floyo_client import (
    BillingError,
    CancelResult,
    Hooks,
    Interrupted,
    Limits,
    PollSchedule,
    RunFailed,
    RunHandle,
    RunTimedOut,
    cancel_on_stop,
    never_cancel,
    start_run,
)
from floyo_scripted import Fault, RunError, Step

from .conftest import WORKFLOW


def hooks(t, **kw) -> Hooks:
    return Hooks(sleep=t.sleep, clock=t.clock, **kw)


async def _wait(client, t, **kw):
    limits = kw.pop("limits", None)
    handle = await start_run(client, WORKFLOW, hooks=hooks(t, **kw), limits=limits)
    async with handle:
        return handle, await handle.wait()


@pytest.mark.parametrize("vocabulary", ["docs", "alt"])
async def test_both_status_vocabularies_finish_successfully(floyo, client, fake_time, vocabulary):
    floyo.scenario.vocabulary = vocabulary
    _, run = await _wait(client, fake_time)
    assert run.status == {"docs": "done", "alt": "complete"}[vocabulary]
    assert run.flotime_ms == 48210 and run.outputs


async def test_unknown_status_means_still_running_and_is_logged_once(floyo, client, fake_time, caplog):
    floyo.scenario.steps = [Step("warming_up", polls=3), Step("done")]
    with caplog.at_level(logging.WARNING):
        _, run = await _wait(client, fake_time)
    assert run.status == "done"
    assert sum("warming_up" in r.getMessage() for r in caplog.records) == 1


async def test_noisy_error_object_on_a_successful_run_is_not_a_failure(floyo, client, fake_time):
    floyo.scenario.noisy_success_error = True
    _, run = await _wait(client, fake_time)
    assert run.status == "done" and "error" in run.raw


async def test_failed_run_raises_with_floyos_message_and_node(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing", polls=1), Step("failed")]
    floyo.scenario.failure = RunError(message="CheckpointLoader: model.safetensors not found", node_id="4")
    with pytest.raises(RunFailed) as caught:
        await _wait(client, fake_time)
    assert "model.safetensors not found" in str(caught.value) and "remote node 4" in str(caught.value)
    assert floyo.requests.cancel_requests() == []  # a finished run needs no cancel


async def test_insufficient_balance_is_a_billing_error(floyo, client, fake_time):
    floyo.scenario.steps = [Step("insufficient_balance")]
    with pytest.raises(BillingError) as caught:
        await _wait(client, fake_time)
    assert "FloTime" in str(caught.value)


async def test_queued_time_does_not_count_against_the_timeout(floyo, client, fake_time):
    floyo.scenario.steps = [Step("queued", polls=30), Step("processing", polls=3), Step("done")]
    limits = Limits(timeout_s=10, schedule=PollSchedule(fast_s=1.0))
    _, run = await _wait(client, fake_time, limits=limits)
    assert run.status == "done" and fake_time.now - 1000.0 > 30


async def test_timeout_cancels_the_remote_run_and_names_it(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    with pytest.raises(RunTimedOut) as caught:
        await _wait(client, fake_time, limits=Limits(timeout_s=5))
    run_id = floyo.last_run.id
    assert run_id in str(caught.value) and "cancel: cancelled" in str(caught.value)
    assert len(floyo.requests.cancel_requests(run_id)) == 1


async def test_the_handles_exit_yields_the_cancel_outcome_on_a_new_error_and_never_rewrites_the_first(
        floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    handle = await start_run(client, WORKFLOW, hooks=hooks(fake_time), limits=Limits(timeout_s=5))
    with pytest.raises(RunTimedOut) as caught:
        async with handle:
            try:
                await handle.wait()
            except RunTimedOut as e:
                first, first_args = e, e.args
                raise
    assert caught.value is not first and first.args == first_args and first.outcome is None
    outcome = handle.cancel_outcome
    assert caught.value.outcome is outcome and outcome.result is CancelResult.CANCELLED
    assert caught.value.message == first.message and caught.value.run_id == first.run_id
    assert str(caught.value) == f"{first} Remote run cancel: cancelled."


async def test_user_stop_cancels_the_remote_run_and_sends_one_create(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    polls = floyo.requests.polls
    with pytest.raises(Interrupted):
        await _wait(client, fake_time, should_stop=lambda: len(polls()) >= 2)
    assert len(floyo.requests.cancel_requests(floyo.last_run.id)) == 1
    assert len(floyo.requests.creates()) == 1


async def test_a_failed_cancel_never_hides_the_original_error(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    floyo.scenario.faults.append(Fault("POST", r"/cancel$", status=500, count=-1))
    with pytest.raises(RunTimedOut) as caught:
        await _wait(client, fake_time, limits=Limits(timeout_s=3))
    assert "could not be confirmed" in str(caught.value)


async def test_a_local_failure_after_create_cancels_the_remote_run(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    handle = await start_run(client, WORKFLOW, hooks=hooks(fake_time))
    with pytest.raises(ZeroDivisionError):
        async with handle:
            await handle.refresh()
            _ = 1 / 0
    assert handle.cancel_outcome.result is CancelResult.CANCELLED
    assert len(floyo.requests.cancel_requests(handle.run_id)) == 1


async def test_cancel_reports_cancelled_already_finished_and_not_found(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    handle = await start_run(client, WORKFLOW, hooks=hooks(fake_time))
    assert (await client.cancel_run(handle.run_id)).result is CancelResult.CANCELLED
    again = await client.cancel_run(handle.run_id)
    assert again.result is CancelResult.ALREADY_FINISHED and again.status == "cancelled"
    assert "already finished (cancelled)" in again.describe()
    missing = await client.cancel_run("run_doesnotexist0000")
    assert missing.result is CancelResult.NOT_FOUND


async def test_url_lifetime_is_clamped_and_only_sent_with_expand(floyo, client):
    run = await client.create_run(WORKFLOW, name="t", marker="m")
    await client.get_run(run.id, urls=True, url_ttl_s=10**9)
    await client.get_run(run.id)
    first, second = floyo.requests.polls(run.id)[-2:]
    assert first.query == {"expand": "outputs.presigned_url", "presigned_url_expires_in": "84600"}
    assert second.query == {}


def test_poll_schedule_starts_fast_then_backs_off_to_a_few_seconds():
    s = PollSchedule()
    assert s.delay(0) == s.delay(29) == 1.0
    later = [s.delay(t) for t in (31, 40, 60, 120, 3600)]
    assert later == sorted(later) and later[0] > 1.0 and later[-1] == 5.0


async def test_a_run_queued_forever_still_has_a_deadline_and_is_cancelled(floyo, client, fake_time):
    floyo.scenario.steps = [Step("queued")]
    with pytest.raises(RunTimedOut) as caught:
        await _wait(client, fake_time, limits=Limits(timeout_s=5, max_wait_s=60))
    assert "still queued" in str(caught.value) and fake_time.now - 1000.0 >= 60
    assert len(floyo.requests.cancel_requests(floyo.last_run.id)) == 1


async def test_a_watched_runs_handle_cancels_on_a_user_stop_only(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    run = await client.create_run(WORKFLOW, name="w", marker="m")
    with pytest.raises(RunTimedOut):
        async with RunHandle(client, run.id, hooks(fake_time), Limits(timeout_s=3),
                             cancels=cancel_on_stop) as h:
            await h.wait()
    assert floyo.requests.cancel_requests(run.id) == []
    with pytest.raises(Interrupted) as caught:
        async with RunHandle(client, run.id, hooks(fake_time, should_stop=lambda: True),
                             cancels=cancel_on_stop) as h:
            await h.wait()
    assert len(floyo.requests.cancel_requests(run.id)) == 1
    assert caught.value.outcome.result is CancelResult.CANCELLED


async def test_a_looked_at_runs_handle_never_cancels(floyo, client, fake_time):
    floyo.scenario.steps = [Step("processing")]
    run = await client.create_run(WORKFLOW, name="w", marker="m")
    with pytest.raises(Interrupted) as caught:
        async with RunHandle(client, run.id, hooks(fake_time, should_stop=lambda: True),
                             cancels=never_cancel) as h:
            await h.wait()
    assert floyo.requests.cancel_requests(run.id) == [] and caught.value.outcome is None


def test_no_caller_cancels_a_run_beside_its_handle():
    # A run is cancelled by leaving its handle (runner.RunHandle.__aexit__) or by the one helper
    # for runs nobody watches (tracked.cancel_given_up): never by a cancel written beside them.
    root = Path(__file__).resolve().parents[2]
    calls = re.compile(r"await [\w.]+\.cancel\(|\.cancel_run\(")
    found = {f"{path.relative_to(root)}:{n}" for folder in ("floyo_client", "nodes")
             for path in sorted((root / folder).glob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if calls.search(line)}
    allowed = {"floyo_client/runner.py", "floyo_client/tracked.py"}
    assert {f.split(":")[0] for f in found} <= allowed, sorted(found)
    tracked = (root / "floyo_client" / "tracked.py").read_text(encoding="utf-8")
    assert tracked.count("await handle.cancel()") == 1 and "async def cancel_given_up" in tracked
