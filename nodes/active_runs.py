"""The runs this ComfyUI is waiting on right now, and the Cancel flags that stop them.

Routes run on the server's event loop and nodes on the prompt worker's, so the two share only
``threading`` objects: a route sets a run's ``threading.Event``; the node's runner, which owns
the HTTP session, sees it within a second and sends the remote cancel itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class ActiveRun:
    node_id: str
    prompt_id: str | None
    run_id: str | None = None
    status: str = "starting"
    started: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)

    def as_json(self) -> dict[str, object]:
        return {"node_id": self.node_id, "prompt_id": self.prompt_id, "run_id": self.run_id,
                "status": self.status, "started": self.started,
                "cancel_requested": self.cancel.is_set()}


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: list[ActiveRun] = []

    def start(self, node_id: str, prompt_id: str | None) -> ActiveRun:
        active = ActiveRun(node_id=node_id, prompt_id=prompt_id)
        with self._lock:
            self._runs.append(active)
        return active

    def finish(self, active: ActiveRun) -> None:
        with self._lock:
            if active in self._runs:
                self._runs.remove(active)

    def find(self, *, run_id: str | None = None, node_id: str | None = None,
             prompt_id: str | None = None) -> ActiveRun | None:
        with self._lock:
            for active in reversed(self._runs):
                if run_id and active.run_id != run_id:
                    continue
                if node_id and active.node_id != node_id:
                    continue
                if prompt_id and active.prompt_id != prompt_id:
                    continue
                if run_id or node_id or prompt_id:
                    return active
        return None

    def request_cancel(self, **match: str | None) -> ActiveRun | None:
        active = self.find(**match)
        if active is not None:
            active.cancel.set()
        return active

    def cancel_all(self) -> int:
        with self._lock:
            for active in self._runs:
                active.cancel.set()
            return len(self._runs)

    def count(self) -> int:
        with self._lock:
            return len(self._runs)

    def snapshot(self) -> list[dict[str, object]]:
        with self._lock:
            return [a.as_json() for a in self._runs]


REGISTRY = Registry()
