"""Fetching output files through their presigned URLs.

Presigned URLs carry their own credentials, so these requests never carry the bearer token
(architecture.md §4), redirects included. Streams with a size cap, checks the stop callback at
least once a second, retries transient failures from scratch, and asks the run again for fresh
URLs when a link has expired. Must not decode images (that is the glue's job).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from .config import is_loopback_host
from .errors import DownloadError, Interrupted, NetworkError
from .models import RunOutput
from .policy import backoff_delay, is_retryable_status
from .transport import StopCheck, Transport, never_stop

log = logging.getLogger(__name__)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
EXPIRED = frozenset({400, 401, 403, 410})  # how object stores answer an expired signature
Refresh = Callable[[RunOutput], Awaitable[RunOutput]]


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int = 1024 * 1024 * 1024  # per file
    stall_s: float = 30.0  # no byte for this long: drop the connection and retry
    attempts: int = 4
    refreshes: int = 2
    max_redirects: int = 3
    chunk_bytes: int = 1024 * 1024


class _Retry(Exception):
    pass


class _Expired(Exception):
    pass


def _checked_url(url: str | URL, base: URL | None = None) -> URL:
    target = URL(url, encoded=True) if isinstance(url, str) else url
    if base is not None and not target.is_absolute():
        target = base.join(target)
    if target.scheme == "https" or (target.scheme == "http" and is_loopback_host(target.host)):
        return target
    raise DownloadError(f"Refused to download from {target.scheme}://{target.host}: only https is allowed.")


async def _read_body(resp: aiohttp.ClientResponse, limits: DownloadLimits, stop: StopCheck) -> bytes:
    expected = resp.content_length
    if expected is not None and expected > limits.max_bytes:
        raise DownloadError(f"An output is {expected:,} bytes, over the {limits.max_bytes:,}-byte cap.")
    chunks: list[bytes] = []
    size = 0
    last_byte = time.monotonic()
    while True:
        if stop():
            raise Interrupted("Stopped while downloading outputs.")
        try:
            # What has arrived already is taken without a timer; otherwise wait at most a second
            # per read so a stop is noticed promptly.
            chunk = resp.content.read_nowait(limits.chunk_bytes)
            if not chunk:
                chunk = await asyncio.wait_for(resp.content.read(limits.chunk_bytes), 1.0)
        except asyncio.TimeoutError:
            if time.monotonic() - last_byte > limits.stall_s:
                raise _Retry(f"no data for {limits.stall_s:.0f}s") from None
            continue
        except (aiohttp.ClientError, OSError) as e:
            raise _Retry(f"connection broke ({type(e).__name__})") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        last_byte = time.monotonic()
        if size > limits.max_bytes:
            raise DownloadError(f"An output exceeded the {limits.max_bytes:,}-byte cap.")
    if expected is not None and size != expected:
        raise _Retry(f"got {size:,} of {expected:,} bytes")
    return b"".join(chunks)  # one copy; growing a bytearray and converting it made two


async def _fetch_once(transport: Transport, url: URL, limits: DownloadLimits, stop: StopCheck) -> bytes:
    for _ in range(limits.max_redirects + 1):
        async with transport.open("GET", url, auth=False, stop=stop, timeout_s=24 * 3600) as resp:
            if resp.status in REDIRECTS and "Location" in resp.headers:
                url = _checked_url(resp.headers["Location"], base=url)
                continue
            if resp.status == 200:
                return await _read_body(resp, limits, stop)
            if resp.status in EXPIRED:
                raise _Expired(f"HTTP {resp.status}")
            if is_retryable_status(resp.status) or resp.status == 429:
                raise _Retry(f"HTTP {resp.status}")
            raise DownloadError(f"The output link answered HTTP {resp.status}.")
    raise DownloadError("The output link redirected too many times.")


async def download_output(transport: Transport, output: RunOutput, refresh: Refresh, *,
                          stop: StopCheck = never_stop, limits: DownloadLimits | None = None) -> bytes:
    """The bytes of one output. Raises DownloadError, Interrupted or the refresh's FloyoError."""
    limits = limits or DownloadLimits()
    failures = refreshes = 0
    current = output if output.presigned_url else await refresh(output)
    while True:
        try:
            if not current.presigned_url:
                raise DownloadError(f"Floyo gave no download link for {output.file_name}.")
            return await _fetch_once(transport, _checked_url(current.presigned_url), limits, stop)
        except _Expired as e:
            refreshes += 1
            if refreshes > limits.refreshes:
                raise DownloadError(f"The link for {output.file_name} was refused ({e}) even after "
                                    "asking Floyo for a fresh one.") from None
            log.info("Output link for %s expired or was refused (%s); asking for a fresh one",
                     output.file_name, e)
            current = await refresh(output)
        except (_Retry, NetworkError) as e:  # Interrupted and DownloadError pass straight up
            failures += 1
            if failures >= limits.attempts:
                raise DownloadError(f"Downloading {output.file_name} failed {failures} times "
                                    f"(last: {transport.safe(str(e))}).") from None
            await transport.pause(backoff_delay(failures, transport.policy), stop)

