"""What the user sees while a run is live: the node's status text and ``floyo.run`` events.

Builds the core's ``Hooks`` for one node: stop when ComfyUI's Cancel/Interrupt flag or the
node's own Cancel button is set; report status text every second and an event on each change.
"""

from __future__ import annotations

from ..floyo_client import Hooks, RunUpdate
from . import comfy
from .active_runs import ActiveRun

EVENT = "floyo.run"


def status_text(update: RunUpdate) -> str:
    parts = [f"Floyo: {update.status}", f"{update.elapsed_s:.0f}s"]
    if update.flotime_ms is not None:
        parts.append(f"FloTime {update.flotime_ms / 1000:.1f}s")
    parts.append(update.run_id)
    return " · ".join(parts)


def event_payload(active: ActiveRun, update: RunUpdate) -> dict[str, object]:
    return {"node_id": active.node_id, "prompt_id": active.prompt_id, "run_id": update.run_id,
            "status": update.status, "elapsed_s": round(update.elapsed_s, 1),
            "flotime_ms": update.flotime_ms, "message": update.message}


def announce(active: ActiveRun, status: str, message: str | None = None, **extra: object) -> None:
    """An event outside the polling loop (e.g. 'cancelled' with its ``cancel`` outcome, 'saved')."""
    active.status = status
    comfy.send_event(EVENT, {"node_id": active.node_id, "prompt_id": active.prompt_id,
                             "run_id": active.run_id, "status": status, "elapsed_s": None,
                             "flotime_ms": None, "message": message, **extra})


def node_hooks(active: ActiveRun) -> Hooks:
    def should_stop() -> bool:
        return active.cancel.is_set() or comfy.interrupted()

    def on_status(update: RunUpdate) -> None:
        comfy.progress_text(status_text(update), active.node_id)
        if update.status != active.status:
            active.status = update.status
            comfy.send_event(EVENT, event_payload(active, update))

    return Hooks(should_stop=should_stop, on_status=on_status)
