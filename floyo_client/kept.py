"""What ran, kept: the exact workflow a run sent and the UI workflow it came from, made safe to
store and compressed for the journal (``GET /floyo/runs/<id>/workflow`` reads them back).

Never stores a credential. What credentials.py refuses to send stays refused here too: a run sent
with ``allow_secrets`` keeps its workflow with each such input replaced by ``REMOVED``, and any
string of either workflow that has a key's shape, holds one of those values, or holds the API
key itself is replaced the same way (the UI workflow keeps widget values in lists, where input
names are not known, so it is scrubbed by value and shape). Pure functions: no I/O, no logging of
a value.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from .credentials import KEY_SHAPES, find_secrets
from .workflow import Prompt

REMOVED = "<removed by Floyo: looks like a credential>"
MAX_KEPT_BYTES = 4 * 1024 * 1024  # compressed; a larger workflow (pasted base64 images) is not kept
_MIN_SECRET_CHARS = 6  # shorter values are not matched by value (they would blank ordinary words)


def _secret_values(workflow: Prompt) -> tuple[Prompt, set[str]]:
    """``workflow`` with the inputs credentials.py flags replaced, and the string values removed."""
    values: set[str] = set()
    safe = dict(workflow)
    for finding in find_secrets(workflow):
        node = workflow.get(finding.node_id)
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if isinstance(inputs, dict) and finding.input in inputs:
            value = inputs[finding.input]
            values |= {v for v in _strings(value) if len(v) >= _MIN_SECRET_CHARS}
            safe[finding.node_id] = {**node, "inputs": {**inputs, finding.input: REMOVED}}
        elif isinstance(node, dict) and finding.input.startswith("_meta"):
            values |= {v for v in _strings(node.get("_meta")) if len(v) >= _MIN_SECRET_CHARS}
            safe[finding.node_id] = {k: v for k, v in node.items() if k != "_meta"}
    return safe, values


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _scrub(value: Any, secrets: set[str]) -> Any:
    """``value`` with every string that has a key's shape or holds a secret replaced by REMOVED;
    dict keys that do are dropped with their value."""
    if isinstance(value, str):
        bad = any(s in value for s in secrets) or any(shape.search(value) for _, shape in KEY_SHAPES)
        return REMOVED if bad else value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items() if _scrub(str(k), secrets) != REMOVED}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def _pack(value: Any) -> bytes | None:
    blob = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)
    return blob if len(blob) <= MAX_KEPT_BYTES else None


def keep(sent: Prompt, ui_workflow: Any = None,
         api_key: str | None = None) -> tuple[bytes | None, bytes | None]:
    """The sent workflow and the UI workflow (a dict, or None), scrubbed and compressed for the
    journal; None for one that is absent or too large."""
    safe, secrets = _secret_values(sent)
    if api_key:
        secrets.add(api_key)
    ui = _pack(_scrub(ui_workflow, secrets)) if isinstance(ui_workflow, dict) else None
    return _pack(_scrub(safe, secrets)), ui


def unpack(blob: Any) -> Any:
    """A kept workflow back as JSON data; None for nothing kept or a blob that does not read."""
    if not isinstance(blob, (bytes, bytearray)) or not blob:
        return None
    try:
        return json.loads(zlib.decompress(bytes(blob)))
    except (zlib.error, ValueError):
        return None
