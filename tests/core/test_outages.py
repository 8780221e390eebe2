"""Polling rides out outages: Cloudflare 52x pages, resets, DNS/connect failures and unreadable
answers never cancel a run. The wait keeps polling with capped, jittered backoff (never more
than 30 s between tries) and says "reconnecting"; past the outage limit it stops waiting and
leaves the run running (no cancel is sent), journaled so it can be fetched or resumed later.
The server and the client share one injected clock, so long outages take no real time."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import Hooks, Interrupted, Limits, RunTimedOut, start_run
from floyo_pack.floyo_client.errors import (
    AnswerTooLarge,
    NetworkError,
    OutageTooLong,
    ProtocolError,
    ServerError,
)
from floyo_pack.floyo_client.journal import GAVE_UP, RESUMABLE, Journal
from floyo_pack.floyo_client.outage import MAX_RETRY_DELAY_S, is_transient
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import ScriptedServer, Step
from floyo_scripted.realism import Outage, Realism

from .conftest import WORKFLOW, FakeTime, make_client

POLL = r"^/runs/run_"


@pytest.fixture
async def shared():
    """A server and a client on one fake clock: (server, client, time)."""
    t = FakeTime()
    async with ScriptedServer(clock=t.clock, wall_clock=t.clock) as server:
        async with make_client(server, time=t) as client:
            yield server, client, t


def outage(server, t, seconds: float, kind: str, after_s: float = 2.0) -> None:
    server.realism = Realism(origins=frozenset({"api"}), outages=[
        Outage(seconds=seconds, kind=kind, status=522, start=t.now + after_s, method="GET", path=POLL)])


def poll_times(server, run_id: str) -> list[float]:
    return [r.time for r in server.requests.polls(run_id)]


def cancels(server) -> list:
    return server.requests.cancel_requests()


async def watch(client, t, *, limits: Limits | None = None, **kw):
    updates = []
    hooks = Hooks(sleep=t.sleep, clock=t.clock, on_status=updates.append, **kw)
    handle = await start_run(client, WORKFLOW, hooks=hooks, limits=limits)
    async with handle:
        run = await handle.wait()
    return handle, run, updates


@pytest.mark.parametrize("kind", ["page", "reset"])
async def test_a_20s_outage_while_polling_does_not_cancel_and_the_run_succeeds(shared, kind):
    server, client, t = shared
    server.scenario.steps = [Step("processing", seconds=40), Step("done")]
    outage(server, t, 20, kind)
    handle, run, updates = await watch(client, t)
    assert run.status == "done" and cancels(server) == []
    outage_s = [u.reconnecting_s for u in updates if u.reconnecting_s is not None]
    assert max(outage_s) >= 19, "the status said reconnecting, with the seconds since it began"
    assert updates[-1].reconnecting_s is None, "reconnected once Floyo answered again"


async def test_a_long_outage_backs_off_but_never_more_than_30s_between_tries(shared):
    server, client, t = shared
    server.scenario.steps = [Step("processing", seconds=20 * 60), Step("done")]
    outage(server, t, 15 * 60, "page")
    handle, run, _ = await watch(client, t, limits=Limits(timeout_s=None))
    assert run.status == "done" and cancels(server) == []
    times = poll_times(server, run.id)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) <= MAX_RETRY_DELAY_S + 1.0
    assert len(times) < 120, "backed off: a 1 s poll schedule would have sent about 900 polls"


async def test_past_the_outage_limit_the_wait_stops_without_cancelling_and_says_how_to_get_outputs(shared):
    server, client, t = shared
    server.scenario.steps = [Step("processing")]
    outage(server, t, 3600, "reset")
    with pytest.raises(OutageTooLong) as caught:
        await watch(client, t, limits=Limits(outage_limit_s=120))
    run_id = caught.value.run_id
    assert cancels(server) == [], "no cancel was even tried: it cannot cross a dead network"
    assert server.run(run_id).cancels == 0
    message = str(caught.value)
    assert "Floyo Fetch Outputs" in message and run_id in message and "restart ComfyUI" in message


async def test_past_the_outage_limit_the_run_stays_journaled_running(shared, tmp_path):
    server, client, t = shared
    server.scenario.steps = [Step("processing")]
    outage(server, t, 3600, "page")
    journal = Journal(tmp_path / "runs.sqlite3")
    hooks = Hooks(sleep=t.sleep, clock=t.clock)

    async def finish(handle, run):
        return run

    with pytest.raises(OutageTooLong) as caught:
        await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(), hooks=hooks,
                          limits=Limits(outage_limit_s=120), finish=finish)
    row = journal.get(caught.value.run_id)
    assert row.state == "running" and server.run(caught.value.run_id).cancels == 0
    assert row.state in RESUMABLE, "resumed at the next start"


async def test_a_stop_during_an_outage_is_honoured_within_a_second(shared):
    server, client, t = shared
    server.scenario.steps = [Step("processing")]
    outage(server, t, 3600, "page")
    stop_at = t.now + 100.0
    with pytest.raises(Interrupted):
        await watch(client, t, should_stop=lambda: t.now >= stop_at)
    assert t.now - stop_at <= 1.0


async def test_a_stop_whose_cancel_cannot_cross_the_outage_marks_the_run_given_up_for_the_next_start(
        shared, tmp_path):
    server, client, t = shared
    server.scenario.steps = [Step("processing")]
    outage(server, t, 3600, "page")
    server.realism.outages.append(Outage(seconds=3600, kind="page", start=t.now, method="POST",
                                         path="/cancel$"))
    journal = Journal(tmp_path / "runs.sqlite3")
    stop_at = t.now + 100.0

    async def finish(handle, run):
        return run

    with pytest.raises(Interrupted) as caught:
        await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(), limits=None, finish=finish,
                          hooks=Hooks(sleep=t.sleep, clock=t.clock, should_stop=lambda: t.now >= stop_at))
    assert "could not be confirmed" in str(caught.value)
    row = journal.get(caught.value.run_id)
    assert row.state == "running" and row.status == GAVE_UP, "cancelled, not watched, at next start"


async def test_the_nodes_own_timeout_still_ends_the_wait_during_an_outage(shared):
    server, client, t = shared
    server.scenario.steps = [Step("processing")]
    outage(server, t, 3600, "page")
    with pytest.raises(RunTimedOut):
        await watch(client, t, limits=Limits(timeout_s=60))
    assert t.now - 1000.0 < 120


async def test_a_non_json_2xx_page_while_polling_is_retried_not_a_failure(shared):
    from floyo_scripted import Fault

    server, client, t = shared
    server.scenario.steps = [Step("processing", seconds=5), Step("done")]
    server.scenario.faults.append(Fault("GET", POLL, status=200, count=3,
                                        body="<html><body>Checking your browser…</body></html>"))
    _, run, _ = await watch(client, t)
    assert run.status == "done" and cancels(server) == []


def test_which_failures_are_transient():
    assert is_transient(ServerError("522", status=522))
    assert is_transient(NetworkError("reset"))
    assert is_transient(ProtocolError("not JSON"))
    assert not is_transient(AnswerTooLarge("too big"))
    assert not is_transient(OutageTooLong("gave up"))
    assert not is_transient(Interrupted("stop"))


@pytest.mark.timeout(60)
async def test_six_real_seconds_of_52x_pages_and_resets_while_polling_do_not_cancel(floyo, client):
    """Real time, real sockets, internet-like answers: 1.5 s of resets (the first poll meets one),
    then 4.5 s of Cloudflare pages (the third try, 1.5-3 s in, meets one)."""
    floyo.scenario.steps = [Step("processing", seconds=8), Step("done")]
    floyo.realism = Realism.internet(origins=frozenset({"api"}), outages=[
        Outage(seconds=1.5, kind="reset", method="GET", path=POLL),
        Outage(seconds=4.5, kind="page", status=520, method="GET", path=POLL)])
    updates = []
    handle = await start_run(client, WORKFLOW, hooks=Hooks(on_status=updates.append))
    async with handle:
        run = await handle.wait()
    assert run.status == "done" and floyo.run(run.id).cancels == 0
    fates = {s.fate for s in floyo.realism.sent_for("api", POLL)}
    assert {"page", "outage_reset"} <= fates
    assert any(u.reconnecting_s is not None and u.reconnecting_s >= 4 for u in updates)
