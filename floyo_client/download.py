"""Fetching one output file through its presigned URL, streamed to disk.

The bytes go to ``<name>.<random>.part`` beside the final path, so memory stays flat whatever
the size (held by its writer, part_files.py, so a startup sweep never takes it), and the file
takes its final name only once complete: as long as the server said
(Content-Length or Content-Range) and as long as Floyo's ``size_bytes`` said. A broken body is
resumed with ``Range`` when the host supports it, else restarted with a fresh link. A stall is
throughput under ``min_bytes_per_s`` over ``stall_s``, so a trickle counts. Presigned URLs carry
their own credentials: these requests never carry the bearer token, redirects included. Must
not decode anything, and never leaves a file under its final name that is not whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from .download_limits import DownloadLimits
from .errors import DownloadError, NetworkError, RateLimited, ServerError
from .models import RunOutput
from .names import PART_SUFFIX
from .part_files import hold, release
from .stream import Broken, Busy, Expired, Progress, checked_url, fetch_into
from .transport import StopCheck, Transport, never_stop

log = logging.getLogger(__name__)
Refresh = Callable[[RunOutput], Awaitable[RunOutput]]
OnBytes = Callable[[int], None]
SLOW_WRITE_S = 0.25  # one buffer (1 MiB) taking this long: a slow disk (not a busy CPU), use a thread


class Sink:
    """The ``.part`` file. Memory stays at a chunk, or two buffers once writes moved to a thread.

    Each chunk goes straight to the page cache from the event loop, as a plain copy does: a
    worker thread per write costs about half again as much CPU, and holding chunks back to
    batch them makes the allocator return and re-fault pages (twice the system time). The first
    write slower than ``SLOW_WRITE_S`` (a slow or throttled disk) moves the rest to a worker
    thread, a buffer at a time with at most one in flight, so the loop keeps honouring stops.
    """

    def __init__(self, path: Path, flush_bytes: int):
        for _ in range(3):  # a startup sweep can take a file created a moment before its lock
            # O_EXCL: never follows a symlink planted there, never shares a file with another download
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
            if hold(fd, path):  # held until closed, so the sweep leaves a live download alone
                break
            os.close(fd)
            release(path)
        else:
            raise OSError(f"{path.name} was removed each time it was created")
        self.path, self.file = path, os.fdopen(fd, "wb")
        self._flush_bytes, self._pending, self._size = flush_bytes, [], 0
        self._flight: asyncio.Future[object] | None = None
        self._threaded = False

    def _start(self, work: Callable[[], object]) -> None:
        self._flight = asyncio.get_running_loop().run_in_executor(None, work)

    async def _drain(self) -> None:
        if self._flight is not None:
            await asyncio.shield(self._flight)  # a cancel leaves the write tracked for discard()
            self._flight = None

    def _take(self) -> list[bytes]:
        chunks, self._pending, self._size = self._pending, [], 0
        return chunks

    def add(self, chunk: bytes) -> bool:
        """Write ``chunk``, or buffer it in threaded mode: True once a buffer waits for
        ``write_buffer``."""
        if self._threaded:
            self._pending.append(chunk)
            self._size += len(chunk)
            return self._size >= self._flush_bytes
        started = time.perf_counter()
        self.file.write(chunk)
        if time.perf_counter() - started > SLOW_WRITE_S:
            log.info("Writes to %s are slow; writing in a worker thread from now on", self.path.parent)
            self._threaded = True
        return False

    async def write_buffer(self) -> None:
        await self._drain()
        chunks = self._take()
        self._start(lambda: self.file.writelines(chunks))

    async def finish(self) -> None:
        """Write what is buffered and flush it; the file stays open, so held, until ``close``."""
        await self._drain()
        chunks = self._take()
        self._start(lambda: (self.file.writelines(chunks), self.file.flush()))
        await self._drain()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.file.close()
        release(self.path)

    async def truncate(self) -> None:
        """Start over: the bytes so far are dropped."""
        await self._drain()
        self._take()
        self._start(lambda: (self.file.flush(), self.file.seek(0), self.file.truncate()))
        await self._drain()

    async def discard(self) -> None:
        """Close and remove the file. Never raises: it runs while another error is on its way up."""
        # A failed or interrupted write: the file goes anyway, but no worker may write once we return.
        with contextlib.suppress(BaseException):
            if self._flight is not None:
                await asyncio.shield(self._flight)
        if os.name == "nt":
            self.close()  # Windows deletes no open file
        with contextlib.suppress(OSError):
            self.path.unlink()  # elsewhere while still held, so no sweep is half-way through it
        self.close()


async def download_file(transport: Transport, output: RunOutput, refresh: Refresh, dest: Path, *,
                        stop: StopCheck = never_stop, limits: DownloadLimits | None = None,
                        on_bytes: OnBytes | None = None) -> int:
    """Save one output at ``dest`` (via ``dest.part``) and return its size. Raises DownloadError,
    Interrupted or the refresh's FloyoError; on any failure no file is left at either name."""
    limits = limits or DownloadLimits()
    # A name of its own: a resumed run and a Fetch node may download the same output at once
    sink = Sink(dest.with_name(f"{dest.name}.{secrets.token_hex(4)}{PART_SUFFIX}"), limits.chunk_bytes)
    try:
        size = await _attempts(transport, output, refresh, sink, stop, limits, on_bytes or _ignore)
        await sink.finish()
        if os.name == "nt":
            sink.close()  # Windows renames no open file
        os.replace(sink.path, dest)  # still held elsewhere: a sweep never takes a whole file
    except BaseException:
        await sink.discard()
        raise
    sink.close()
    return size


def _ignore(_: int) -> None:
    return None


async def _attempts(transport: Transport, output: RunOutput, refresh: Refresh, sink: Sink,
                    stop: StopCheck, limits: DownloadLimits, on_bytes: OnBytes) -> int:
    failures = refreshes = 0
    current = output if output.presigned_url else await refresh(output)
    progress = Progress(expected=output.size_bytes, on_bytes=on_bytes)
    waited = 0.0  # seconds spent waiting to retry (the transfers themselves do not count)
    while True:
        before, restarts = progress.size, progress.restarts
        try:
            if not current.presigned_url:
                raise DownloadError(f"Floyo gave no download link for {output.file_name}.")
            url = checked_url(current.presigned_url, transport.config.api_url)
            await fetch_into(transport, url, sink, progress, limits, stop)
            return progress.size
        except Expired as e:
            refreshes += 1
            if refreshes > limits.refreshes:
                raise DownloadError(f"The link for {output.file_name} was refused ({e}) even after "
                                    "asking Floyo for a fresh one.") from None
            log.info("Output link for %s expired or was refused (%s); asking for a fresh one",
                     output.file_name, e)
            current = await refresh(output)
        except (Broken, NetworkError) as e:  # Interrupted and DownloadError pass straight up
            # A break after real progress costs little to resume: only breaks that got nowhere
            # count, so a long file over a flaky link still finishes (each try adds a chunk). An
            # answer that started the file over (a 200 to our Range) got nowhere, however far it
            # went: else a host that cuts each answer later than the last would never fail.
            advanced = progress.size - before >= limits.chunk_bytes and progress.restarts == restarts
            failures += 0 if progress.resumable and advanced else 1
            waited += await _wait_to_retry(transport, output, e, failures, limits, stop, waited)
            if not progress.resumable:
                current = await _restart(progress, sink, output, current, refresh)
            else:
                log.info("Resuming %s at byte %d (%s)", output.file_name, progress.size, e)


async def _wait_to_retry(transport: Transport, output: RunOutput, error: Exception, failures: int,
                         limits: DownloadLimits, stop: StopCheck, waited: float) -> float:
    """The transport's one wait (a busy host's Retry-After honoured) and how long it took, or
    DownloadError when the tries are spent or the wait would take the file's waits past
    ``retry_wait_s``."""
    again = "Run Floyo Fetch Outputs with the run id to try again."
    last = transport.safe(str(error))
    if failures >= limits.attempts:
        raise DownloadError(f"Downloading {output.file_name} failed {failures} times (last: {last}). "
                            f"{again}") from None
    status, retry_after = (error.status, error.retry_after) if isinstance(error, Busy) else (None, None)
    started = transport.clock()
    if not await transport.wait_to_resend(status, retry_after, failures, stop,
                                          started + limits.retry_wait_s - waited):
        asked = f", Retry-After {retry_after:.0f}s" if retry_after is not None else ""
        raise DownloadError(f"The host of {output.file_name} is busy (last: {last}{asked}): waiting "
                            f"again would pass the {limits.retry_wait_s:.0f}s a download waits in all. "
                            f"{again}") from None
    return transport.clock() - started


async def _restart(progress: Progress, sink: Sink, output: RunOutput, current: RunOutput,
                   refresh: Refresh) -> RunOutput:
    """Drop the bytes so far and ask Floyo for a fresh link (an edge that cut us off once may be
    in trouble); if Floyo cannot answer right now, the old link is tried again."""
    await progress.start_over(sink)
    try:
        return await refresh(output)
    except (NetworkError, ServerError, RateLimited) as e:
        log.info("Could not get a fresh link for %s (%s); retrying the old one", output.file_name, e)
        return current
