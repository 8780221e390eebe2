"""The one channel from the prompt hook to a Floyo node: a ``Split`` or a ``Refusal``, sealed.

ComfyUI gives a node only its inputs, and V3 nodes accept no custom hidden input, so the hook
writes what it decided into the node's ``workflow`` input. To make that text impossible to
confuse with what a user typed or pasted, every message is sealed with an HMAC under a key that
lives only in this process, over its kind and body: ``unseal`` returns the typed message only
for text this process's hook wrote, and None for anything else (widget text, an imitation, a
seal from another ComfyUI, a split replayed as a refusal). Sealing is deterministic, so an
unchanged graph gives the same input and ComfyUI's cache still applies. No ComfyUI, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from ...floyo_client import Prompt

ENVELOPE = "floyo_sealed"
_KEY = secrets.token_bytes(32)  # per process: a seal from another ComfyUI or a pasted one fails


@dataclass(frozen=True)
class Split:
    """The remote part of the graph the hook cut out for this node, for this prompt."""

    workflow: Prompt


@dataclass(frozen=True)
class Refusal:
    """Why the hook refused the prompt: the node's queue-time check fails with ``message``."""

    message: str


Sealed = Split | Refusal
_KINDS = {Split: "split", Refusal: "refused"}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _mac(kind: str, body: Any) -> str:
    return hmac.new(_KEY, _canonical([kind, body]).encode(), hashlib.sha256).hexdigest()


def seal(message: Sealed) -> str:
    """The text the hook writes into the node's ``workflow`` input."""
    kind = _KINDS[type(message)]
    body = message.workflow if isinstance(message, Split) else message.message
    return _canonical({ENVELOPE: {"kind": kind, "body": body, "seal": _mac(kind, body)}})


def unseal(text: object) -> Sealed | None:
    """The message this process's hook sealed into ``text``; None for any other text."""
    try:
        data = json.loads(text) if isinstance(text, str) and ENVELOPE in text else None
    except ValueError:
        return None
    inner = data.get(ENVELOPE) if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        return None
    kind, body, mac = inner.get("kind"), inner.get("body"), inner.get("seal")
    if not (isinstance(kind, str) and isinstance(mac, str) and hmac.compare_digest(mac, _mac(kind, body))):
        return None
    if kind == "split" and isinstance(body, dict):
        return Split(body)
    if kind == "refused" and isinstance(body, str):
        return Refusal(body)
    return None
