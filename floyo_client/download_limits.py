"""The caps and timings of output downloads (``DownloadLimits``), one frozen value per run.

Its own module because both halves of a download read it: ``download.py`` (retries, links,
the ``.part`` file) and ``stream.py`` (one exchange's headers and body), and ``stream.py`` must
not import ``download.py``, which drives it. Must not do I/O beyond reading the environment in
``from_env``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import max_output_bytes, max_outputs, max_run_bytes


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int = 1024 * 1024 * 1024  # per file
    max_outputs: int = 1000  # per run, checked before any download
    max_run_bytes: int = 4096 * 1024 * 1024  # per run, all files together
    stall_s: float = 30.0  # the window over which throughput is judged
    min_bytes_per_s: float = 16 * 1024  # slower than this over a whole window is a stall
    attempts: int = 4
    # the most one file waits in all before its retries (a busy host's Retry-After included): a
    # wait that would end past it is not started, the download fails at once
    retry_wait_s: float = 120.0
    refreshes: int = 2
    max_redirects: int = 3
    chunk_bytes: int = 1024 * 1024
    window_bytes: int = 4 * 1024 * 1024  # bytes still to come of running downloads (run_files.Window)
    concurrency: int = 16  # most downloads of one run at once (small files; run_files.Window)

    @classmethod
    def from_env(cls) -> DownloadLimits:
        """The caps set by FLOYO_MAX_OUTPUT_MB, FLOYO_MAX_OUTPUTS and FLOYO_MAX_RUN_MB."""
        return cls(max_bytes=max_output_bytes(), max_outputs=max_outputs(), max_run_bytes=max_run_bytes())
