"""Shared bench helpers: the server subprocess, a client for it, timing and the result table."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from floyo_pack.floyo_client import Config, FloyoClient, KeyState, RateLimiter, Transport

BENCH = Path(__file__).resolve().parent
KEY = "flo_test_key"
_LINK = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*ms\s*,\s*(\d+(?:\.\d+)?)\s*mbit\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    """A shaped link between the bench client and the server: round trip and shared bandwidth."""

    latency_ms: float
    bps: float  # bytes per second, shared by every connection

    @classmethod
    def parse(cls, text: str) -> Link:
        """``"40ms,200mbit"`` -> 40 ms round trip, 200 Mbit/s (25,000,000 bytes/s)."""
        match = _LINK.match(text)
        if match is None:
            raise argparse.ArgumentTypeError(f"expected a link like 40ms,200mbit, not {text!r}")
        return cls(float(match[1]), float(match[2]) * 1_000_000 / 8)

    def __str__(self) -> str:
        return f"{self.latency_ms:g} ms round trip, {self.bps * 8 / 1_000_000:g} Mbit/s shared"


@contextlib.contextmanager
def server_process(outputs: int, size: int, link: Link | None = None) -> Iterator[tuple[str, str]]:
    """(api_url, cdn_url) of a bench/_server.py child (its answers shaped by ``link``); stopped on exit."""
    shaping = [] if link is None else ["--latency-ms", str(link.latency_ms), "--bandwidth-bps", str(link.bps)]
    proc = subprocess.Popen([sys.executable, str(BENCH / "_server.py"), "--outputs", str(outputs),
                             "--size", str(size), *shaping], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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
    return FloyoClient(Transport(config, state=KeyState(limiter or RateLimiter(rate=100_000))))


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
            f"load average {load()} (other work on this machine)")


def load() -> str:
    """The 1- and 5-minute load averages, as ``1.4 / 1.8 (1 / 5 min)``."""
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f} (1 / 5 min)"


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
