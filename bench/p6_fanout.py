"""P6: fan-out: many runs of one key at once, bounded, and noticed soon when they end.

``python bench/p6_fanout.py`` (``--smoke``: short runs, a small window). The local server runs in
a thread of this process (as in P3), with Floyo's real limit (100 requests per 60 s per key).

(a) 8 runs of 10 s on one key through ``run_tracked`` (the node's path: journal, the per-key
    run slots of ``FLOYO_MAX_CONCURRENT_RUNS``, default 8, and the shared list poll), against
    one run alone. Goals: all 8 finish within 1.3 x one run's time; no answer 429.
(b) P3(b)'s setup: 20 runs of 5-30 s started together on one key, watched with
    ``RunHandle.wait()`` and the default ``Limits()``, now with the list poll (one
    ``GET /runs?ids=…`` per round for all live runs). Goal: mean delay from server-done to
    ``wait()`` returning <= 1.5 s (4.44 s with per-run polls, docs/performance.md P3); no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import machine, table, verdict
from floyo_pack.floyo_client import Config, FloyoClient, Hooks, KeyState, RateLimiter, Transport
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.slots import max_concurrent_runs
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked
from floyo_scripted import Scenario, ServerThread, Step
from p3_polling import watch

WORKFLOW = {"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench"}}}


def client_for(server: ServerThread, key: str, limiter: RateLimiter) -> FloyoClient:
    return FloyoClient(Transport(Config(api_key=key, api_url=server.api_url, cdn_url=server.cdn_url),
                                 state=KeyState(limiter)))


async def fan_out(server: ServerThread, key: str, runs: int, limiter: RateLimiter, journal: Journal) -> float:
    """Seconds from the first create to the last run noticed, ``runs`` at once through run_tracked."""
    async def finish(handle, run):
        return run.id

    async with client_for(server, key, limiter) as client:
        started = time.monotonic()
        await asyncio.gather(*(run_tracked(client, WORKFLOW, journal=journal, hooks=Hooks(), limits=None,
                                           meta=RunMeta(label=f"p6 {i}"), finish=finish)
                               for i in range(runs)))
        return time.monotonic() - started


async def shared(server: ServerThread, durations: list[float], limiter: RateLimiter) -> list[float]:
    async with client_for(server, "flo_p6_list", limiter) as client:
        pairs = await asyncio.gather(*(watch(client, server, s) for s in durations))
    return [noticed - done for done, noticed in pairs]


def run_a(server: ServerThread, runs: int, seconds: float, rate: int,
          window: float) -> tuple[float, float, int]:
    server.scenario = Scenario(steps=[Step("processing", seconds=seconds), Step("done")], rate_limit=rate,
                               rate_window_s=window)
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "runs.jsonl")
        one = asyncio.run(fan_out(server, "flo_p6_one", 1, RateLimiter(rate=rate, window_s=window), journal))
        many = asyncio.run(fan_out(server, "flo_p6_many", runs, RateLimiter(rate=rate, window_s=window),
                                   journal))
    return one, many, sum(1 for r in server.requests.all() if r.status == 429)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="3 short runs each, a 6 s / 10 window")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    fan, seconds, rate, window = 8, 10.0, 100, 60.0
    many = [5.0 + 25.0 * i / (args.runs - 1) for i in range(args.runs)]
    if args.smoke:
        fan, seconds, rate, window, many = 3, 1.0, 10, 6.0, [0.5, 1.0, 1.5]
    keys = {"flo_p6_one", "flo_p6_many", "flo_p6_list"}
    started = time.monotonic()
    with ServerThread(Scenario(), keys=keys) as server:
        one, fanned, limited_a = run_a(server, fan, seconds, rate, window)
        server.scenario = Scenario(steps=[Step("processing")], rate_limit=rate, rate_window_s=window)
        server.reset_rate_limits()
        server.requests.clear()
        delays = asyncio.run(shared(server, many, RateLimiter(rate=rate, window_s=window)))
        limited_b = sum(1 for r in server.requests.all() if r.status == 429)
        listed = sum(1 for r in server.requests.all() if r.method == "GET" and "ids" in r.query)
        polls = len(server.requests.polls())
    print(f"P6 fan-out: server limit {rate} per {window:g} s per key; {machine()}; "
          f"{time.monotonic() - started:.0f}s")
    bound = max_concurrent_runs()
    table(f"(a) {fan} runs of {seconds:g} s on one key, at once (FLOYO_MAX_CONCURRENT_RUNS {bound})", [
        ("one run alone s", f"{one:.2f}"), (f"{fan} runs at once s", f"{fanned:.2f}"),
        (f"{fan} runs one after another s (estimate)", f"{one * fan:.2f}"),
        ("answers 429", str(limited_a))], ("measure", "value"))
    table(f"(b) {len(many)} runs of {many[0]:g}-{many[-1]:g} s on one key, list poll", [
        ("list polls (GET /runs?ids=)", str(listed)), ("own polls (GET /runs/{id})", str(polls)),
        ("mean delay s", f"{statistics.mean(delays):.2f}"), ("max delay s", f"{max(delays):.2f}"),
        ("answers 429", str(limited_b))], ("measure", "value"))
    ratio, mean = fanned / one, statistics.mean(delays)
    table("Goals", [
        (f"(a) {fan} at once / one alone", f"{ratio:.2f}", "<= 1.3", verdict(ratio <= 1.3)),
        ("(a) answers 429", str(limited_a), "0", verdict(limited_a == 0)),
        ("(b) mean delay s", f"{mean:.2f}", "<= 1.5", verdict(mean <= 1.5)),
        ("(b) answers 429", str(limited_b), "0", verdict(limited_b == 0)),
    ], ("goal", "measured", "target", "status"))


if __name__ == "__main__":
    main()
