"""One HTTP exchange of a file download: the answer's headers checked, its body streamed to disk.

Decides what each answer means for the bytes already in the ``.part`` file: 200 starts over,
206 with the matching Content-Range appends, anything else starts over; a 429 or 5xx is ``Busy``
with the Retry-After the host sent. Judges a stall by
throughput over a window, so a connection trickling a byte a second is dropped like a dead one.
Must not retry, refresh links or pick file names (``download.py`` does that).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from .config import is_loopback_host
from .download_limits import DownloadLimits
from .errors import DownloadError, Interrupted
from .policy import is_retryable_status, parse_retry_after
from .request import Request
from .transport import StopCheck, Transport

REDIRECTS = frozenset({301, 302, 303, 307, 308})
EXPIRED = frozenset({400, 401, 403, 410})  # how object stores answer an expired signature
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
READ_WAIT_S = 1.0  # a read waits at most this long, so stops and stalls are noticed promptly
BODY_TIMEOUT_S = 7 * 24 * 3600  # no cap on a body's time: the throughput meter judges it
CHECK_S = 0.1  # stops and stalls are judged this often while bytes flow (per chunk costs more than the copy)


def checked_url(url: str | URL, api_url: str, base: URL | None = None) -> URL:
    """The link as a URL, only if it is https, or plain http to this machine while the API
    itself is plain http here (a local test setup). Against an https API, a plain-http link to
    this machine or a private network is refused: Floyo's answer must not be able to make the
    pack call a local service."""
    target = URL(url, encoded=True) if isinstance(url, str) else url
    if base is not None and not target.is_absolute():
        target = base.join(target)
    if target.scheme == "https":
        return target
    local = target.scheme == "http" and _local_host(target.host)
    if local and is_loopback_host(target.host) and URL(api_url).scheme == "http":
        return target
    if local:
        raise DownloadError(f"Refused to download an output from http://{target.host}:{target.port}: "
                            "a plain-http link to this machine or a private network, while Floyo's "
                            "API is https, could make the pack call a local service.")
    raise DownloadError(f"Refused to download from {target.scheme}://{target.host}: only https is allowed.")


def _local_host(host: str | None) -> bool:
    """This machine or a private, link-local or unspecified address (0.0.0.0 reaches this machine)."""
    try:
        ip = ipaddress.ip_address((host or "").strip("[]"))
    except ValueError:
        return is_loopback_host(host) or (host or "").lower().endswith((".localhost", ".local"))
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified


class Broken(Exception):
    """The answer broke off or cannot be used; worth another try."""


class Busy(Broken):
    """The host answered 429 or a transient 5xx: try again after the wait it asked for, if any."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


class Expired(Exception):
    """The link was refused the way an expired signature is; ask Floyo for a fresh one."""


class SinkLike(Protocol):
    def add(self, chunk: bytes) -> bool: ...
    async def write_buffer(self) -> None: ...
    async def truncate(self) -> None: ...


@dataclass
class Progress:
    """What one file's download has so far, across attempts."""

    expected: int | None = None  # Floyo's size_bytes, when it gave one
    on_bytes: Callable[[int], None] = lambda _: None  # hears every byte counted or dropped
    size: int = 0  # bytes in the .part file
    total: int | None = None  # the whole file's length, as the host said it
    ranges: bool = False  # the host said Accept-Ranges: bytes
    etag: str | None = None  # a strong validator, so a resume never splices two versions
    restarts: int = 0  # times the bytes so far were dropped (a 200 to a Range is one)

    @property
    def resumable(self) -> bool:
        return self.ranges and self.size > 0 and self.total is not None

    def advance(self, n: int) -> None:
        self.size += n
        self.on_bytes(n)

    async def start_over(self, sink: SinkLike) -> None:
        self.on_bytes(-self.size)
        self.restarts += 1
        self.size, self.total, self.ranges, self.etag = 0, None, False, None
        await sink.truncate()


class Meter:
    """Throughput over consecutive windows: under ``min_bytes_per_s`` for a whole window is a stall."""

    def __init__(self, window_s: float, min_bytes_per_s: float, total: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        self.window_s, self.min_rate, self.clock = window_s, min_bytes_per_s, clock
        self.start, self.bytes = clock(), total

    def stalled(self, total: int) -> bool:
        """Whether the window that ended now moved too few bytes (``total``: bytes so far)."""
        span = self.clock() - self.start
        if span < self.window_s:
            return False
        slow = total - self.bytes < self.min_rate * span
        self.start, self.bytes = self.clock(), total
        return slow


def _request_headers(progress: Progress) -> dict[str, str]:
    # identity: the saved bytes are the file itself, and lengths and ranges count those bytes
    headers = {"Accept-Encoding": "identity"}
    if progress.resumable:
        headers["Range"] = f"bytes={progress.size}-"
        if progress.etag:
            headers["If-Range"] = progress.etag
    return headers


async def fetch_into(transport: Transport, url: URL, sink: SinkLike, progress: Progress,
                     limits: DownloadLimits, stop: StopCheck) -> None:
    """Follow redirects (each hop checked by ``checked_url``) and stream the file into ``sink``."""
    for _ in range(limits.max_redirects + 1):
        try:
            async with asyncio.timeout(limits.stall_s) as deadline:  # the wait for headers
                async with transport.open(Request("GET", url, auth=False, timeout_s=BODY_TIMEOUT_S,
                                                  headers=_request_headers(progress)), stop=stop) as resp:
                    deadline.reschedule(None)  # from here the throughput meter judges the body
                    if resp.status in REDIRECTS and "Location" in resp.headers:
                        url = checked_url(resp.headers["Location"], transport.config.api_url, base=url)
                        continue
                    return await _take(resp, sink, progress, limits, stop)
        except TimeoutError:
            raise Broken(f"no answer within {limits.stall_s:.0f}s") from None
    raise DownloadError("The output link redirected too many times.")


async def _take(resp: aiohttp.ClientResponse, sink: SinkLike, progress: Progress,
                limits: DownloadLimits, stop: StopCheck) -> None:
    if resp.status == 200:
        if progress.size:  # the host ignored the Range, or the file changed: it sends it all again
            await progress.start_over(sink)
        progress.ranges = resp.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        etag = resp.headers.get("ETag")
        progress.etag = etag if etag and not etag.startswith("W/") else None
        # A chunked answer has no length: the file is as long as Floyo said (when it said)
        _check_total(progress, resp.content_length if resp.content_length is not None
                     else progress.expected, limits)
    elif resp.status == 206:
        await _check_resume(resp, progress, limits, sink)
    elif resp.status == 416:
        await progress.start_over(sink)
        raise Broken("the host refused to resume (HTTP 416)")
    elif resp.status in EXPIRED:
        raise Expired(f"HTTP {resp.status}")
    elif is_retryable_status(resp.status) or resp.status == 429:
        raise Busy(resp.status, parse_retry_after(resp.headers.get("Retry-After"), time.time()))
    else:
        raise DownloadError(f"The output link answered HTTP {resp.status}.")
    await _stream(resp, sink, progress, limits, stop)
    _check_end(progress)


async def _check_resume(resp: aiohttp.ClientResponse, progress: Progress, limits: DownloadLimits,
                        sink: SinkLike) -> None:
    """A 206 must continue exactly where the .part file ends, for the same whole length."""
    match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
    first, last, total = (int(g) for g in match.groups()) if match else (-1, -1, -1)
    length = resp.content_length
    if (not match or first != progress.size or last != total - 1 or progress.total not in (None, total)
            or length not in (None, last - first + 1)):
        await progress.start_over(sink)  # and ranges stay off: the next try takes the whole file
        raise Broken(f"the host answered a resume at byte {first} with another range "
                     f"({resp.headers.get('Content-Range', 'none')!r})")
    _check_total(progress, total, limits)


def _check_total(progress: Progress, total: int | None, limits: DownloadLimits) -> None:
    progress.total = total
    if total is not None and total > limits.max_bytes:
        raise DownloadError(f"An output is {total:,} bytes, over the {limits.max_bytes:,}-byte cap "
                            "(FLOYO_MAX_OUTPUT_MB raises it).")
    if total is not None and progress.expected is not None and total != progress.expected:
        raise Broken(f"the host sends {total:,} bytes but Floyo says the file has {progress.expected:,}")


async def _stream(resp: aiohttp.ClientResponse, sink: SinkLike, progress: Progress,
                  limits: DownloadLimits, stop: StopCheck) -> None:
    meter, content = Meter(limits.stall_s, limits.min_bytes_per_s, progress.size), resp.content
    next_check = 0.0
    while True:
        try:  # what has arrived is taken at once; otherwise wait a bounded time for more
            chunk: bytes | None = content.read_nowait(limits.chunk_bytes)
            if not chunk:
                async with asyncio.timeout(READ_WAIT_S):  # a timer, not a task per read (wait_for)
                    chunk = await content.read(limits.chunk_bytes)
        except TimeoutError:
            chunk = None
        except (aiohttp.ClientError, OSError) as e:
            raise Broken(f"connection broke ({type(e).__name__})") from None
        if chunk == b"":
            return
        if chunk:
            if sink.add(chunk):
                await sink.write_buffer()
            progress.advance(len(chunk))
            if progress.size > limits.max_bytes:
                raise DownloadError(f"An output exceeded the {limits.max_bytes:,}-byte cap "
                                    "(FLOYO_MAX_OUTPUT_MB raises it).")
        # Judged after every silent wait too: a body that has not started yet (headers sent at
        # once, first byte seconds later) is silence the stall meter must see, and a stop with it
        now = time.monotonic()
        if chunk is None or now >= next_check:
            next_check = now + CHECK_S
            _judge(progress, meter, limits, stop)


def _judge(progress: Progress, meter: Meter, limits: DownloadLimits, stop: StopCheck) -> None:
    if stop():
        raise Interrupted("Stopped while downloading outputs.")
    if meter.stalled(progress.size):
        raise Broken(f"under {limits.min_bytes_per_s:,.0f} bytes/s for {limits.stall_s:.0f}s")


def _check_end(progress: Progress) -> None:
    if progress.total is not None and progress.size != progress.total:
        raise Broken(f"got {progress.size:,} of {progress.total:,} bytes")
    if progress.expected is not None and progress.size != progress.expected:
        raise Broken(f"got {progress.size:,} bytes but Floyo says the file has {progress.expected:,}")
