"""P10: resident memory a gateway adds over many runs with large outputs, beside an idle gateway.

``python bench/p10_gateway_memory.py`` (``--runs 1000 --mib 8`` by default; ``--smoke``: 10 runs
of 1 MiB). Two gateways run as their own processes (``python -m floyo_server``) over one loopback
stand-in of a ComfyUI worker that finishes every prompt at once with one output file (the same
file each time: the gateway streams it from disk like any other). Gateway A serves the runs:
create, poll, then the output fetched through its presigned link and read to the end. Gateway B
only starts and answers one run. Added = A's RSS growth minus B's over the same time (what any
process gains by merely living). Goal (issue #25): <= 32 MiB for 1,000 runs of 8 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from _common import BENCH, machine, table, verdict
from aiohttp import web

KEY = "flo_bench_gateway"
WORKFLOW = {"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench"}}}


class Worker:
    """Finishes each prompt at once with the one output file; serves it from disk with Range."""

    def __init__(self, folder: Path):
        self.folder, self.count, self.url = folder, 0, ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/prompt", self.prompt)
        idle = {"queue_running": [], "queue_pending": []}
        app.router.add_get("/queue", lambda r: web.json_response(idle))
        app.router.add_get("/history/{pid}", self.history)
        app.router.add_get("/view", lambda r: web.FileResponse(self.folder / r.query["filename"]))
        app.router.add_get("/ws", self.ws)
        return app

    async def prompt(self, request: web.Request) -> web.Response:
        await request.read()
        self.count += 1
        return web.json_response({"prompt_id": f"p{self.count}", "number": self.count, "node_errors": {}})

    async def history(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        entry = {"status": {"status_str": "success", "messages": []},
                 "outputs": {"1": {"images": [{"filename": "out.bin", "subfolder": "", "type": "output"}]}}}
        return web.json_response({pid: entry})

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    def serve(self) -> None:
        """On its own loop in a daemon thread; sets ``url`` once bound."""
        ready = threading.Event()

        async def main() -> None:
            runner = web.AppRunner(self.app())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            ready.set()
            await asyncio.Event().wait()

        threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
        ready.wait(10)


def gateway(worker_url: str, state: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "floyo_server", "--gateway", worker_url, "--key", KEY,
                             "--state", str(state), "--log-level", "WARNING", "--rate-limit", "1000000"],
                            cwd=BENCH.parent, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("FLOYO_API_URL="):
        raise RuntimeError("the gateway did not start")
    proc.stdout.readline()  # FLOYO_CDN_URL
    return proc, line.strip().partition("=")[2]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(row for row in status if row.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def one_run(http: aiohttp.ClientSession, cdn: aiohttp.ClientSession, api: str) -> int:
    async with http.post(api + "/runs", json={"workflow": WORKFLOW, "name": "bench"}) as resp:
        assert resp.status == 200, await resp.text()
        run_id = (await resp.json())["id"]
    async with http.get(f"{api}/runs/{run_id}", params={"expand": "outputs.presigned_url"}) as resp:
        [output] = (await resp.json())["outputs"]
    got = 0
    async with cdn.get(output["presigned_url"]) as resp:  # no key: a presigned link refuses one
        async for chunk in resp.content.iter_chunked(1 << 20):
            got += len(chunk)
    assert got == output["size_bytes"], (got, output["size_bytes"])
    return got


async def drive(api: str, runs: int) -> int:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http, \
            aiohttp.ClientSession() as cdn:
        return sum([await one_run(http, cdn, api) for _ in range(runs)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    runs, mib = (10, 1) if args.smoke else (args.runs, args.mib)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "out.bin").write_bytes(os.urandom(mib << 20))
        worker = Worker(folder)
        worker.serve()
        (busy, busy_api), (idle, idle_api) = (gateway(worker.url, folder / n) for n in ("a", "b"))
        try:
            for api in (busy_api, idle_api):
                asyncio.run(drive(api, 1))  # both warmed the same way
            before = rss_mib(busy.pid), rss_mib(idle.pid)
            started = time.monotonic()
            sent = asyncio.run(drive(busy_api, runs))
            took = time.monotonic() - started
            after = rss_mib(busy.pid), rss_mib(idle.pid)
        finally:
            for proc in (busy, idle):
                proc.terminate()
                proc.wait(10)
    grown, drift = after[0] - before[0], after[1] - before[1]
    added = grown - drift
    print(f"{machine()}\n{runs} runs of {mib} MiB ({sent / (1 << 30):.2f} GiB streamed in {took:.0f} s)\n")
    table("P10 gateway memory", [
        ("busy gateway RSS before / after (MiB)", f"{before[0]:.1f} / {after[0]:.1f}", ""),
        ("idle gateway RSS before / after (MiB)", f"{before[1]:.1f} / {after[1]:.1f}", ""),
        ("added: busy growth - idle growth (MiB)", f"{added:.1f}", "<= 32 MiB"),
    ], ("measure", "value", "goal"))
    print(verdict(added <= 32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
