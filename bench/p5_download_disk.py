"""P5: one big output downloaded to disk: peak resident memory added, and throughput against plain aiohttp.

``python bench/p5_download_disk.py`` (``--smoke``: 8 MiB, one round). A file server in its own process
serves one file of ``--mib`` MiB from disk on loopback (aiohttp FileResponse). Each round runs, in a
fresh child process per variant and in alternating order: (a) the pack (``download_file``: stream to a
``.part`` file in a writer thread, verify the length, rename), (b) a plain aiohttp stream-to-file copy
(``iter_chunked`` + ``write``). A child imports everything and warms both paths on a small file, notes
its resident set, then a thread samples ``/proc/self/statm`` every millisecond during the download.
Goals: (a) adds <= 64 MiB of peak resident memory, and (a)'s throughput is >= 0.9x (b)'s (median of
the per-round ratios).

(c) ``video`` (issue 12): a finished run whose one output is an mp4 of the same size, turned into
the node's VIDEO output the way the node does it (download as in (a), then ``run_result.media``: the
header check and ComfyUI's video-from-file input on the saved file). Goal: adds <= 64 MiB of peak
resident memory, so the file is never held in memory whole. It needs ComfyUI's ``comfy_api``
(``$FLOYO_CI_DIR/ComfyUI``, default ``~/.cache/floyo-ci/ComfyUI``); the mp4 is one noise keyframe
(MPEG-4 part 2) muxed again and again, so making 1 GiB takes seconds, and every frame decodes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import BENCH, KEY, machine, median, table, verdict

MIB = 1024 * 1024
VARIANTS = ("pack", "plain", "video")
WARM = "warm.bin"
COMFYUI = Path(os.environ.get("FLOYO_CI_DIR", Path.home() / ".cache" / "floyo-ci")) / "ComfyUI"


def serve(folder: str) -> None:
    """The file server (child process): prints its URL, runs until stdin closes."""
    from aiohttp import web

    async def main() -> None:
        app = web.Application()
        app.router.add_static("/", folder)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)
        await stop.wait()

    asyncio.run(main())


async def same(output: object) -> object:
    return output


async def pack(url: str, dest: Path, size: int | None, transport: object, session: object) -> None:
    """What the node does for one output (its Transport already open, as the node's is)."""
    from floyo_pack.floyo_client import RunOutput
    from floyo_pack.floyo_client.download import download_file

    output = RunOutput(id="file_bench", file_name=dest.name, size_bytes=size, presigned_url=url)
    await download_file(transport, output, same, dest)  # type: ignore[arg-type]


async def plain(url: str, dest: Path, size: int | None, transport: object, session: object) -> None:
    """The plain pattern: stream the body to a file with sync writes, no checks."""
    async with session.get(url) as resp:  # type: ignore[attr-defined]
        resp.raise_for_status()
        with open(dest, "wb") as f:
            async for chunk in resp.content.iter_chunked(MIB):
                f.write(chunk)


async def video(url: str, dest: Path, size: int | None, transport: object, session: object) -> None:
    """What the node does for a run whose output is an mp4: download it, then build its VIDEO."""
    from floyo_pack.nodes.run.run_result import SavedFile, media

    await pack(url, dest, size, transport, session)
    made, _, warnings = await media("run_bench", [SavedFile(str(dest), dest.name, "video", None)])
    if warnings or made.get_dimensions() != (64, 48):
        raise AssertionError(f"not a usable VIDEO: {warnings}")


async def child(variant: str, base: str, out: str, size: int) -> dict[str, float]:
    import aiohttp
    from floyo_pack.floyo_client import Config, Transport
    from p2_memory import PeakSampler, rss

    if variant == "video":
        sys.path.insert(0, str(COMFYUI))  # comfy_api's video-from-file input
    step = {"pack": pack, "plain": plain, "video": video}[variant]
    config = Config(api_key=KEY, api_url=base, cdn_url=base)
    async with Transport(config) as transport, aiohttp.ClientSession() as session:
        warms = (pack, plain) if variant != "video" else (video,)
        for warm in warms:  # lazy imports and first-call costs of every path, on a small file
            name, length = ("warm.mp4", None) if warm is video else (WARM, MIB)  # None: no length check
            await warm(f"{base}/{name}", Path(out) / f"w-{warm.__name__}", length, transport, session)
        baseline = rss()
        sampler = PeakSampler()
        sampler.start()
        dest = Path(out) / f"{variant}.{'mp4' if variant == 'video' else 'bin'}"
        started, cpu = time.perf_counter(), cpu_s()
        await step(f"{base}/{dest.name.replace(variant, 'big')}", dest, size, transport, session)
        seconds, cpu = time.perf_counter() - started, cpu_s() - cpu
        peak = sampler.stop()
    if dest.stat().st_size != size:
        raise AssertionError(f"{variant} saved {dest.stat().st_size} bytes, not {size}")
    dest.unlink()
    return {"baseline": baseline, "peak": peak, "seconds": seconds, "cpu": cpu}


def cpu_s() -> float:
    """CPU seconds of this process, all threads (the file server is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(variant: str, base: str, out: str, size: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(BENCH / "p5_download_disk.py"), "--child", variant, "--base",
                           base, "--out", out, "--bytes", str(size)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{variant} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)  # incompressible, and no run of zeros a filesystem could keep sparse
    with open(path, "wb") as f:
        for start in range(0, size, MIB):
            f.write(block[:min(MIB, size - start)])


def make_mp4(path: Path, size: int) -> None:
    """An mp4 of just under ``size`` bytes: one 64x48 noise keyframe, muxed again and again with a
    padded payload, so it takes seconds, not an hour of encoding."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8),
                                           format="rgb24")
        [first] = [p for p in stream.encode(frame)] or list(stream.encode(None))
        data = bytes(first) + b"\x00" * (MIB - len(bytes(first)))  # decoders stop at the frame's end
        for index in range(max(size // MIB - 1, 1)):  # 1 MiB under: the header fits, FLOYO_MAX_OUTPUT_MB too
            packet = av.Packet(data)
            packet.stream, packet.pts = stream, index
            packet.dts, packet.time_base, packet.is_keyframe = index, Fraction(1, 25), True
            container.mux(packet)


def run_rounds(size: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="floyo-p5-") as tmp:
        served, out = Path(tmp) / "served", Path(tmp) / "out"
        served.mkdir()
        out.mkdir()
        make_file(served / "big.bin", size)
        make_file(served / WARM, MIB)
        make_mp4(served / "big.mp4", size)
        make_mp4(served / "warm.mp4", MIB)
        server = subprocess.Popen([sys.executable, str(BENCH / "p5_download_disk.py"), "--serve",
                                   str(served)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            base = server.stdout.readline().strip()
            sizes = {"video": (served / "big.mp4").stat().st_size}
            for r in range(rounds):
                for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
                    results[variant].append(measure(variant, base, str(out), sizes.get(variant, size)))
        finally:
            server.stdin.close()
            server.wait(10)
    return results


def report(size: int, rounds: int, results: dict[str, list[dict[str, float]]]) -> None:
    added = {v: median([(r["peak"] - r["baseline"]) / MIB for r in results[v]]) for v in VARIANTS}
    speed = {v: median([size / MIB / r["seconds"] for r in results[v]]) for v in VARIANTS}
    ratio = median([q["seconds"] / p["seconds"]
                    for p, q in zip(results["pack"], results["plain"], strict=True)])
    print(f"P5 download to disk: {size / MIB:.0f} MiB from a loopback file server, {rounds} round(s), "
          f"medians, fresh process per variant; {machine()}")
    label = {"pack": "(a) pack", "plain": "(b) plain", "video": "(c) pack, mp4 -> VIDEO"}
    table("Per variant", [(label[v], f"{speed[v]:.0f}", f"{added[v]:.1f}",
                           f"{median([r['seconds'] for r in results[v]]):.2f}",
                           f"{median([r['cpu'] for r in results[v]]):.2f}") for v in VARIANTS],
          ("variant", "MiB/s", "peak RSS added MiB", "wall s", "client CPU s"))
    pairs = zip(results["pack"], results["plain"], strict=True)
    rounds_text = ", ".join(f"{p['seconds']:.2f}/{q['seconds']:.2f}" for p, q in pairs)
    print(f"\nSeconds per round (a/b): {rounds_text}")
    table("Goals (throughput: median of the per-round ratios; ratio of the medians beside it)", [
        ("pack added peak RSS (MiB)", f"{added['pack']:.1f}", "", "<= 64 MiB", verdict(added["pack"] <= 64)),
        ("pack / plain throughput", f"{ratio:.2f}", f"{speed['pack'] / speed['plain']:.2f}", ">= 0.9",
         verdict(ratio >= 0.9)),
        ("mp4 -> VIDEO added peak RSS (MiB)", f"{added['video']:.1f}", "", "<= 64 MiB",
         verdict(added["video"] <= 64)),
    ], ("measure", "measured", "of medians", "goal", "status"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="8 MiB, one round (checks it works)")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.base, args.out, args.bytes))))
        return None
    if args.smoke:
        args.mib, args.rounds = 8, 1
    size = args.mib * MIB
    report(size, args.rounds, run_rounds(size, args.rounds))
    return None


if __name__ == "__main__":
    main()
