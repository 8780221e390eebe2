"""The one choke point every Floyo request goes through.

Sets the User-Agent, attaches the bearer token only when asked *and* only to the configured API
and CDN origins, spends the per-key rate budget, applies timeouts, races each request against
the stop check, retries by ``policy`` and turns every answer or failure into a typed error.
After a 429 the transport itself waits once before resending, a cancel included (the limiter
alone lets an urgent request straight through). Every request, API call, upload or download,
is one typed ``Request``.
Must not follow redirects on its own (callers decide) or put a key or URL query into a message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from yarl import URL

from . import __version__
from .config import Config
from .errors import (
    AnswerTooLarge,
    Interrupted,
    NetworkError,
    error_from_response,
    redact,
    register_secret,
)
from .keystate import KeyState, key_state
from .models import decode_answer
from .policy import RetryPolicy, is_retryable_status, parse_retry_after, resend_delay
from .ratelimit import STOP_CHECK_S
from .request import Reply, Request, StopCheck, never_stop

log = logging.getLogger(__name__)
USER_AGENT = f"floyo-comfyui/{__version__} (ComfyUI custom nodes; aiohttp/{aiohttp.__version__})"
_host: list[str] = []  # the application the pack runs in, as "Name/version" (identify_host)
MAX_JSON_BYTES = 8 * 1024 * 1024

def identify_host(product: str) -> None:
    """Name the application the pack runs in (``ComfyUI/0.33.0``) in every request's User-Agent, so
    a server can tell which release sent a workflow (the gateway names it when the worker's release
    refuses a node's inputs). Set once by the glue at startup; a later call replaces it."""
    _host[:] = [product]


class SentNetworkError(NetworkError):
    """The connection failed after the request may have reached the server."""


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's trust store (which honours SSL_CERT_FILE), plus ``ca_bundle`` when set, with
    hostname checks on: a private CA (a corporate proxy, the test server) is added, never trusted
    instead of verification.

    Loading the system store costs a few hundred milliseconds of CPU, and every client (each run,
    each status read) makes a Transport, so one context is shared while its sources are unchanged:
    a context only wraps sockets once built, which OpenSSL allows from any thread or loop."""
    return _shared_context(ca_bundle, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"),
                           _file_stamp(ca_bundle))


def _file_stamp(path: str | None) -> tuple[int, int] | None:
    """(mtime, size) of a CA file, so a replaced bundle is loaded again; None when absent (the
    load then fails with the usual clear error)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None


@functools.lru_cache(maxsize=8)
def _shared_context(ca_bundle: str | None, cert_file: str | None, cert_dir: str | None,
                    stamp: tuple[int, int] | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _origin(url: str | URL) -> tuple[str, str, int | None]:
    u = URL(url) if isinstance(url, str) else url
    return (u.scheme, u.host or "", u.port)


class Transport:
    """Owns one aiohttp session; create it inside the event loop that will use it."""

    def __init__(self, config: Config, *, policy: RetryPolicy | None = None,
                 state: KeyState | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock
        register_secret(config.api_key)
        self.policy = policy or RetryPolicy()
        # the key's state in this process (limiter, run slots, list polls, uploads), shared by
        # every Transport of the key whatever its loop; tests and benches pass their own
        self.state = state or key_state(config)
        self.limiter = self.state.limiter
        self.sleep = sleep
        self._auth_origins = {_origin(config.api_url), _origin(config.cdn_url)}
        self._session: aiohttp.ClientSession | None = None
        self._fresh: aiohttp.ClientSession | None = None
        self._ssl = tls_context(config.ca_bundle)

    def twin(self) -> Transport:
        """A Transport with the same settings and key state, for use on another event loop."""
        return Transport(self.config, policy=self.policy, state=self.state, sleep=self.sleep,
                         clock=self.clock)

    async def close(self) -> None:
        for s in (self._session, self._fresh):
            if s is not None:
                await s.close()
        self._session = self._fresh = None

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _session_for(self, once: bool) -> aiohttp.ClientSession:
        # A create must not ride on a pooled keep-alive connection: if the server had closed it,
        # the failure would look like "maybe sent" and we could never safely retry (docs/architecture.md).
        if once:
            if self._fresh is None:
                self._fresh = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(force_close=True, ssl=self._ssl))
            return self._fresh
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32, ssl=self._ssl))
        return self._session

    def headers_for(self, url: str | URL, auth: bool) -> dict[str, str]:
        headers = {"User-Agent": " ".join([USER_AGENT, *_host])}
        if auth and _origin(url) in self._auth_origins:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def safe(self, text: str) -> str:
        return redact(text, self.config.api_key)

    @asynccontextmanager
    async def open(self, request: Request, *,
                   stop: StopCheck = never_stop) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send ``request`` once (no retries) and yield the response; the single exit to the network."""
        url, once = request.url, not request.idempotent
        target = url if isinstance(url, URL) else URL(url, encoded=True)  # keep presigned bytes as-is
        if request.auth and request.urgent:  # a cancel saves money: it takes a slot but never queues
            self.limiter.reserve()
        elif request.auth:
            await self.limiter.acquire(stop, self.sleep)
        if stop():
            raise Interrupted("Stopped before the request was sent.")
        sent = {**(request.headers or {}), **self.headers_for(target, request.auth)}
        timeout = aiohttp.ClientTimeout(total=request.timeout_s, sock_connect=min(request.timeout_s, 15.0))
        body = {k: v for k, v in (("json", request.json), ("params", request.params),
                                  ("data", request.form() if request.form else None)) if v is not None}
        sending = self._session_for(once).request(request.method, target, headers=sent, timeout=timeout,
                                                  allow_redirects=False, **body)
        # A request that must not be resent (create) is never abandoned in flight: once its body
        # may have left, we wait for the answer so the run id is known and can be cancelled.
        resp = await self._race(sending, stop if not once else never_stop, target)
        log.debug("floyo %s %s%s -> %s", request.method, target.host, target.path, resp.status)
        try:
            yield resp
        finally:
            resp.release()

    async def _race(self, request: Awaitable[Any], stop: StopCheck, target: URL) -> Any:
        """Await ``request`` (sending, or reading a body) while checking ``stop`` every slice;
        map a network failure to NetworkError (nothing sent) or SentNetworkError (maybe sent)."""
        task = asyncio.ensure_future(request)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=STOP_CHECK_S)
                if not task.done() and stop():
                    raise Interrupted("Stopped while waiting for Floyo.")
            return task.result()
        except aiohttp.ClientConnectorError as e:  # connect failed: nothing was sent
            raise NetworkError(self._unreachable(target, e)) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise SentNetworkError(self._unreachable(target, e)) from None
        finally:
            if not task.done():
                task.cancel()

    def _unreachable(self, target: URL, e: BaseException) -> str:
        reason = self.safe(str(e) or type(e).__name__)[:200]
        return (f"Could not reach {target.host} ({type(e).__name__}: {reason}). Check the internet "
                "connection, or FLOYO_API_URL / FLOYO_CDN_URL if you changed them.")

    async def pause(self, seconds: float, stop: StopCheck, deadline: float | None = None) -> bool:
        """Sleep in short slices; raise Interrupted as soon as ``stop()`` is true. A wait that
        would end past ``deadline`` (this clock) is not started: returns False."""
        end = self.clock() + seconds
        if deadline is not None and end > deadline:
            return False
        while (left := end - self.clock()) > 0:
            if stop():
                raise Interrupted("Stopped while waiting to retry.")
            await self.sleep(min(left, STOP_CHECK_S))
        return True

    async def _exchange(self, request: Request, stop: StopCheck) -> Reply:
        once = not request.idempotent
        async with self.open(request, stop=stop) as resp:
            body = read_whole(resp, request.max_bytes)
            raw = await self._race(body, stop if not once else never_stop, resp.url)
            return Reply(resp.status, decode_answer(raw), dict(resp.headers))

    async def call(self, request: Request, *, stop: StopCheck = never_stop) -> Reply:
        """A JSON request with retries: transient failures only when ``request.idempotent``
        (``attempts`` tries in all, default the policy's), 429 always, each after one wait here."""
        failures = limited = 0
        attempts = request.attempts or self.policy.max_attempts
        deadline = None if request.deadline_s is None else self.clock() + request.deadline_s
        while True:
            try:
                reply = await self._exchange(request, stop)
            except NetworkError as e:
                failures += 1
                maybe_sent = isinstance(e, SentNetworkError)
                if (maybe_sent and not request.idempotent) or failures >= attempts:
                    raise
                if not await self.wait_to_resend(None, None, failures, stop, deadline):
                    raise
                continue
            if 200 <= reply.status < 300:
                return reply
            retry_after = parse_retry_after(reply.headers.get("Retry-After"), time.time())
            if reply.status == 429 and limited + 1 < self.policy.max_rate_limited:
                limited += 1
                if await self.wait_to_resend(429, retry_after, limited, stop, deadline, hold_key=True):
                    continue
            elif request.idempotent and is_retryable_status(reply.status) and failures + 1 < attempts:
                failures += 1
                if await self.wait_to_resend(reply.status, retry_after, failures, stop, deadline):
                    continue
            raise error_from_response(reply.status, reply.body, retry_after=retry_after,
                                      run_id=request.run_id)

    async def wait_to_resend(self, status: int | None, retry_after: float | None, attempt: int,
                             stop: StopCheck, deadline: float | None, *, hold_key: bool = False) -> bool:
        """The one wait before sending again, API call or download (``policy.resend_delay``).
        ``hold_key``: every request of the key holds back too (an API 429; the limiter alone lets
        an urgent one through). A stop ends it within a second; False, unstarted, past ``deadline``."""
        delay = resend_delay(status, retry_after, attempt, self.policy)
        late = deadline is not None and self.clock() + delay > deadline
        if status == 429 or retry_after is not None:  # the server asked for a wait: say so
            log.info("Floyo answered %s; %s %.1fs", status, "not retrying past the deadline, a wait of"
                     if late else "retrying after", delay)
        if late:
            return False
        if hold_key:
            self.limiter.block_for(delay)
        return await self.pause(delay, stop)


async def read_whole(resp: aiohttp.ClientResponse, cap: int | None = None) -> bytes:
    """The whole body, whatever its framing (Content-Length, chunked, gzip/deflate decoded by
    aiohttp) and however slowly its pieces arrive; ``read(n)`` alone returns only what is
    buffered. The cap is checked against Content-Length first, then while reading."""
    cap = MAX_JSON_BYTES if cap is None else cap
    declared = resp.content_length
    if declared is not None and declared > cap:
        raise AnswerTooLarge(_too_large(declared, cap, resp))
    parts, total = [], 0
    async for piece in resp.content.iter_any():
        total += len(piece)
        if total > cap:
            raise AnswerTooLarge(_too_large(total, cap, resp, at_least=True))
        parts.append(piece)
    return b"".join(parts)


def _too_large(size: int, cap: int, resp: aiohttp.ClientResponse, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (f"Floyo's answer to {resp.method} {resp.url.path} is {more}{size} bytes, above the "
            f"{cap}-byte limit for an API answer, so it was not read. This is not a normal Floyo "
            "answer: check FLOYO_API_URL, or a proxy between ComfyUI and Floyo.")

