"""Network-realism knobs of the local server: make loopback answers look like the internet's.

Set them per test through the scenario: ``server.update(realism=Realism(...))`` or
``server.realism = Realism.internet()`` (``ServerThread`` forwards both). The default
``Realism()`` is off: every answer goes out in one write, as before. The knobs apply to every
origin listed in ``origins`` (API, CDN, other host; gateway mode too when set there).

Shaping (every answer of a shaped origin; answers already streamed by a handler, such as the
CDN's download faults, pass through untouched):

* ``latency_s`` (+ seeded ``jitter_s``): wait before the request is handled, so headers leave
  that much later. Models one round trip. ``handshake_s`` adds a wait to the first request of
  each new connection (the TCP/TLS handshake round trips, which loopback makes free).
* ``pieces``: the body leaves in at least this many writes (seeded random cut points), with
  ``piece_delay_s`` between writes; ``max_piece_bytes`` (0 = no cap) splits large bodies more.
* ``chunked``: ``Transfer-Encoding: chunked`` instead of ``Content-Length``.
* ``gzip``: ``Content-Encoding: gzip`` for JSON/text/HTML answers when the request accepts gzip
  (aiohttp clients do). Images and other bytes are sent as they are, like a CDN does.
* ``bandwidth_bps``: bytes per second, downstream only. ``bandwidth_scope="shared"`` (default)
  is one link for all origins and connections of the server (a FIFO pacer, kept on this
  ``Realism``: assigning a new one starts an idle link); ``"connection"`` paces each answer on
  its own (HTTP/1.1 sends one answer at a time per connection).

Faults (each matched by method / path regex (``re.search``) / origin; ``count`` < 0 never runs
out, as for ``Fault``):

* ``resets``: ``Reset(after_bytes=N, count=K)`` sends the headers and N body bytes (as sent on
  the wire, always short of the whole body) of the next K matching answers, then a TCP RST.
  The handler has run: a cut ``POST /runs`` answer still created its run.
* ``pages``: ``CloudflarePage(status=520, count=K)`` answers the next K matching requests with
  Cloudflare's HTML error page (``text/html``, ``Server: cloudflare``), never reaching the handler.
* ``outages``: ``Outage(seconds=6, kind="reset"|"page"|"hang", status=520)`` fails every
  matching request for ``seconds`` of the server's clock, as a TCP RST before any answer (after
  the latency), as a Cloudflare page, or by holding the request unanswered until the window
  closes and then resetting it (a client's own timeout fires first: a timeout outage). The
  window opens at the first request it sees (or set ``start`` to a clock value;
  ``server.start_outage(...)`` opens one now). Afterwards it is inert.

Late bodies (matched the same way; ``count`` < 0, the default, never runs out):

* ``late_bodies``: ``LateBody(seconds=N)`` sends the headers of each matching answer at once
  and its first body byte ``seconds`` later (a busy origin, a cold object store): the silence
  a client meets *after* the status line, which ``latency_s`` (silence before it) never shows.
  The answer is recorded with ``late_s``.

``Realism.internet()`` is the light profile the e2e suites run under by default (the
e2e ``floyo`` fixture resets to it each test). Lists may be appended to from a test thread while
the server runs; counts are consumed under the server's lock. HTTPS is separate:
``ScriptedServer(tls=True)`` / ``ServerThread(tls=True)``, trusted through ``server.ca_file``.

``most_connections`` records, per origin, the most connections that were open at once when a
request arrived (idle keep-alive ones included): how hard a client leaned on the CDN.

``sent`` records how each answer went out (a ``Sent`` per answer; newest last). This module holds
data and the page text only: no I/O, no sockets (``shaping`` sends).
"""

from __future__ import annotations

import random
import re
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .scenario import rule_matches

ORIGINS = frozenset({"api", "cdn", "other"})

_CF_TITLES = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
              504: "Gateway time-out", 520: "Web server is returning an unknown error",
              521: "Web server is down", 522: "Connection timed out", 523: "Origin is unreachable",
              524: "A timeout occurred", 525: "SSL handshake failed", 526: "Invalid SSL certificate"}


@dataclass
class _Rule:
    """What a fault matches: method (any if None), path regex (re.search), origin (any if None)."""

    count: int = 1
    path: str = ".*"
    origin: str | None = None
    method: str | None = None

    def matches(self, method: str, path: str, origin: str) -> bool:
        return rule_matches(self, method, path, origin)


@dataclass
class Reset(_Rule):
    """Cut the next ``count`` matching answers after ``after_bytes`` body bytes with a TCP RST."""

    after_bytes: int = 0


@dataclass
class CloudflarePage(_Rule):
    """Answer the next ``count`` matching requests with Cloudflare's ``status`` HTML page."""

    status: int = 520


@dataclass
class LateBody(_Rule):
    """Send the headers of the next ``count`` matching answers at once (every one when < 0) and
    their first body byte ``seconds`` later."""

    seconds: float = 2.0
    count: int = -1


@dataclass
class Outage(_Rule):
    """Every matching request fails for ``seconds``: ``kind`` "reset" (TCP RST, no answer),
    "page" (Cloudflare ``status`` page) or "hang" (no answer until the window ends, then RST).
    ``start`` is a server-clock time; None opens the window at the first matching request.
    ``count`` is unused (kept for matching)."""

    seconds: float = 6.0
    kind: str = "reset"
    status: int = 520
    start: float | None = None
    count: int = -1

    def __post_init__(self) -> None:
        if self.kind not in ("reset", "page", "hang"):
            raise ValueError("Outage.kind must be 'reset', 'page' or 'hang'")

    def remaining(self, now: float) -> float:
        """Seconds of the window left at ``now`` (0 once over or before it opened)."""
        return max(0.0, self.start + self.seconds - now) if self.start is not None else 0.0

    def active(self, now: float) -> bool:
        """True while the window holds (opening it at ``now`` if it has not opened yet)."""
        if self.start is None:
            self.start = now
        return self.start <= now < self.start + self.seconds


@dataclass
class Link:
    """When a paced link is next free (loop time). A slice's reservation may start up to
    ``burst_s`` in the past, so a sleep's overshoot is made up instead of lowering the rate."""

    free_at: float = 0.0
    burst_s: float = 0.02

    def reserve(self, now: float, seconds: float) -> float:
        """Book ``seconds`` of link time; returns how long to wait before the slice has left."""
        self.free_at = max(now - self.burst_s, self.free_at) + seconds
        return max(0.0, self.free_at - now)


@dataclass(frozen=True)
class Sent:
    """How one answer left the server. ``fate``: "whole", "reset" (cut mid-body), "page"
    (Cloudflare page, also from an outage), "outage_reset" / "outage_hang" (no answer, RST),
    "passthrough"
    (streamed by its handler, e.g. a download fault: not shaped) or "dropped" (the handler cut
    the connection, e.g. ``create_drop_connection``). ``new_connection``: the first request on
    its connection. ``pieces`` counts body writes."""

    origin: str
    method: str
    path: str
    scheme: str
    status: int | None
    fate: str
    new_connection: bool = False
    pieces: int = 0
    chunked: bool = False
    encoding: str | None = None
    body_bytes: int = 0
    late_s: float = 0.0  # silence between the headers and the first body byte (LateBody)


@dataclass
class Realism:
    """The network-realism switches of one server (see the module docstring). Default: off."""

    origins: frozenset[str] = ORIGINS
    latency_s: float = 0.0
    jitter_s: float = 0.0
    handshake_s: float = 0.0
    pieces: int = 1
    piece_delay_s: float = 0.0
    max_piece_bytes: int = 0
    chunked: bool = False
    gzip: bool = False
    bandwidth_bps: float = 0.0
    bandwidth_scope: str = "shared"
    resets: list[Reset] = field(default_factory=list)
    pages: list[CloudflarePage] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    late_bodies: list[LateBody] = field(default_factory=list)
    seed: int = 0
    sent: deque[Sent] = field(default_factory=lambda: deque(maxlen=20000), repr=False, compare=False)
    rng: random.Random = field(init=False, repr=False, compare=False)
    link: Link = field(default_factory=lambda: Link(), init=False, repr=False, compare=False)
    connections: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet, init=False, repr=False,
                                              compare=False)
    open_connections: dict[str, weakref.WeakSet[Any]] = field(default_factory=dict, init=False, repr=False,
                                                              compare=False)
    most_connections: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.bandwidth_scope not in ("shared", "connection"):
            raise ValueError("bandwidth_scope must be 'shared' or 'connection'")
        if self.pieces < 1:
            raise ValueError("pieces must be at least 1")
        self.rng = random.Random(self.seed)  # noqa: S311 - seeded on purpose: reproducible shapes

    async def answer(self, request: Any, handler: Any, store: Any, origin: str, rec: Any) -> Any:
        """Serve ``request`` shaped by these knobs (the server's middleware calls this)."""
        from .shaping import answer  # shaping imports this module

        return await answer(request, handler, self, store, origin, rec)

    @classmethod
    def internet(cls, **overrides: object) -> Realism:
        """The light profile the end-to-end suites run under by default: every body in 3+
        pieces 1 ms apart (and at most 64 KiB each, so a large download flows at tens of MB/s),
        chunked, gzip for JSON/text, 2-12 ms latency. ``overrides`` replace any field."""
        knobs: dict[str, object] = dict(latency_s=0.002, jitter_s=0.010, pieces=3,
                                        piece_delay_s=0.001, max_piece_bytes=64 * 1024,
                                        chunked=True, gzip=True)
        knobs.update(overrides)
        return cls(**knobs)  # type: ignore[arg-type]

    @property
    def shapes(self) -> bool:
        """True when answers are re-sent (split, chunked, gzip, paced or cut)."""
        return (self.pieces > 1 or self.max_piece_bytes > 0 or self.chunked or self.gzip
                or self.bandwidth_bps > 0 or bool(self.resets) or bool(self.late_bodies))

    def sent_for(self, origin: str | None = None, path: str = ".*") -> list[Sent]:
        """Recorded answers of ``origin`` (any if None) whose path matches ``path`` (re.search)."""
        return [s for s in list(self.sent)
                if (origin is None or s.origin == origin) and re.search(path, s.path)]


def cloudflare_html(status: int, host: str, ray_id: str) -> str:
    """Cloudflare's error page for ``status`` (its title, code, host and Ray ID)."""
    title = _CF_TITLES.get(status, "Unknown error")
    return (f"<!DOCTYPE html>\n<html lang=\"en-US\"><head><title>{host} | {status}: {title}</title>"
            "<meta charset=\"UTF-8\" /></head>\n<body><div id=\"cf-wrapper\"><div id=\"cf-error-details\">"
            f"<h1><span class=\"cf-error-type\">{title}</span> <span class=\"code-label\">Error code "
            f"{status}</span></h1><p>Visit <a href=\"https://www.cloudflare.com/5xx-error-landing\">"
            f"cloudflare.com</a> for more information.</p></div><div class=\"cf-error-footer\">"
            f"Cloudflare Ray ID: <strong>{ray_id}</strong> &bull; Performance &amp; security by "
            "Cloudflare</div></div></body></html>\n")
