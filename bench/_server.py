"""The local Floyo server in its own process, so its CPU and memory are not the client's.

``python bench/_server.py --outputs 16 --size 1024`` serves runs that finish at once with that
many realistic RGB PNGs (generated before the URLs are printed, so no bench times generation),
and prints ``FLOYO_API_URL=…``/``FLOYO_CDN_URL=…`` lines. Runs until stdin closes or SIGTERM.
``--latency-ms 40 --bandwidth-bps 25000000`` shapes every answer with the realism layer: one
round trip before each answer, one more on each new connection (the TCP handshake loopback makes
free), and one link of that many bytes per second shared by every connection.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from floyo_scripted import OutputSpec, Scenario, ScriptedServer, Step, generate_output
from floyo_scripted.realism import Realism


def specs(count: int, size: int) -> list[OutputSpec]:
    return [OutputSpec(format="png", size=(size, size), seed=i) for i in range(count)]


def link(latency_ms: float, bandwidth_bps: float) -> Realism:
    """A far CDN: a round trip per answer and per new connection, one shared link."""
    return Realism(latency_s=latency_ms / 1000, handshake_s=latency_ms / 1000, bandwidth_bps=bandwidth_bps,
                   bandwidth_scope="shared")


async def serve(count: int, size: int, latency_ms: float = 0.0, bandwidth_bps: float = 0.0) -> None:
    outputs = specs(count, size)
    for spec in outputs:
        generate_output(spec)  # cached per process: the first GET of a done run is then instant
    scenario = Scenario(outputs=outputs, steps=[Step("done")], rate_limit=100_000)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), stop.set)  # the parent went away
    async with ScriptedServer(scenario) as server:
        if latency_ms > 0 or bandwidth_bps > 0:
            server.realism = link(latency_ms, bandwidth_bps)
        sys.stdout.write(f"FLOYO_API_URL={server.api_url}\nFLOYO_CDN_URL={server.cdn_url}\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=16)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="round trip added to each answer")
    parser.add_argument("--bandwidth-bps", type=float, default=0.0, help="shared link, bytes per second")
    args = parser.parse_args()
    asyncio.run(serve(args.outputs, args.size, args.latency_ms, args.bandwidth_bps))
