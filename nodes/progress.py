"""What the user sees while a run is live: the node's status text and ``floyo.run`` events.

Builds the core's ``Hooks`` for one node: stop when ComfyUI's Cancel/Interrupt flag or the
node's own Cancel button is set; report status text every second and an event on each change.
"""

from __future__ import annotations

from ..floyo_client import Hooks, RunUpdate
from . import comfy
from .active_runs import ActiveRun

EVENT = "floyo.run"
OUTAGE_EVENT_S = 5


def reconnecting(update: RunUpdate) -> str | None:
    """"reconnecting… (Ns)" while Floyo is unreachable (N: seconds since the outage began)."""
    if update.reconnecting_s is None:
        return None
    return f"reconnecting… ({update.reconnecting_s:.0f}s)"


def status_text(update: RunUpdate) -> str:
    parts = [f"Floyo: {update.status}", f"{update.elapsed_s:.0f}s"]
    if (outage := reconnecting(update)) is not None:
        parts.insert(1, outage)
    if update.flotime_ms is not None:
        parts.append(f"FloTime {update.flotime_ms / 1000:.1f}s")
    parts.append(update.run_id)
    return " · ".join(parts)


def event_payload(active: ActiveRun, update: RunUpdate) -> dict[str, object]:
    return {"node_id": active.node_id, "prompt_id": active.prompt_id, "run_id": update.run_id,
            "status": update.status, "elapsed_s": round(update.elapsed_s, 1),
            "flotime_ms": update.flotime_ms, "message": reconnecting(update) or update.message,
            "reconnecting_s": None if update.reconnecting_s is None else round(update.reconnecting_s)}


def announce(active: ActiveRun, status: str, message: str | None = None, **extra: object) -> None:
    """An event outside the polling loop (e.g. 'cancelled' with its ``cancel`` outcome, 'saved')."""
    active.status = status
    comfy.send_event(EVENT, {"node_id": active.node_id, "prompt_id": active.prompt_id,
                             "run_id": active.run_id, "status": status, "elapsed_s": None,
                             "flotime_ms": None, "message": message, **extra})


def node_hooks(active: ActiveRun) -> Hooks:
    def should_stop() -> bool:
        return active.cancel.is_set() or comfy.interrupted()

    last_outage: list[int | None] = [None]

    def on_status(update: RunUpdate) -> None:
        comfy.progress_text(status_text(update), active.node_id)
        # an event on each status change, and every few seconds while reconnecting
        outage = None if update.reconnecting_s is None else int(update.reconnecting_s // OUTAGE_EVENT_S)
        if update.status != active.status or outage != last_outage[0]:
            active.status, last_outage[0] = update.status, outage
            comfy.send_event(EVENT, event_payload(active, update))

    return Hooks(should_stop=should_stop, on_status=on_status)
