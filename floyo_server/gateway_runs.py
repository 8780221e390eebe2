"""Gateway-mode runs: the record of a Floyo run executed by a ComfyUI worker, and the reading of
the worker's queue and history into Floyo's status, error and FloTime.

Pure data and interpretation: no HTTP, no clock, no locking. The worker's shapes (ComfyUI 0.3.x
``/prompt`` errors, ``/queue`` and ``/history`` entries) are read here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..floyo_client import Phase
from .wire import RunError, file_json, iso_now, node_order


@dataclass
class GatewayRun:
    """One run: its owner (``access.owner_of`` its key), its worker prompt and what was last learned about it.

    ``prompt_id`` is None when the worker rejected the prompt (the run is then failed at once).
    Once ``phase`` is terminal it never changes and the worker is not asked again, except once
    for the files of a succeeded run (``outputs_saved`` then). ``titles`` names each node
    (its title, else its type) for the live progress; ``progress`` is never stored.
    """

    id: str
    name: str
    owner: str
    prompt_id: str | None
    phase: Phase = Phase.QUEUED
    error: RunError | None = None
    flotime_ms: int | None = None
    cancel_requested: bool = False
    requested_at: str = field(default_factory=iso_now)
    finished_at: str | None = None
    outputs_saved: bool = False
    titles: dict[str, str] = field(default_factory=dict, repr=False)

    def finish(self, phase: Phase, error: RunError | None = None, flotime_ms: int | None = None) -> None:
        if self.phase.terminal:
            return
        self.phase, self.error, self.flotime_ms = phase, error, flotime_ms
        self.finished_at = iso_now()


@dataclass(frozen=True)
class StoredFile:
    """A run's output or an upload, as the gateway keeps it: where it is on the worker
    (``/view?filename=&subfolder=&type=``), never its bytes."""

    id: str
    owner: str
    run_id: str | None
    file_name: str
    mime_type: str
    size_bytes: int
    input_path: str
    filename: str
    subfolder: str
    kind: str
    created_at: str = field(default_factory=iso_now)

    def to_json(self, presigned_url: str | None = None) -> dict[str, Any]:
        return file_json(self.id, self.file_name, self.mime_type, self.size_bytes, self.created_at,
                         self.input_path, presigned_url)


def node_titles(workflow: dict[str, Any]) -> dict[str, str]:
    """``{node_id: title or class_type}``: the name the live progress shows for a node."""
    titles = {}
    for node_id, node in workflow.items():
        if isinstance(node, dict):
            meta = node.get("_meta") if isinstance(node.get("_meta"), dict) else {}
            name = meta.get("title") or node.get("class_type")
            if isinstance(name, str) and name:
                titles[str(node_id)] = name[:80]
    return titles


@dataclass(frozen=True)
class FileRef:
    """One file in a worker's history: ``/view?filename=&subfolder=&type=`` fetches it."""

    filename: str
    subfolder: str
    kind: str  # output, temp

    @property
    def input_path(self) -> str:
        """The worker's annotated name (``sub/name.png [output]``), accepted by its LoadImage."""
        path = f"{self.subfolder}/{self.filename}" if self.subfolder else self.filename
        return f"{path} [{self.kind}]"


def _messages(entry: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    found = []
    for message in status.get("messages") or ():
        if isinstance(message, list) and len(message) == 2 and isinstance(message[1], dict):
            found.append((str(message[0]), message[1]))
    return found


def execution_ms(entry: dict[str, Any]) -> int | None:
    """Milliseconds from ``execution_start`` to the prompt's last message (ComfyUI timestamps)."""
    stamps = {name: data.get("timestamp") for name, data in _messages(entry)}
    start = stamps.get("execution_start")
    ends = [stamps.get(n) for n in ("execution_success", "execution_error", "execution_interrupted")]
    end = next((t for t in ends if isinstance(t, int)), None)
    if not isinstance(start, int) or end is None:
        return None
    return max(end - start, 0)


def _node_error(data: dict[str, Any]) -> RunError:
    node = str(data.get("node_id") or "") or None
    kind = data.get("node_type") or "node"
    text = str(data.get("exception_message") or data.get("exception_type") or "failed").strip()
    message = f"{kind} failed: {text}"
    return RunError(type="execution", message=message, node_id=node)


def from_history(entry: dict[str, Any], cancel_requested: bool) -> tuple[Phase, RunError | None] | None:
    """The terminal phase (and failure) a finished history entry shows; None while unfinished."""
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    word = status.get("status_str")
    if word == "success":  # also when a cancel came too late to stop it: the outputs exist
        return Phase.SUCCEEDED, None
    if word != "error":
        return None
    messages = dict(_messages(entry))
    if "execution_interrupted" in messages or (cancel_requested and "execution_error" not in messages):
        return Phase.CANCELLED, None
    if "execution_error" in messages:
        return Phase.FAILED, _node_error(messages["execution_error"])
    return Phase.FAILED, RunError(type="execution", message="The ComfyUI worker reported an error",
                                  node_id=None)


def rejection_error(body: dict[str, Any]) -> RunError:
    """A RunError from the worker's ``POST /prompt`` 400 body (validation failed)."""
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    head = str(err.get("message") or "The ComfyUI worker rejected the workflow")
    details = str(err.get("details") or "").strip()
    node_errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else {}
    parts, first = [], None
    for node_id in sorted(node_errors, key=lambda n: node_order(str(n))):
        info = node_errors[node_id] if isinstance(node_errors[node_id], dict) else {}
        first = first or str(node_id)
        for problem in info.get("errors") or ():
            if isinstance(problem, dict):
                text = problem.get("message") or problem.get("type") or "invalid"
                extra = f": {problem['details']}" if problem.get("details") else ""
                parts.append(f"node {node_id} ({info.get('class_type', '?')}): {text}{extra}")
    message = "; ".join([head + (f": {details}" if details else ""), *parts])
    return RunError(type="validation", message=message, node_id=first)


def with_versions(error: RunError, worker: str | None, client: str | None) -> RunError:
    """A validation error that names the ComfyUI releases involved: a client newer (or older) than
    the worker sends node inputs the worker's release does not know (0.33's SaveVideo ``format.codec``
    on a 0.3.75 worker: "Required input is missing: codec"). README, "Version skew"."""
    if not worker:
        return error
    note = f"the worker runs ComfyUI {worker}"
    if client and client != worker:
        note += (f" and the ComfyUI that sent this workflow is {client}: nodes whose inputs changed "
                 "between the two releases fail validation; run the same ComfyUI release on both")
    elif client:
        note += ", the same release as the ComfyUI that sent this workflow"
    return RunError(type=error.type, message=f"{error.message} ({note})", node_id=error.node_id)


def partial_error(node_errors: dict[str, Any], workflow: dict[str, Any]) -> RunError:
    """A RunError for a prompt the worker accepted only in part (``/prompt`` 200 with node errors:
    ComfyUI runs the outputs that validate and drops the others), naming the dropped outputs."""
    dropped = sorted({str(o) for info in node_errors.values() if isinstance(info, dict)
                      for o in info.get("dependent_outputs") or ()}, key=node_order)
    names = ", ".join(f"{o} ({(workflow.get(o) or {}).get('class_type', '?')})" for o in dropped)
    head = (f"Output node(s) {names or '?'} failed validation on the ComfyUI worker, so the run was "
            "stopped instead of returning only the other outputs")
    found = rejection_error({"error": {"message": head}, "node_errors": node_errors})
    return RunError(type="validation", message=found.message, node_id=found.node_id)


def output_refs(entry: dict[str, Any]) -> list[FileRef]:
    """Every file an output node reported (SaveImage ``images``, animated ``gifs``, ...), by node id."""
    outputs = entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {}
    refs = []
    for node_id in sorted(outputs, key=lambda n: node_order(str(n))):
        ui = outputs[node_id] if isinstance(outputs[node_id], dict) else {}
        for items in ui.values():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    refs.append(FileRef(filename=item["filename"], subfolder=str(item.get("subfolder") or ""),
                                        kind=str(item.get("type") or "output")))
    return refs
