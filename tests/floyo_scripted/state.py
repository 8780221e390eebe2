"""Shared state of one local server: runs, files, the rate limiter and the URL signer.

One re-entrant lock guards everything, so handlers on the server's loop and a test thread can
both touch it; it is never held across an ``await``. No HTTP here, and no knob parsing: the
scenario is read as given.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from floyo_pack.floyo_client.models import Phase
from floyo_pack.floyo_server.access import FixedWindowLimiter, Signer
from floyo_pack.floyo_server.wire import new_id

from .recorder import Recorder
from .records import FileRecord, RunRecord
from .scenario import Scenario, Step


@dataclass
class Store:
    """Runs, files, limiter, signer and recorder of one server, behind ``lock``."""

    scenario: Scenario
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    limiter: FixedWindowLimiter = field(default_factory=FixedWindowLimiter)
    signer: Signer = field(default_factory=Signer)
    recorder: Recorder = field(default_factory=Recorder)
    cdn_url: str = ""

    def create_run(self, workflow: dict[str, Any], name: str, key: str | None) -> RunRecord:
        """A new run following the scenario's current script, outputs and failure."""
        with self.lock:
            sc = self.scenario
            run = RunRecord(id=new_id("run_"), name=name, workflow=workflow, key=key,
                            script=copy.deepcopy(sc.steps), output_specs=list(sc.outputs),
                            failure=sc.failure, started=self.clock())
            run.advance(run.started, by_polls=False)
            self.runs[run.id] = run
            return run

    def poll_run(self, run_id: str) -> RunRecord | None:
        """Count one GET of the run and move its script on; None if unknown."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is not None:
                run.advance(self.clock(), by_polls=True)
                run.step_polls += 1
                run.polls += 1
            return run

    def list_runs(self, key: str | None, search: str | None, limit: int) -> list[RunRecord]:
        """The key's runs, newest first, whose name contains ``search`` (any when None); a
        listing moves a run's script on by time only, never as a poll would."""
        with self.lock:
            found = [r for r in reversed(self.runs.values())
                     if r.key == key and (not search or search.lower() in r.name.lower())][:limit]
            for run in found:
                run.advance(self.clock(), by_polls=False)
            return found

    def cancel_run(self, run_id: str) -> tuple[RunRecord | None, bool]:
        """Apply a cancel request: ``(run, accepted)``; only a non-terminal run accepts."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is None:
                return None, False
            run.cancels += 1
            run.advance(self.clock(), by_polls=False)
            if run.phase.terminal:
                return run, False
            run.set_script(copy.deepcopy(self.scenario.cancel_steps), self.clock())
            return run, True

    def set_phase(self, run_id: str, status: Phase | str | Step) -> RunRecord:
        """Pin a run at ``status`` (a Phase, word or Step) from now on. Raises KeyError if unknown."""
        with self.lock:
            run = self.runs[run_id]
            run.set_script([status if isinstance(status, Step) else Step(status)], self.clock())
            return run

    def set_steps(self, run_id: str, steps: list[Step]) -> RunRecord:
        """Give a run a new status script, starting now. Raises KeyError if unknown."""
        with self.lock:
            run = self.runs[run_id]
            run.set_script(list(steps), self.clock())
            return run

    def add_file(self, record: FileRecord) -> FileRecord:
        with self.lock:
            self.files[record.id] = record
            return record

    def take(self, knob: str) -> bool:
        """Consume one unit of a count knob on the scenario; True if one was left."""
        with self.lock:
            left = getattr(self.scenario, knob)
            if left == 0:
                return False
            if left > 0:
                setattr(self.scenario, knob, left - 1)
            return True

    def take_first(self, items: list[Any], predicate: Callable[[Any], bool]) -> Any:
        """The first item (fault) with a non-zero ``count`` matching ``predicate``; consumes one."""
        with self.lock:
            for item in list(items):
                if item.count != 0 and predicate(item):
                    if item.count > 0:
                        item.count -= 1
                    return item
            return None

    def rate_limit(self, key: str) -> float | None:
        """Count a request for ``key``; None if allowed, else seconds until its window resets."""
        with self.lock:
            sc = self.scenario
            return self.limiter.hit(key, sc.rate_limit, sc.rate_window_s, self.clock())

    def presigned_url(self, record: FileRecord, expires_in: int) -> str:
        """A signed CDN URL for ``record``, valid ``expires_in`` s (or already expired, per knobs)."""
        sc = self.scenario
        ttl = sc.presign_ttl_s if sc.presign_ttl_s is not None else expires_in
        expires = math.floor(self.wall_clock()) + ttl
        sig = self.signer.sign(record.id, record.file_name, expires)
        return f"{self.cdn_url}/p/{record.id}/{quote(record.file_name)}?expires={expires}&sig={sig}"

    def expired_url(self, record: FileRecord) -> str:
        """A correctly signed URL whose expiry is already a minute in the past."""
        expires = math.floor(self.wall_clock()) - 60
        sig = self.signer.sign(record.id, record.file_name, expires)
        return f"{self.cdn_url}/p/{record.id}/{quote(record.file_name)}?expires={expires}&sig={sig}"
