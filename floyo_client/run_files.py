"""A finished run's files, downloaded several at a time into one folder under safe names.

How many at once (``Window``): a far CDN costs a round trip per file, so small files need many
downloads in flight to keep the link full, while a few large ones fill it alone. Downloads
start in list order while fewer than ``DownloadLimits.concurrency`` (16) run and the bytes
those still owe stay under ``DownloadLimits.window_bytes`` (4 MiB: a 100 ms x 335 Mbit/s link);
``FEW`` may always run, whatever their size. Each download streams to disk (memory stays flat),
holds one pooled keep-alive connection and one ``.part`` file, and retries on its own.

Checks the run's budgets before the first request (how many files, how many bytes Floyo says
they have) and keeps counting bytes while they stream, so a hostile or buggy answer gets a clear
error instead of filling the disk. Each file is handed over the moment it is on disk under its
final name. One writer per run folder at a time (``one_writer``, on the process's
``FolderClaims`` that every key's ``KeyState`` points at): the resume thread, a Fetch node
and the runs tab may all ask for the same run's outputs at once; the later ones wait, then take
the files the first saved instead of downloading them again. Must not decode files or know about
ComfyUI.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .download import Refresh, download_file
from .download_limits import DownloadLimits
from .errors import DownloadError, Interrupted
from .keystate import FolderClaims
from .models import RunOutput
from .names import output_names, path_inside
from .transport import StopCheck

if TYPE_CHECKING:
    from .runner import RunHandle

MB = 1024 * 1024
FEW = 2  # downloads that may always run at once, however large their files


def check_budget(run_id: str, outputs: Sequence[RunOutput], limits: DownloadLimits) -> None:
    """Refuse, before any download, a run listing more files or bytes than the budgets allow."""
    later = f"Nothing was downloaded; Floyo Fetch Outputs with run id {run_id} can get them later."
    if len(outputs) > limits.max_outputs:
        raise DownloadError(f"Floyo run {run_id} lists {len(outputs):,} output files, over the limit of "
                            f"{limits.max_outputs:,} per run. If it really made that many, raise "
                            f"FLOYO_MAX_OUTPUTS. {later}", run_id=run_id)
    for output in outputs:
        if (output.size_bytes or 0) > limits.max_bytes:
            raise DownloadError(f"Output {output.file_name!r} of Floyo run {run_id} is "
                                f"{output.size_bytes / MB:,.1f} MB, over the {limits.max_bytes / MB:,.0f} MB "
                                f"per-file limit; raise FLOYO_MAX_OUTPUT_MB to accept it. {later}",
                                run_id=run_id)
    declared = sum(o.size_bytes or 0 for o in outputs)
    if declared > limits.max_run_bytes:
        raise DownloadError(f"The outputs of Floyo run {run_id} add up to {declared / MB:,.1f} MB, over "
                            f"the {limits.max_run_bytes / MB:,.0f} MB per-run limit; raise FLOYO_MAX_RUN_MB "
                            f"to accept them. {later}", run_id=run_id)


class RunBytes:
    """Bytes on disk for one run, all files together; over the cap is a DownloadError."""

    def __init__(self, run_id: str, cap: int):
        self.run_id, self.cap, self.total = run_id, cap, 0

    def __call__(self, n: int) -> None:
        self.total += n
        if self.total > self.cap:
            raise DownloadError(f"The outputs of Floyo run {self.run_id} went over the "
                                f"{self.cap / MB:,.0f} MB per-run limit while downloading; raise "
                                "FLOYO_MAX_RUN_MB to accept them.", run_id=self.run_id)


class Window:
    """Admits downloads strictly in the order asked (the decoder gets files in order): one may
    start while fewer than ``most`` run and the bytes still to come of those running are under
    ``window_bytes``, or while fewer than ``FEW`` run. Counting bytes still to come (not whole
    files) staggers large files: the next one's round trip overlaps the end of the others, and
    they finish one after another, so decoding keeps pace instead of waiting on a wave. A file
    of unknown size counts as a quarter of the window."""

    def __init__(self, most: int, window_bytes: int):
        self.most, self.window_bytes = max(1, most), window_bytes
        self.running = self.owed = 0  # downloads running; bytes they still owe (declared - arrived)
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def cost(self, output: RunOutput) -> int:
        # Floyo lists sizes; without one, a guess that lets four start, as before the window
        return output.size_bytes if output.size_bytes is not None else self.window_bytes // 4

    def _fits(self) -> bool:
        if self.running < min(FEW, self.most):
            return True
        return self.running < self.most and self.owed < self.window_bytes

    def _admit(self) -> None:
        while self._waiting and self._fits():
            cost, waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled waiter takes no place
                self.running, self.owed = self.running + 1, self.owed + cost
                waiter.set_result(None)

    async def enter(self, cost: int) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append((cost, waiter))
        self._admit()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # admitted just as it was cancelled
                self.leave(cost, 0)
            raise

    def arrived(self, n: int) -> None:
        """``n`` bytes of a running download arrived (negative: dropped to start over)."""
        self.owed -= n
        if self._waiting:
            self._admit()

    def leave(self, cost: int, arrived: int) -> None:
        """A download ended: it no longer owes what it did not get of ``cost``."""
        self.running, self.owed = self.running - 1, self.owed - (cost - arrived)
        self._admit()

    @asynccontextmanager
    async def slot(self, output: RunOutput) -> AsyncIterator[Callable[[int], None]]:
        """Wait for ``output``'s turn; yields the callback its downloaded bytes go to."""
        cost, got = self.cost(output), 0
        await self.enter(cost)

        def arrived(n: int) -> None:
            nonlocal got
            got += n
            self.arrived(n)

        try:
            yield arrived
        finally:
            self.leave(cost, got)


CLAIM_CHECK_S = 0.1
CLAIM_WAIT_S = 3600.0  # the other download has its own deadlines; this one is a last resort


@asynccontextmanager
async def one_writer(claims: FolderClaims, folder: Path, stop: StopCheck) -> AsyncIterator[bool]:
    """Hold the right to write into ``folder`` (one run's outputs) among ``claims``; yields True
    when another download of it had to end first (its files may be on disk already)."""
    key, waited = os.path.normcase(os.path.abspath(folder)), False
    deadline = time.monotonic() + CLAIM_WAIT_S
    while not claims.claim(key):
        waited = True
        if stop():
            raise Interrupted("Stopped while another download of this run's outputs was finishing.")
        if time.monotonic() >= deadline:
            raise DownloadError(f"Another download into {folder} has not ended in {CLAIM_WAIT_S:.0f}s; "
                                "try Floyo Fetch Outputs again later.")
        await asyncio.sleep(CLAIM_CHECK_S)
    try:
        yield waited
    finally:
        claims.release(key)


def _saved_already(path: Path, output: RunOutput) -> bool:
    """A file under its final name is whole (download.py renames only complete files)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return output.size_bytes is None or size == output.size_bytes


def fresh_link(handle: RunHandle) -> Refresh:
    """Asks Floyo for the run again and picks this output's new presigned URL."""

    async def refresh(output: RunOutput) -> RunOutput:
        run = await handle.refresh(urls=True)
        for candidate in run.outputs:
            if (candidate.id and candidate.id == output.id) or candidate.file_name == output.file_name:
                return candidate
        return output

    return refresh


async def download_outputs(handle: RunHandle, outputs: Sequence[RunOutput], folder: Path, *,
                           on_ready: Callable[[int, Path], None] | None = None) -> list[Path]:
    """Save ``outputs`` in ``folder`` and return their paths in order. With ``on_ready``, each file
    is handed over as ``(index, path)`` once it is on disk under its final name. After a failure
    the other downloads are stopped (their ``.part`` files removed) before the error is raised:
    ``on_ready`` is never called after. While another download writes ``folder`` this one waits,
    then takes the files it saved."""
    check_budget(handle.run_id, outputs, handle.limits.download)
    paths = [path_inside(folder, name) for name in output_names([o.file_name for o in outputs])]
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    async with one_writer(handle.client.state.folders, folder, handle.hooks.should_stop) as waited:
        taken = {i for i, o in enumerate(outputs) if waited and _saved_already(paths[i], o)}
        await _download_all(handle, outputs, paths, taken, on_ready)
    return paths


async def _download_all(handle: RunHandle, outputs: Sequence[RunOutput], paths: list[Path],
                        taken: set[int], on_ready: Callable[[int, Path], None] | None) -> None:
    limits = handle.limits.download
    window = Window(limits.concurrency, limits.window_bytes)
    tally, refresh = RunBytes(handle.run_id, limits.max_run_bytes), fresh_link(handle)

    async def one(index: int, output: RunOutput) -> None:
        if index not in taken:
            async with window.slot(output) as arrived:

                def counted(n: int) -> None:
                    arrived(n)
                    tally(n)  # raises past the run's byte budget

                await download_file(handle.client.transport, output, refresh, paths[index],
                                    stop=handle.hooks.should_stop, limits=limits, on_bytes=counted)
        if on_ready is not None:
            on_ready(index, paths[index])

    tasks = [asyncio.ensure_future(one(i, o)) for i, o in enumerate(outputs)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
