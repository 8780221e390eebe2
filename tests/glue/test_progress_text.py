"""While Floyo is unreachable the node's status line and its floyo.run events say
"reconnecting… (Ns)", N counting from the start of the outage; they stop saying it once Floyo
answers again."""

from __future__ import annotations

from floyo_pack.floyo_client import RunUpdate
from floyo_pack.floyo_client.models import Phase
from floyo_pack.nodes import comfy
from floyo_pack.nodes.run import progress
from floyo_pack.nodes.run.active_runs import REGISTRY


def update(reconnecting_s: float | None, status: str = "processing") -> RunUpdate:
    return RunUpdate("run_abc", status, Phase.RUNNING, 40.0, 30.0, reconnecting_s=reconnecting_s)


def test_status_says_reconnecting_with_the_outage_seconds():
    assert progress.reconnecting(update(12.2)) == "reconnecting… (12s)"
    assert progress.reconnecting(update(None)) is None


def test_events_say_reconnecting_as_the_outage_goes_on_and_stop_once_it_ends(monkeypatch):
    events = []
    monkeypatch.setattr(comfy, "progress_bar", lambda node, value, total: None)
    monkeypatch.setattr(comfy, "send_event", lambda name, data: events.append(data))
    active = REGISTRY.start("5", "prompt-1")
    try:
        hooks = progress.node_hooks(active)
        for seconds in (None, 0.0, 1.0, 2.0, 6.0, 11.0, None):
            hooks.on_status(update(seconds))
    finally:
        REGISTRY.finish(active)
    said = [e["reconnecting_s"] for e in events]
    assert said == [None, 0, 6, 11, None], "an event when it starts, every few seconds, and when it ends"
    assert events[2]["message"] == "reconnecting… (6s)" and events[-1]["message"] is None
