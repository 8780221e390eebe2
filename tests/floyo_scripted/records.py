"""Runs and files held by the local server, and the per-run status script machine.

Pure state: advancing a script takes the current monotonic time as an argument, and the JSON
shapes come from here so the API and the CDN agree. No HTTP, no locking (the store locks), no
file generation (``images`` does that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from floyo_pack.floyo_client.models import Phase, classify_status
from floyo_pack.floyo_server.wire import file_json, iso_now, node_order

from .scenario import OutputSpec, RunError, Step


def step_phase(step: Step) -> Phase:
    return step.status if isinstance(step.status, Phase) else classify_status(step.status)


@dataclass
class FileRecord:
    """One stored file: a run output or an upload. ``data`` is the exact bytes served."""

    id: str
    file_name: str
    mime_type: str
    data: bytes = field(repr=False)
    input_path: str
    created_at: str = field(default_factory=iso_now)

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    def to_json(self, presigned_url: str | None = None) -> dict[str, Any]:
        return file_json(self.id, self.file_name, self.mime_type, self.size_bytes, self.created_at,
                         self.input_path, presigned_url)


@dataclass
class RunRecord:
    """One run: what the client sent, its status script and where it is in it.

    ``polls`` counts GETs of this run, ``cancels`` cancel requests. ``outputs`` is None until a
    GET first sees the run succeed (the files are generated then); ``[]`` for no outputs.
    """

    id: str
    name: str
    workflow: dict[str, Any] = field(repr=False)
    key: str | None
    script: list[Step]
    output_specs: list[OutputSpec] = field(repr=False)
    failure: RunError
    started: float
    requested_at: str = field(default_factory=iso_now)
    step_index: int = 0
    step_polls: int = 0
    polls: int = 0
    cancels: int = 0
    outputs: list[FileRecord] | None = None
    finished_at: str | None = None

    @property
    def step(self) -> Step:
        return self.script[self.step_index]

    @property
    def phase(self) -> Phase:
        """The run's phase now (as the last GET or cancel left it)."""
        return step_phase(self.step)

    def set_script(self, steps: list[Step], now: float) -> None:
        """Replace the status script (cancel, manual control); starts at its first step."""
        self.script, self.step_index, self.step_polls, self.started = list(steps), 0, 0, now
        self._note_finish()

    def advance(self, now: float, *, by_polls: bool) -> None:
        """Move past finished steps: time-based always, poll-based only when ``by_polls`` (a GET)."""
        while self.step_index < len(self.script) - 1:
            step = self.script[self.step_index]
            limit = step.polls if step.polls is not None else (1 if step.seconds is None else math.inf)
            polls_done = by_polls and self.step_polls >= limit
            time_done = step.seconds is not None and now - self.started >= step.seconds
            if not (polls_done or time_done):
                break
            self.started = self.started + step.seconds if time_done and step.seconds else now
            self.step_index, self.step_polls = self.step_index + 1, 0
        self._note_finish()

    def _note_finish(self) -> None:
        if self.phase.terminal and self.finished_at is None:
            self.finished_at = iso_now()


_PREFIX_INPUT = "filename_prefix"


def save_prefixes(workflow: dict[str, Any]) -> dict[str, str]:
    """``{node_id: prefix}`` of the workflow's save nodes, in node-id order.

    A save node is one whose inputs carry a string ``filename_prefix`` (SaveImage and kin).
    Only the last path component of a prefix is used, as ComfyUI keeps subfolders out of names.
    """
    found = {}
    for node_id, node in workflow.items():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        prefix = inputs.get(_PREFIX_INPUT) if isinstance(inputs, dict) else None
        if isinstance(prefix, str) and prefix.strip("/"):
            found[str(node_id)] = prefix.rstrip("/").rsplit("/", 1)[-1]
    return {k: found[k] for k in sorted(found, key=node_order)}


def output_names(workflow: dict[str, Any], specs: list[OutputSpec], extensions: list[str]) -> list[str]:
    """ComfyUI-style names ``<prefix>_00001_.<ext>``: prefixes from the workflow, else ``Floyo``."""
    prefixes = save_prefixes(workflow)
    order = list(prefixes) or [""]
    counters: dict[str, int] = {}
    names = []
    for i, (spec, ext) in enumerate(zip(specs, extensions, strict=True)):
        if spec.name is not None:
            names.append(spec.name)
            continue
        node = spec.node if spec.node in prefixes else order[i % len(order)]
        prefix = prefixes.get(node, "Floyo")
        counters[prefix] = counters.get(prefix, 0) + 1
        names.append(f"{prefix}_{counters[prefix]:05d}_.{ext}")
    return names
