"""P3: how soon a finished run is noticed, alone and when 20 runs share one key's rate limit.

``python bench/p3_polling.py`` (``--smoke``: short runs, a 6 s window). The local server runs in a
thread of this process, so its record of when a run became done (``RunRecord.started`` once the
time-based "processing" step has passed: the exact moment, whenever a poll observes it) and the
client's ``time.monotonic()`` when ``RunHandle.wait()`` returns share one clock. Runs are created
with ``start_run`` and watched with ``RunHandle.wait()`` and the default ``Limits()``, as the node
does.

(a) Runs of 3-29.5 s, each alone on its own key (they run at the same time to save wall time;
    separate keys and limiters make them independent). Goal: median delay <= 1 s.
(a') The same over a link shaped by the server's realism layer: 80 ms latency before every
    answer, bodies split, chunked and gzipped. Goal: median delay <= 1.2 s.
(b) 20 runs of 5-30 s started together on ONE key, against the server's limiter (100 requests per
    60 s window per key, the real numbers) and the pack's process-wide limiter for that key.
    Goals: no 429, every run finishes; the mean delay is printed beside the fair-share bound:
    with R = 100/60 requests/s split evenly over the N runs in flight, each run is polled every
    N/R s and notices its end N/(2R) s late on average (6.0 s for N = 20); the "in flight" column
    uses N = runs not yet finished when each one ends.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import machine, table, verdict
from floyo_pack.floyo_client import Config, FloyoClient, KeyState, RateLimiter, Transport, start_run
from floyo_scripted import Scenario, ServerThread, Step
from floyo_scripted.realism import Realism

LINK_LATENCY_S = 0.080

WORKFLOW = {"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench"}}}


async def watch(client: FloyoClient, server: ServerThread, seconds: float) -> tuple[float, float]:
    """Create one run lasting ``seconds``; (server done time, client noticed time), monotonic."""
    handle = await start_run(client, WORKFLOW, label=f"bench {seconds:.1f}s")
    # The scenario's script never ends; this run's own script starts now (no await in between).
    server.set_steps(handle.run_id, [Step("processing", seconds=seconds), Step("done")])
    await handle.wait()
    noticed = time.monotonic()
    record = server.run(handle.run_id)
    return record.started, noticed  # ``started`` of the final step = when "processing" ended


def client_for(server: ServerThread, key: str, limiter: RateLimiter) -> FloyoClient:
    config = Config(api_key=key, api_url=server.api_url, cdn_url=server.cdn_url)
    return FloyoClient(Transport(config, state=KeyState(limiter)))


async def alone(server: ServerThread, durations: list[float]) -> list[float]:
    async def one(i: int, seconds: float) -> float:
        async with client_for(server, f"flo_alone_{i}", RateLimiter()) as client:
            done, noticed = await watch(client, server, seconds)
            return noticed - done

    return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(durations))))


async def shared(server: ServerThread, durations: list[float], rate: int,
                 window_s: float) -> list[tuple[float, float]]:
    limiter = RateLimiter(rate=rate, window_s=window_s)  # what key_state() gives a key
    async with client_for(server, "flo_shared", limiter) as client:
        return list(await asyncio.gather(*(watch(client, server, s) for s in durations)))


def fair_share(ends: list[float], rate_per_s: float) -> tuple[float, float]:
    """(N/(2R) for all runs, mean over runs of n_in_flight/(2R) when each one ends)."""
    static = len(ends) / (2 * rate_per_s)
    in_flight = [sum(e >= end for e in ends) for end in ends]
    return static, statistics.mean(n / (2 * rate_per_s) for n in in_flight)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="3 short runs each, a 6 s / 10 window")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="server limit per window per key")
    parser.add_argument("--window", type=float, default=60.0, help="server window (s)")
    args = parser.parse_args()
    single = [3.0 + 26.5 * i / 9 for i in range(10)]
    many = [5.0 + 25.0 * i / (args.runs - 1) for i in range(args.runs)]
    if args.smoke:
        single, many, args.rate, args.window = [0.5, 1.5], [0.5, 1.0, 1.5], 10, 6.0
    keys = {"flo_shared"} | {f"flo_alone_{i}" for i in range(len(single))}
    started = time.monotonic()
    with ServerThread(Scenario(steps=[Step("processing")], rate_limit=args.rate,
                                   rate_window_s=args.window), keys=keys) as server:
        delays = asyncio.run(alone(server, single))
        server.realism = Realism.internet(latency_s=LINK_LATENCY_S, jitter_s=0.0)
        shaped = asyncio.run(alone(server, single))
        server.realism = Realism()
        server.reset_rate_limits()
        server.requests.clear()
        t0 = time.monotonic()
        pairs = asyncio.run(shared(server, many, args.rate, args.window))
        limited = sum(1 for r in server.requests.all() if r.status == 429)
        polls = len(server.requests.polls())
        finished = sum(1 for run in server.runs.values() if run.phase.terminal and run.key == "flo_shared")
    shared_delays = [noticed - done for done, noticed in pairs]
    static, in_flight = fair_share([done - t0 for done, _ in pairs], args.rate / args.window)
    print(f"P3 polling: default Limits()/PollSchedule, server limit {args.rate} per {args.window:g} s "
          f"per key; "
          f"{machine()}; {time.monotonic() - started:.0f}s")
    table("(a) one run at a time: delay from server-done to wait() returning (s)",
          [(f"{s:.1f}", f"{d:.2f}", f"{e:.2f}") for s, d, e in zip(single, delays, shaped, strict=True)],
          ("run length s", "delay s, loopback", f"delay s, {LINK_LATENCY_S * 1000:.0f} ms link"))
    table(f"(b) {len(many)} runs of {many[0]:g}-{many[-1]:g} s on one key", [
        ("runs finished", f"{finished}/{len(many)}"),
        ("answers 429", str(limited)),
        ("polls sent", str(polls)),
        ("mean delay s", f"{statistics.mean(shared_delays):.2f}"),
        ("max delay s", f"{max(shared_delays):.2f}"),
        ("fair-share bound, all runs sharing: N/(2R) s", f"{static:.2f}"),
        ("fair-share bound, runs in flight s", f"{in_flight:.2f}"),
    ], ("measure", "value"))
    median, median_shaped = statistics.median(delays), statistics.median(shaped)
    table("Goals", [
        ("(a) median delay s", f"{median:.2f}", "<= 1.0", verdict(median <= 1.0)),
        (f"(a') median delay s, {LINK_LATENCY_S * 1000:.0f} ms link", f"{median_shaped:.2f}", "<= 1.2",
         verdict(median_shaped <= 1.2)),
        ("(b) answers 429", str(limited), "0", verdict(limited == 0)),
        ("(b) runs finished", f"{finished}/{len(many)}", "all", verdict(finished == len(many))),
        ("(b) mean delay / fair share (all sharing)", f"{statistics.mean(shared_delays) / static:.2f}",
         "printed beside the bound", "-"),
    ], ("goal", "measured", "target", "status"))


if __name__ == "__main__":
    main()
