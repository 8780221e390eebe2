"""P2: peak resident memory added while producing the 16-image batch, as a multiple of the tensor.

``python bench/p2_memory.py`` (``--smoke``: 2 tiny outputs). Each variant runs in a fresh child
process against the same local server process: the child imports everything, decodes a tiny image
through the same code (lazy imports), notes its resident set, then a thread samples
``/proc/self/statm`` every millisecond while the variant builds the batch. Added = peak - baseline,
divided by the final IMAGE tensor's size. Goal: pack <= 1.3x; the peer pattern needs >= 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import threading
import time

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import BENCH, client_for, machine, server_process, table, verdict

PAGE = os.sysconf("SC_PAGE_SIZE")
VARIANTS = ("pack", "peer", "limit")
DESCRIPTIONS = {
    "pack": "(a) pack: collect() download+save+decode",
    "peer": "(c) peer: sequential download, PIL->numpy->list->cat",
    "limit": "(b) fetch all bytes, then decode into a preallocated tensor",
}


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakSampler(threading.Thread):
    def __init__(self, period_s: float = 0.001):
        super().__init__(daemon=True)
        self.period_s, self.peak, self._done = period_s, rss(), threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.period_s)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, rss())


def warm_up() -> None:
    """Trigger lazy imports and first-call costs of every path on a tiny image (not the batch)."""
    import _variants
    import numpy as np
    from floyo_pack.nodes.decode.batch_decoder import BatchDecoder
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, "PNG")
    blob = buffer.getvalue()
    BatchDecoder(1).finish([blob], ["w.png"])  # the plain decode (a fallback's path)
    fast = BatchDecoder(1)
    fast.add(0, blob, "w.png")
    fast.finish([blob], ["w.png"])  # the decode-while-downloading path
    _variants.decode_all([blob])


async def child(variant: str, api: str, cdn: str) -> dict[str, float]:
    import _variants

    async with client_for(api, cdn) as client:
        run = await _variants.finished_run(client)
        warm_up()
        baseline = rss()
        sampler = PeakSampler()
        sampler.start()
        if variant == "pack":
            images = await _variants.pack(client, run)
        elif variant == "peer":
            images = await _variants.peer(run)
        else:
            images = _variants.decode_all(await _variants.fetch_all(run))
        peak = sampler.stop()
    return {"baseline": baseline, "peak": peak, "tensor": images.numel() * images.element_size(),
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def measure(variant: str, api: str, cdn: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(BENCH / "p2_memory.py"), "--child", variant, "--api", api,
                          "--cdn", cdn], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{variant} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 tiny outputs (checks it works)")
    parser.add_argument("--outputs", type=int, default=16)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--cdn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.api, args.cdn))))
        return
    if args.smoke:
        args.outputs, args.size = 2, 64
    with server_process(args.outputs, args.size) as (api, cdn):
        results = {v: measure(v, api, cdn) for v in VARIANTS}
    mib = 1024 * 1024
    tensor = results["pack"]["tensor"]
    print(f"P2 peak memory added: {args.outputs} x {args.size}x{args.size} RGB PNG -> IMAGE of "
          f"{tensor / mib:.1f} MiB; fresh process per variant; {machine()}")
    rows, ratios = [], {}
    for v in VARIANTS:
        r = results[v]
        ratios[v] = (r["peak"] - r["baseline"]) / r["tensor"]
        rows.append((DESCRIPTIONS[v], f"{r['baseline'] / mib:.0f}", f"{r['peak'] / mib:.0f}",
                     f"{(r['peak'] - r['baseline']) / mib:.1f}", f"{ratios[v]:.2f}"))
    table("Resident memory (MiB)", rows, ("variant", "baseline", "peak", "added", "added / tensor"))
    table("Ratios", [
        ("pack added / tensor", f"{ratios['pack']:.2f}", "<= 1.3", verdict(ratios["pack"] <= 1.3)),
        ("peer added / tensor", f"{ratios['peer']:.2f}", ">= 2 (the pattern we replace)",
         verdict(ratios["peer"] >= 2.0)),
    ], ("ratio", "measured", "goal", "status"))


if __name__ == "__main__":
    main()
