"""The runs this ComfyUI is waiting on right now, and the Cancel flags that stop them.

Routes run on the server's event loop and nodes on the prompt worker's, so the two share only
``threading`` objects: a route sets a run's ``threading.Event``; the node's runner, which owns
the HTTP session, sees it within a second and sends the remote cancel itself.

The list of runs is copy-on-write: writers build a new tuple under ``_lock`` and swap it in with
one assignment; readers take the current tuple without any lock. That lets the shutdown signal
path (shutdown.py) read it: a signal handler runs on the main thread between two bytecodes,
possibly while a route on that same thread is inside this lock, so taking it there would deadlock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import fanout


@dataclass
class ActiveRun:
    node_id: str
    prompt_id: str | None
    run_id: str | None = None
    status: str = "starting"
    started: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)
    # True for a node that creates its run (FloyoRemoteRun): shutdown cancels those. False for a
    # node that only watches a run by id (FloyoFetchOutputs) and the resume thread.
    creates: bool = False
    # the node's calls in this prompt when ComfyUI fed it a list (fanout.py): stop and count as one
    group: fanout.Group = field(default_factory=fanout.Group)
    counted: list[bool] = field(default_factory=lambda: [False])
    estimate: Any = None  # the run's floyo_client Estimate, for the ETA (estimate.py); None: no history

    def as_json(self) -> dict[str, object]:
        return {"node_id": self.node_id, "prompt_id": self.prompt_id, "run_id": self.run_id,
                "status": self.status, "started": self.started, "creates": self.creates,
                "cancel_requested": self.cancel.is_set(), **self.group.fields()}


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # writers only: two starts at once must not lose one
        self._runs: tuple[ActiveRun, ...] = ()

    def start(self, node_id: str, prompt_id: str | None) -> ActiveRun:
        active = ActiveRun(node_id=node_id, prompt_id=prompt_id, group=fanout.join(prompt_id, node_id))
        with self._lock:
            self._runs = (*self._runs, active)
        return active

    def finish(self, active: ActiveRun) -> None:
        with self._lock:
            self._runs = tuple(a for a in self._runs if a is not active)
        fanout.finished(active.group, active.counted)
        fanout.leave(active.prompt_id, active.node_id, active.group)

    def runs(self) -> tuple[ActiveRun, ...]:
        """The runs being waited on now; lock-free (an immutable tuple), safe in a signal handler."""
        return self._runs

    def find(self, *, run_id: str | None = None, node_id: str | None = None,
             prompt_id: str | None = None) -> ActiveRun | None:
        if not (run_id or node_id or prompt_id):
            return None
        for active in reversed(self._runs):
            if run_id and active.run_id != run_id:
                continue
            if node_id and active.node_id != node_id:
                continue
            if prompt_id and active.prompt_id != prompt_id:
                continue
            return active
        return None

    def request_cancel(self, **match: str | None) -> ActiveRun | None:
        active = self.find(**match)
        if active is not None:
            active.cancel.set()
        return active

    def snapshot(self) -> list[dict[str, object]]:
        return [a.as_json() for a in self._runs]


REGISTRY = Registry()
