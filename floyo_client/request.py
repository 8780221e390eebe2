"""What a request is, as its sender describes it to the transport, and what comes back.

Typed values only: the sending, retrying and waiting are ``transport.py``'s. Must not do I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

StopCheck = Callable[[], bool]  # asked at least once a second by every wait: True, stop now


def never_stop() -> bool:
    return False


@dataclass(frozen=True)
class Request:
    """One request, as its sender describes it to the transport: an API call, an upload, or a
    download (``auth`` False: a presigned link carries its own credentials).

    ``idempotent`` False: a create, sent at most once on a fresh connection. ``urgent``: a rate
    slot without queueing (a cancel saves money). ``deadline_s``: the whole call, waits included;
    a wait that would pass it is not started. ``form`` builds a multipart body per attempt.
    ``attempts``, ``deadline_s`` and ``max_bytes`` are read by ``call`` only; ``open`` sends once."""

    method: str
    url: str | URL
    json: Any = None
    params: Mapping[str, str] | None = None
    form: Callable[[], aiohttp.FormData] | None = None
    idempotent: bool = True
    urgent: bool = False
    run_id: str | None = None
    timeout_s: float = 30.0
    attempts: int | None = None
    deadline_s: float | None = None
    max_bytes: int | None = None  # the answer's size cap; None: transport.MAX_JSON_BYTES
    auth: bool = True  # the bearer token (only ever to the configured API and CDN origins)
    headers: Mapping[str, str] | None = None  # besides the User-Agent and the token


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
