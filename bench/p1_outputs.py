"""P1: a finished run's outputs -> the IMAGE tensor, against the limit and the common peer pattern.

``python bench/p1_outputs.py`` (``--smoke``: 2 tiny outputs, one round). The local server runs in
its own process on loopback and serves 16 realistic 1024x1024 RGB PNGs. Each round times, in a
rotating order: (a) the pack's pipeline (nodes/run/collect.collect: download, save, decode), (b) the
limit = max(fetch all bytes concurrently, decode all from memory into a preallocated tensor on all
cores), (c) sequential downloads + PIL -> numpy -> list -> torch.cat. The ratios are taken per
round (the variants ran back to back) and their median reported; medians of the times are shown.
Goals: (a) <= 1.15 x (b) and (c) / (a) >= 1.8.

``--link 40ms,200mbit`` shapes the server's answers with the realism layer (a round trip per
answer and per new connection, 25,000,000 bytes/s shared by every connection). There the limit
is the transfer, so the pipeline must hide the decode: goal (a) <= 1.05 x (b). Every variant
starts from cold connections each round (the pack's connection pool is closed before each
round), as a run does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import time
from dataclasses import dataclass

import _pack  # noqa: F401  (loads the pack as floyo_pack)
import _variants
import torch
from _common import Link, Timer, client_for, load, machine, median, server_process, table, verdict


async def measure(api: str, cdn: str, rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    times: dict[str, list[float]] = {"pack": [], "fetch": [], "decode": [], "peer": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    async with client_for(api, cdn) as client:
        run = await _variants.finished_run(client)
        blobs = await _variants.fetch_all(run)

        async def pack() -> torch.Tensor:
            return await _variants.pack(client, run)

        async def fetch() -> list[bytes]:
            return await _variants.fetch_all(run)

        async def decode() -> torch.Tensor:
            return _variants.decode_all(blobs)

        async def peer() -> torch.Tensor:
            return await _variants.peer(run)

        steps = {"pack": pack, "fetch": fetch, "decode": decode, "peer": peer}
        reference = _variants.decode_all(blobs)
        for name, step in steps.items():  # warm up, and check every variant makes the same batch
            result = await step()
            if isinstance(result, torch.Tensor) and not torch.equal(result, reference):
                raise AssertionError(f"{name} made a different tensor")
        names = list(steps)
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                await client.transport.close()  # the pack starts from cold connections, as the others do
                gc.collect()
                before = cpu_s()
                with Timer() as t:
                    result = await steps[name]()
                times[name].append(t.seconds)
                cpu[name].append(cpu_s() - before)
                del result
    return times, cpu


def cpu_s() -> float:
    """CPU seconds of this process, all threads (the server's own process is not counted)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Result:
    """One case's medians (wall and client CPU seconds per variant) and per-round ratios."""

    times: dict[str, float]
    cpu: dict[str, float]
    ab: float  # median over rounds of pack / max(fetch, decode)
    ca: float  # median over rounds of peer / pack
    load: str  # the load average as the case ended

    @property
    def limit(self) -> float:
        return max(self.times["fetch"], self.times["decode"])


def run_case(outputs: int, size: int, link: Link | None, rounds: int) -> Result:
    """Serve ``outputs`` PNGs of ``size``² (over ``link``) and time every variant ``rounds`` times."""
    with server_process(outputs, size, link) as (api, cdn):
        times, cpu = asyncio.run(measure(api, cdn, rounds))
    # Paired per round (all four ran back to back), then the median: robust to load that drifts.
    paired = list(zip(times["pack"], times["fetch"], times["decode"], times["peer"], strict=True))
    return Result(times={k: median(v) for k, v in times.items()}, cpu={k: median(v) for k, v in cpu.items()},
                  ab=median([ra / max(rf, rd) for ra, rf, rd, _ in paired]),
                  ca=median([rc / ra for ra, _, _, rc in paired]), load=load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 tiny outputs, 1 round (checks it works)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--outputs", type=int, default=16)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--link", type=Link.parse, default=None,
                        help="shape the link, e.g. 40ms,200mbit (default: plain loopback)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.outputs, args.size = 1, 2, 64
    started = time.perf_counter()
    res = run_case(args.outputs, args.size, args.link, args.rounds)
    a, fetch, decode, c = (res.times[k] for k in ("pack", "fetch", "decode", "peer"))
    c_a, c_f, c_d, c_c = (res.cpu[k] for k in ("pack", "fetch", "decode", "peer"))
    b = res.limit
    goal = 1.15 if args.link is None else 1.05
    where = "loopback" if args.link is None else f"link {args.link}"
    print(f"P1 outputs -> tensor: {args.outputs} x {args.size}x{args.size} RGB PNG over {where}, "
          f"{args.rounds} round(s), medians; {machine()}; {time.perf_counter() - started:.0f}s")
    table("Times (s)", [
        ("(a) pack: collect() download+save+decode", f"{a:.3f}", f"{c_a:.3f}"),
        ("(b) limit = max(fetch, decode)", f"{b:.3f}", f"{c_f + c_d:.3f}"),
        ("    fetch all bytes concurrently", f"{fetch:.3f}", f"{c_f:.3f}"),
        ("    decode all into preallocated tensor, all cores", f"{decode:.3f}", f"{c_d:.3f}"),
        ("(c) peer: sequential download, PIL->numpy->list->cat", f"{c:.3f}", f"{c_c:.3f}"),
    ], ("variant", "median wall s", "median CPU s (client, all threads)"))
    table("Ratios (median of per-round ratios; ratio of the medians beside it)", [
        ("(a) / (b)", f"{res.ab:.2f}", f"{a / b:.2f}", f"<= {goal}", verdict(res.ab <= goal)),
        ("(c) / (a)", f"{res.ca:.2f}", f"{c / a:.2f}", ">= 1.8", verdict(res.ca >= 1.8)),
    ], ("ratio", "measured", "of medians", "goal", "status"))


if __name__ == "__main__":
    main()
