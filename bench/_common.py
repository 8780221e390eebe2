"""Shared bench helpers: the server subprocess, a client for it, timing and the result table."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from floyo_pack.floyo_client import Config, FloyoClient, RateLimiter, Transport

BENCH = Path(__file__).resolve().parent
KEY = "flo_test_key"


@contextlib.contextmanager
def server_process(outputs: int, size: int) -> Iterator[tuple[str, str]]:
    """(api_url, cdn_url) of a bench/_server.py child; stopped on exit."""
    proc = subprocess.Popen([sys.executable, str(BENCH / "_server.py"), "--outputs", str(outputs),
                             "--size", str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        urls = {}
        while len(urls) < 2:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("bench server exited before printing its URLs")
            name, _, value = line.strip().partition("=")
            urls[name] = value
        yield urls["FLOYO_API_URL"], urls["FLOYO_CDN_URL"]
    finally:
        proc.terminate()
        proc.wait(10)


def client_for(api_url: str, cdn_url: str, limiter: RateLimiter | None = None) -> FloyoClient:
    config = Config(api_key=KEY, api_url=api_url, cdn_url=cdn_url)
    return FloyoClient(Transport(config, limiter=limiter or RateLimiter(rate=100_000)))


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}, "
            f"load average {os.getloadavg()[0]:.1f} (other work on this machine)")


def table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Print a plain-text table (also valid Markdown)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
