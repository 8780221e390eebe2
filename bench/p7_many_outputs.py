"""P7: many outputs over a far link: is the pack limited by the link, not by round trips?

``python bench/p7_many_outputs.py`` (``--smoke``: tiny cases, one round). Each case runs the
P1 variants (``p1_outputs.run_case``) against its own bench server whose answers the realism
layer shapes: a round trip per answer and per new connection, and one link of 200 Mbit/s
(25,000,000 bytes/s) shared by every connection. The limit is max(fetch all files at once over
the same link, decode all from memory on every core); the peer pattern downloads one file after
another over the same link. Ratios are taken per round (variants back to back), median reported.

Goals (issue #16): 120 x 256² PNG at 40 ms: pack <= 1.1 x the limit; the same at 100 ms:
<= 1.15 x; 16 x 1024² PNG at 40 ms: <= 1.05 x and the peer >= 1.8 x the pack.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import Link, machine, table, verdict
from p1_outputs import run_case


@dataclass(frozen=True)
class Case:
    outputs: int
    size: int
    link: str
    goal: float  # pack / limit at most
    peer_goal: float | None = None  # peer / pack at least


CASES = [Case(120, 256, "40ms,200mbit", 1.10), Case(120, 256, "100ms,200mbit", 1.15),
         Case(16, 1024, "40ms,200mbit", 1.05, 1.8)]
SMOKE = [Case(6, 32, "40ms,200mbit", 1.10), Case(6, 32, "100ms,200mbit", 1.15),
         Case(2, 64, "40ms,200mbit", 1.05, 1.8)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny cases, 1 round (checks it works)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases, rounds = (SMOKE, 1) if args.smoke else (CASES, args.rounds)
    started = time.perf_counter()
    rows = []
    for case in cases:
        res = run_case(case.outputs, case.size, Link.parse(case.link), rounds)
        t = res.times
        peer = (f">= {case.peer_goal}", verdict(res.ca >= case.peer_goal)) if case.peer_goal else ("", "")
        rows.append((f"{case.outputs} x {case.size}² PNG, {case.link}", f"{t['pack']:.3f}",
                     f"{res.limit:.3f} ({t['fetch']:.3f}, {t['decode']:.3f})", f"{res.ab:.2f}",
                     f"<= {case.goal}", verdict(res.ab <= case.goal), f"{t['peer']:.3f}", f"{res.ca:.2f}",
                     *peer, res.load))
    print(f"P7 many outputs over a shaped link: {rounds} round(s) per case, medians; {machine()}; "
          f"{time.perf_counter() - started:.0f}s")
    table("Pack beside the link-bound limit (ratios: median of per-round ratios)", rows,
          ("case", "pack s", "limit s (fetch, decode)", "pack / limit", "goal", "status", "peer s",
           "peer / pack", "goal", "status", "load average at end"))


if __name__ == "__main__":
    main()
