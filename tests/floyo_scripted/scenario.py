"""Knobs of the local Floyo-compatible server: what runs do, which faults fire, what files look like.

Plain mutable dataclasses that tests edit between calls. This module holds data and tiny helpers
only: no I/O, no HTTP, no clock. Count knobs (``count``, ``create_drop_connection``,
``expired_links``) are consumed by the server, one per matching request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from floyo_pack.floyo_client.models import VOCABULARIES, Phase
from floyo_pack.floyo_server.wire import RunError as FloyoRunError

# Words translated through the vocabulary switch; any other word is emitted verbatim.
_DOCS_WORDS = {word: phase for phase, word in VOCABULARIES["docs"].items()}


@dataclass(frozen=True)
class Step:
    """One stage of a run's status script.

    ``status`` is a Phase or a word. A Phase, or a docs word ("queued", "processing", "done",
    "failed", "cancelled"), is emitted in the scenario's vocabulary; any other word
    ("complete", "warming_up", "insufficient_balance") is emitted verbatim. The stage lasts
    ``polls`` GETs of the run and/or ``seconds`` of wall time, whichever ends first; a stage
    with neither lasts one GET. The last step of a script never ends.
    """

    status: Phase | str
    polls: int | None = None
    seconds: float | None = None

    def word(self, vocabulary: str) -> str:
        """The status word this step shows under ``vocabulary`` ("docs" or "alt")."""
        phase = self.status if isinstance(self.status, Phase) else _DOCS_WORDS.get(self.status)
        if phase is None or phase is Phase.UNKNOWN:
            return str(self.status)
        return VOCABULARIES[vocabulary][phase]


@dataclass(frozen=True)
class OutputSpec:
    """One generated output file. Equal specs give identical bytes (cached per process).

    ``format``: png, jpeg, webp, gif, tiff, avif (images) or txt, bin. ``size`` defaults to 64x64, or to
    30000x30000 with ``bomb`` (a tiny PNG whose header declares that size). ``frames`` > 1 makes
    an animated png/webp/gif. ``exif_orientation`` (3, 6, 8) writes an EXIF Orientation tag.
    ``corrupt`` keeps a valid signature but damages the data. ``nbytes`` sizes txt/bin files.
    ``name`` replaces the generated ``<prefix>_00001_.<ext>``; ``node`` picks which SaveImage
    node's ``filename_prefix`` names this output (default: round-robin over those nodes).
    """

    format: str = "png"
    mode: str = "RGB"
    size: tuple[int, int] | None = None
    frames: int = 1
    exif_orientation: int | None = None
    corrupt: bool = False
    bomb: bool = False
    name: str | None = None
    nbytes: int | None = None
    seed: int = 0
    node: str | None = None

    @property
    def resolved_size(self) -> tuple[int, int]:
        if self.size is not None:
            return self.size
        return (30000, 30000) if self.bomb else (64, 64)


@dataclass(frozen=True)
class RunError(FloyoRunError):
    """The ``error`` object of a failed run: ``{type, message, details: {node_id}}``."""

    type: str = "execution"
    message: str = "Node 9 (KSampler) failed: out of memory"
    node_id: str | None = "9"


def rule_matches(rule: Any, method: str, path: str, origin: str) -> bool:
    """Whether a scripted rule (``count``, ``method``, ``path`` regex, ``origin``; None = any)
    applies to a request; a spent rule (``count`` 0) never does."""
    if rule.count == 0:
        return False
    if rule.method is not None and rule.method.upper() != method.upper():
        return False
    if rule.origin is not None and rule.origin != origin:
        return False
    return re.search(rule.path, path) is not None


@dataclass
class Fault:
    """Answer the next ``count`` requests matching method + path regex with a canned response.

    ``path`` is a regex searched in the request path; ``method``/``origin`` None match any.
    ``status`` None means "no canned answer": only wait ``delay_s``, then serve normally.
    Faults are checked before auth and the rate limiter. ``count`` < 0 never runs out.
    """

    method: str | None = None
    path: str = ".*"
    status: int | None = 500
    body: Any = field(default_factory=lambda: {"error": "Internal Server Error",
                                               "message": "Failed to create run"})
    count: int = 1
    retry_after: str | int | None = None
    origin: str | None = None
    delay_s: float = 0.0

    def matches(self, method: str, path: str, origin: str) -> bool:
        return rule_matches(self, method, path, origin)


@dataclass
class DownloadFault:
    """Break the next ``count`` file downloads (any byte-serving route in ``where``).

    ``kind``: "stall" sends ``after_bytes`` then hangs ``stall_s`` seconds before the rest;
    "truncate" sends ``after_bytes`` under a full Content-Length and closes the connection;
    "reset" does the same with a TCP reset; "trickle" sends ``after_bytes`` then one byte a second
    (a link that never goes quiet but is useless). ``where`` holds "presigned", "bearer", "other".
    """

    kind: str = "stall"
    after_bytes: int = 1024
    stall_s: float = 30.0
    count: int = 1
    where: frozenset[str] = frozenset({"presigned", "bearer", "other"})


def _default_steps() -> list[Step]:
    return [Step(Phase.QUEUED, polls=1), Step(Phase.RUNNING, polls=1), Step(Phase.SUCCEEDED)]


@dataclass
class Scenario:
    """Everything a test can script. ``steps``, ``cancel_steps``, ``outputs`` and ``failure`` are
    copied into each run when it is created; every other knob is read live on each request."""

    steps: list[Step] = field(default_factory=_default_steps)
    cancel_steps: list[Step] = field(default_factory=lambda: [Step(Phase.CANCELLED)])
    outputs: list[OutputSpec] = field(default_factory=lambda: [OutputSpec()])
    failure: RunError = field(default_factory=RunError)
    vocabulary: str = "docs"
    flotime_ms: int | None = 48210  # reported on a finished run, as Floyo's docs promise
    flotime_live: bool = False  # True: also while processing (an answer the docs do not promise)
    partner_nodes_cost_usd: float | None = None
    noisy_success_error: bool = False
    allowed_class_types: frozenset[str] | None = None
    rate_limit: int = 100
    rate_window_s: float = 60.0
    rate_limit_retry_after: bool = False
    faults: list[Fault] = field(default_factory=list)
    create_drop_connection: int = 0
    # the next creates (one text each) make their run but answer 200 with this text instead
    garbled_creates: list[str] = field(default_factory=list)
    download_faults: list[DownloadFault] = field(default_factory=list)
    expired_links: int = 0
    presign_ttl_s: int | None = None
    redirect_downloads: bool = False
    run_list: bool = True  # GET /runs?search= (unconfirmed on Floyo); False: 404, as without it
    # False: the list ignores ``ids`` and ``search`` and pages the key's newest runs (output URLs
    # included when expanded), as a real list without those filters would answer 200
    run_list_filters: bool = True
    range_requests: bool = True  # the CDN honours Range (off: no Accept-Ranges, always 200)
    balance_flotime_ms: int = 4_080_000
    balance_partner_usd: float = 25.5
    # how answers travel: a Realism from tests/floyo_scripted/realism.py; None: as they are
    realism: Any = None

    def __post_init__(self) -> None:
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(f"vocabulary must be one of {sorted(VOCABULARIES)}")
        if not self.steps:
            raise ValueError("steps must not be empty")


def parse_steps(text: str) -> list[Step]:
    """Parse the CLI form ``queued:1s,processing:3,done`` (``Ns`` seconds, ``N`` polls)."""
    steps = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        word, _, amount = part.partition(":")
        if not amount:
            steps.append(Step(word))
        elif amount.endswith("s"):
            steps.append(Step(word, seconds=float(amount[:-1])))
        else:
            steps.append(Step(word, polls=int(amount)))
    if not steps:
        raise ValueError("no steps given")
    return steps
