"""Credentials in a workflow about to be sent: found, and the run refused, before it leaves.

A workflow pasted from elsewhere can carry someone's key in a text widget; sending it to Floyo
would hand it to a third party. ``find_secrets`` looks at every string of the resolved workflow
(after overrides and upload paths, with the input names, ``_meta`` and ids) for known key shapes,
and at every value of an input named like a credential (see ``SECRET_WORDS``). A finding names the
node and the input, never the value, and never a name or title that is itself a key. Pure
functions: must not send, log or store a value it looks at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .workflow import Prompt, WorkflowError, is_link

# Key shapes: long enough that ordinary prompt text ("sk-8 style", "a bearer of news") does not match.
KEY_SHAPES = (
    ("Floyo API key", re.compile(r"\b(?i:flo_)[A-Za-z0-9_\-]{16,}")),  # FLO_… too: keys get upper-cased
    ("OpenAI-style key (sk-)", re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}")),
    ("Stripe secret key (sk_live_…)", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("Google API key (AIza…)", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*")),
    ("bearer token", re.compile(r"\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}")),
    ("Hugging Face token (hf_)", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    ("GitHub token (ghp_)", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("Slack token (xox…)", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("PEM private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
# An input name is read as words, camelCase split ("apiToken" -> api token, "HF_TOKEN" -> hf token),
# and judged by its last word, so "tokenizer", "max_tokens", "token_count" and "keyframes" are not
# credentials. These last words make any non-empty string value a credential:
SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "passphrase", "credential", "credentials",
                          "auth", "authorization", "apikey", "accesskey", "secretkey", "privatekey"})
# ...and so does "key" after one of these ("api_key", "private_key", "x-api-key", "AccessKey").
KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "auth", "ssh", "signing", "client",
                            "encryption", "service", "account", "master", "subscription"})
# A bare "key" (or "sort_key", "dict_key") is ambiguous: dictionary and lookup nodes take words
# like "prompt" or "width" there. Its value counts only when it looks generated: 16+ characters of a
# key alphabet, no spaces or dots (so not a file name), letters and digits both.
_GENERATED = re.compile(r"(?=[^0-9]*[0-9])(?=[^A-Za-z]*[A-Za-z])[A-Za-z0-9_\-+/=]{16,}")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
ALLOW_HINT = ("Remove it from the workflow (or pass it another way), or set allow_secrets to true on "
              "the Floyo node if you mean to send it.")
_HIDDEN = "<hidden: looks like a credential>"


@dataclass(frozen=True)
class SecretFinding:
    node_id: str
    class_type: str
    input: str  # the input's name, or where in the node ("_meta", "an input's name"); never the value
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


def _shape(texts: list[str]) -> str | None:
    for label, shape in KEY_SHAPES:
        if any(shape.search(t) for t in texts):
            return label
    return None


def name_words(name: str) -> list[str]:
    """``"userPassword"`` -> ``["user", "password"]``; ``"HF_TOKEN"`` -> ``["hf", "token"]``."""
    return [w.lower() for w in _WORDS.findall(name)]


def _name_kind(name: str, texts: list[str]) -> str | None:
    words = name_words(name)
    if not words or not any(t.strip() for t in texts):
        return None
    last, before = words[-1], words[-2] if len(words) > 1 else ""
    if last in SECRET_WORDS or (last == "key" and before in KEY_QUALIFIERS):
        return "a value of an input named like a credential"
    if last == "key" and any(_GENERATED.fullmatch(t.strip()) for t in texts):
        return "a generated-looking value of an input named key"
    return None


def _kind(name: str, value: Any) -> str | None:
    texts = list(_strings(value))
    return _shape(texts) or _name_kind(name, texts)


def _node_findings(node_id: str, node: dict[str, Any]) -> Iterator[SecretFinding]:
    class_type = str(node.get("class_type"))
    shown_id = _HIDDEN if _shape([node_id]) else node_id  # a label that is itself a key is not echoed
    shown_type = _HIDDEN if _shape([class_type]) else class_type
    for name, value in (node.get("inputs") or {}).items():
        if kind := _shape([str(name)]):
            yield SecretFinding(shown_id, shown_type, "an input's name", kind)
        elif kind := _kind(str(name), value):
            yield SecretFinding(shown_id, shown_type, str(name), kind)
    if kind := _shape(list(_strings(node.get("_meta")))):
        yield SecretFinding(shown_id, shown_type, "_meta (title)", kind)
    if shown_id is _HIDDEN or shown_type is _HIDDEN:
        yield SecretFinding(shown_id, shown_type, "its id or class_type", "a key shape")


def find_secrets(workflow: Prompt) -> list[SecretFinding]:
    """Every input of ``workflow`` that holds something that looks like a credential."""
    found: list[SecretFinding] = []
    for node_id, node in workflow.items():
        if isinstance(node, dict):
            found.extend(_node_findings(str(node_id), node))
    return found


def refuse_secrets(workflow: Prompt) -> None:
    """WorkflowError naming every node and input that holds a credential (never the value)."""
    found = find_secrets(workflow)
    if found:
        listing = "; ".join(f.describe() for f in found)
        raise WorkflowError(f"The workflow holds what looks like a credential, so nothing was sent to "
                            f"Floyo: {listing}. {ALLOW_HINT}")
