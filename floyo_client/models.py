"""The Floyo API's shapes: run and file objects, status vocabularies and wire constants.

Parsing is tolerant (unknown fields kept in ``raw``, both status vocabularies accepted) because
the public docs are incomplete (see docs/floyo-api.md). The local Floyo-compatible server
imports these constants too, so the API's shapes are defined once. No I/O here.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .media import is_image, kind_of

# Match with ``fullmatch``: ``$`` also matches before a trailing newline, and an id names a
# folder and a URL path, so "run_x\n" must never pass. ``\Z`` keeps a stray ``.match`` safe too.
RUN_ID_RE = re.compile(r"run_[A-Za-z0-9]+\Z")
FILE_ID_RE = re.compile(r"file_[A-Za-z0-9]+\Z")

# docs/floyo-api.md, "Links and expiry": the official client sends the dot form.
EXPAND_RUN_OUTPUT_URLS = "outputs.presigned_url"
EXPAND_FILE_URL = "presigned_url"
# Runs: 30-84600 s works (docs/floyo-api.md, "Links and expiry"); files: 30-604800.
RUN_URL_EXPIRY_RANGE_S = (30, 84600)
FILE_URL_EXPIRY_RANGE_S = (30, 604800)
# Deeper than any Floyo answer nests (a run object with its outputs is 4 deep). Anything deeper
# is unreadable: the parser would exhaust Python's stack ([[[[…), and a shallower but still deep
# answer would do so later in code that walks it (a run's JSON shown with indent).
MAX_JSON_DEPTH = 64


class Phase(enum.Enum):
    """Where a run is in its life, whatever word the API used for it."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a word we have never seen: treated as still running

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


_PHASE_BY_WORD = {
    **dict.fromkeys(("queued", "pending", "created", "submitted", "waiting"), Phase.QUEUED),
    **dict.fromkeys(("processing", "running", "in_progress", "started"), Phase.RUNNING),
    **dict.fromkeys(("done", "complete", "completed", "succeeded", "success"), Phase.SUCCEEDED),
    **dict.fromkeys(("cancelled", "canceled"), Phase.CANCELLED),
    **dict.fromkeys(
        ("failed", "error", "insufficient_balance", "insufficient_api_credits"), Phase.FAILED
    ),
}
BILLING_STATUSES = frozenset({"insufficient_balance", "insufficient_api_credits"})

# The two vocabularies seen in the wild (docs/floyo-api.md, "Statuses"): the docs/official demo, and the one
# third-party clients observed. The local server emits either; the client accepts both.
VOCABULARIES: dict[str, dict[Phase, str]] = {
    "docs": {Phase.QUEUED: "queued", Phase.RUNNING: "processing", Phase.SUCCEEDED: "done",
             Phase.FAILED: "failed", Phase.CANCELLED: "cancelled"},
    "alt": {Phase.QUEUED: "queued", Phase.RUNNING: "processing", Phase.SUCCEEDED: "complete",
            Phase.FAILED: "failed", Phase.CANCELLED: "canceled"},
}


def classify_status(word: object) -> Phase:
    """Map a raw status word to a Phase; unknown words are UNKNOWN (still running)."""
    if not isinstance(word, str):
        return Phase.UNKNOWN
    return _PHASE_BY_WORD.get(word.strip().lower(), Phase.UNKNOWN)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_TITLE_RE = re.compile(r"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)


def _page_title(text: str) -> str | None:
    """An HTML error page (a proxy's or Cloudflare's 52x page) as its title, not its markup."""
    if "<html" not in text[:500].lower():
        return None
    found = _TITLE_RE.search(text[:20000])
    title = " ".join(found.group(1).split()) if found else ""
    return f"an HTML error page: {title}" if title else "an HTML error page"


def error_text(body: object) -> str | None:
    """The human message of an error-ish object, in the order of docs/floyo-api.md, "Errors"."""
    if isinstance(body, str):
        return _page_title(body) or body.strip()[:500] or None
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if isinstance(err, dict) and _str_or_none(err.get("message")):
        return err["message"]
    if _str_or_none(body.get("message")):
        return body["message"]
    if _str_or_none(err):
        return err
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        parts = [error_text(e) if isinstance(e, dict) else str(e) for e in errors[:5]]
        return "; ".join(p for p in parts if p) or None
    return None


def decode_answer(raw: bytes) -> Any:
    """An answer body as JSON; an unreadable one (not JSON, or nested deeper than
    ``MAX_JSON_DEPTH``) as the start of its text, which no caller takes for a run or a list."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: [[[[… deeper than the parser's stack
        value = None
    else:
        if _nested_within(value, MAX_JSON_DEPTH):
            return value
    return raw.decode("utf-8", "replace")[:2000]


def _nested_within(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return False
                stack.append((child, depth + 1))
    return True


def listed_items(body: object) -> list[Any]:
    """The items of a list answer: a bare list, or the list under ``data``, ``runs`` or ``items``."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "runs", "items"):
            if isinstance(body.get(key), list):
                return body[key]
    return []


@dataclass(frozen=True)
class RunOutput:
    """One output file of a run (a Floyo file object)."""

    id: str
    file_name: str
    mime_type: str | None = None
    size_bytes: int | None = None
    presigned_url: str | None = field(default=None, repr=False)  # a credential: keep out of repr
    input_path: str | None = None

    @classmethod
    def from_json(cls, body: object) -> RunOutput | None:
        """Parse one output; None when it has neither an id nor a file name."""
        if not isinstance(body, dict):
            return None
        file_id = _str_or_none(body.get("id")) or ""
        name = _str_or_none(body.get("file_name")) or _str_or_none(body.get("filename")) or ""
        if not file_id and not name:
            return None
        return cls(id=file_id, file_name=name or file_id,
                   mime_type=_str_or_none(body.get("mime_type")),
                   size_bytes=_int_or_none(body.get("size_bytes")),
                   presigned_url=_str_or_none(body.get("presigned_url")),
                   input_path=_str_or_none(body.get("input_path")))

    @property
    def kind(self) -> str:
        """``image``, ``video``, ``audio`` or ``file`` (``media.kind_of``)."""
        return kind_of(self.file_name, self.mime_type)

    @property
    def is_image(self) -> bool:
        """Whether the node decodes this output into its IMAGE batch (``media.is_image``)."""
        return is_image(self.file_name, self.mime_type)


@dataclass(frozen=True)
class Run:
    """A run as last seen; ``raw`` keeps every field, including ones we do not know."""

    id: str
    status: str
    name: str | None = None
    flotime_ms: int | None = None
    outputs: tuple[RunOutput, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def phase(self) -> Phase:
        return classify_status(self.status)

    @property
    def is_billing_failure(self) -> bool:
        return self.status in BILLING_STATUSES

    @property
    def error_message(self) -> str | None:
        """Floyo's failure detail, if any. Never decides success on its own (docs/floyo-api.md, "Errors")."""
        return error_text({k: self.raw.get(k) for k in ("error", "message", "errors")})

    @property
    def progress_text(self) -> str | None:
        """``"KSampler 7/20"`` from a gateway's optional ``progress: {node, value, max}``
        (docs/floyo-api.md, "Live progress"); None when absent or malformed, as on Floyo."""
        step = self.raw.get("progress")
        if not isinstance(step, dict):
            return None
        node, value, most = step.get("node"), _int_or_none(step.get("value")), _int_or_none(step.get("max"))
        if value is None or most is None or not 0 <= value <= most or most <= 0:
            return None
        name = " ".join(str(node).split())[:60] if isinstance(node, (str, int)) else ""
        return f"{name} {value}/{most}".strip()

    @classmethod
    def from_json(cls, body: object, *, status: str = "queued") -> Run:
        """Parse a run object. Raises ValueError when there is no usable run id."""
        if not isinstance(body, dict):
            raise ValueError("run body is not a JSON object")
        run_id = body.get("id") or body.get("run_id") or body.get("runId")
        if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
            raise ValueError("run body has no valid run id")
        word = body.get("status")
        outputs = body.get("outputs")
        parsed = [RunOutput.from_json(o) for o in outputs] if isinstance(outputs, list) else []
        return cls(id=run_id,
                   status=word.strip().lower() if isinstance(word, str) else status,
                   name=_str_or_none(body.get("name")),
                   flotime_ms=_int_or_none(body.get("flotime_ms")),
                   outputs=tuple(o for o in parsed if o is not None),
                   raw=dict(body))
