"""Credentials in a workflow about to be sent, and the hash that identifies a resolved workflow.

A workflow pasted from elsewhere can carry someone's key in a text widget; sending it to Floyo
would hand it to a third party. ``find_secrets`` looks at every string of the resolved workflow
(after overrides and upload paths) for known key shapes and at every value of an input named like
a credential. A finding names the node and the input, never the value. ``workflow_hash`` is the
identity used to reuse an identical run's saved outputs. Pure functions: must not send, log or
store a value it looks at.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .workflow import Prompt, WorkflowError, is_link

# Key shapes: long enough that ordinary prompt text ("sk-8 style") does not match.
KEY_SHAPES = (
    ("Floyo API key", re.compile(r"\bflo_[A-Za-z0-9_\-]{16,}")),
    ("OpenAI-style key (sk-)", re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}")),
    ("Hugging Face token (hf_)", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    ("GitHub token (ghp_)", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("Slack token (xox…)", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("PEM private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
# Input names whose any non-empty string value is taken as a credential.
# Whole name or its last part: "hf_token", "apiKey", "secret_key"; not "tokenizer" or "max_tokens".
SECRET_NAMES = re.compile(r"(?:^|[_\-])(?:api[_\-]?key|token|secret|secret[_\-]?key|password|passwd"
                          r"|access[_\-]?key)$", re.IGNORECASE)
ALLOW_HINT = ("Remove it from the workflow (or pass it another way), or set allow_secrets to true on "
              "the Floyo node if you mean to send it.")


@dataclass(frozen=True)
class SecretFinding:
    node_id: str
    class_type: str
    input: str
    kind: str  # what it looks like; never the value

    def describe(self) -> str:
        return f"node {self.node_id} ({self.class_type}) input {self.input!r}: {self.kind}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list) and not is_link(value):
        for v in value:
            yield from _strings(v)


def _kind(name: str, value: Any) -> str | None:
    texts = list(_strings(value))
    for label, shape in KEY_SHAPES:
        if any(shape.search(t) for t in texts):
            return label
    if SECRET_NAMES.search(name) and any(t.strip() for t in texts):
        return "a value of an input named like a credential"
    return None


def find_secrets(workflow: Prompt) -> list[SecretFinding]:
    """Every input of ``workflow`` that holds something that looks like a credential."""
    found = []
    for node_id, node in workflow.items():
        for name, value in (node.get("inputs") or {}).items():
            kind = _kind(str(name), value)
            if kind:
                found.append(SecretFinding(str(node_id), str(node.get("class_type")), str(name), kind))
    return found


def refuse_secrets(workflow: Prompt) -> None:
    """WorkflowError naming every node and input that holds a credential (never the value)."""
    found = find_secrets(workflow)
    if found:
        listing = "; ".join(f.describe() for f in found)
        raise WorkflowError(f"The workflow holds what looks like a credential, so nothing was sent to "
                            f"Floyo: {listing}. {ALLOW_HINT}")


def workflow_hash(workflow: Prompt) -> str:
    """A stable identity of a resolved workflow: the same nodes and values give the same hash,
    whatever the key order."""
    text = json.dumps(workflow, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
