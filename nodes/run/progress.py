"""What the user sees while a run is live: ``floyo.run`` events and ComfyUI's progress bar.

Builds the core's ``Hooks`` for one node: stop when ComfyUI's Cancel/Interrupt flag or the
node's own Cancel button is set; an event on each change (the extension, web/floyo.js, turns them
into the node's one status line and counts the seconds between them) and a progress bar that
means something: queued, processing, then downloading n/N. No progress text: ComfyUI would show
it as a second status line on the node.
"""

from __future__ import annotations

from collections.abc import Callable

from ...floyo_client import Hooks, Phase, RunUpdate
from .. import comfy
from . import fanout
from .active_runs import ActiveRun
from .estimate import eta_fields

EVENT = "floyo.run"
OUTAGE_EVENT_S = 5
DOWNLOAD_FROM = 25
FINAL = ("saved", "cancelled")  # an element of a fan-out counts as done (errors: when it leaves)
# Announced words after which the node's run is over: each event says so itself (``ended``), so
# the frontend keeps no list of status words (web/floyo/node_status.js).
ENDED = ("reused", "saved", "cancelled")
# The progress bar, in percent: a run's phase (the run's own progress is unknown), then one step
# per output file downloaded.
BAR = {Phase.QUEUED: 5, Phase.RUNNING: 20, Phase.UNKNOWN: 20, Phase.SUCCEEDED: DOWNLOAD_FROM}


def reconnecting(update: RunUpdate) -> str | None:
    """"reconnecting… (Ns)" while Floyo is unreachable (N: seconds since the outage began)."""
    if update.reconnecting_s is None:
        return None
    return f"reconnecting… ({update.reconnecting_s:.0f}s)"


def event_payload(active: ActiveRun, update: RunUpdate) -> dict[str, object]:
    return {"node_id": active.node_id, "prompt_id": active.prompt_id, "run_id": update.run_id,
            "status": update.status, "elapsed_s": round(update.elapsed_s, 1),
            "flotime_ms": update.flotime_ms, "message": reconnecting(update) or update.message,
            "reconnecting_s": None if update.reconnecting_s is None else round(update.reconnecting_s),
            "progress": update.progress,
            "ended": update.phase in (Phase.FAILED, Phase.CANCELLED), **active.group.fields(),
            **eta_fields(active.estimate, update)}


def announce(active: ActiveRun, status: str, message: str | None = None, **extra: object) -> None:
    """An event outside the polling loop (e.g. 'cancelled' with its ``cancel`` outcome, 'saved')."""
    active.status = status
    if status in FINAL:
        fanout.finished(active.group, active.counted)
    comfy.send_event(EVENT, {"node_id": active.node_id, "prompt_id": active.prompt_id,
                             "run_id": active.run_id, "status": status, "elapsed_s": None,
                             "flotime_ms": None, "message": message, "ended": status in ENDED, **extra,
                             **active.group.fields()})


def node_hooks(active: ActiveRun) -> Hooks:
    def should_stop() -> bool:
        if active.cancel.is_set() or comfy.interrupted():
            # ComfyUI's flag is consumed by the first element that stops: tell its siblings
            active.group.stop.set()
            return True
        return active.group.stop.is_set()

    last: list[object] = [None, None]  # the outage's bucket and the step last announced

    def on_status(update: RunUpdate) -> None:
        if update.phase in BAR:
            comfy.progress_bar(active.node_id, BAR[update.phase], 100)
        # an event on each status change, each new step, and every few seconds while reconnecting
        outage = None if update.reconnecting_s is None else int(update.reconnecting_s // OUTAGE_EVENT_S)
        if update.status != active.status or [outage, update.progress] != last:
            active.status, last[:] = update.status, [outage, update.progress]
            comfy.send_event(EVENT, event_payload(active, update))

    return Hooks(should_stop=should_stop, on_status=on_status)


def downloading(active: ActiveRun) -> Callable[[int, int], None]:
    """``collect``'s per-file callback: "downloading n/N" on the node and on its progress bar."""

    def on_file(done: int, total: int) -> None:
        comfy.progress_bar(active.node_id, DOWNLOAD_FROM + (100 - DOWNLOAD_FROM) * done // max(total, 1), 100)
        announce(active, "downloading", f"downloading {done}/{total}", downloaded=done, outputs=total)

    return on_file
