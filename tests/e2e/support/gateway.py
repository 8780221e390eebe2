"""Gateway mode end to end: a worker ComfyUI without the pack, the Floyo-compatible gateway in
front of it, and a client ComfyUI with the pack keyed for the gateway. Everything it starts it
stops when the ``gateway_stack`` block ends.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floyo_scripted import GatewayServer, ServerThread, matrix
from floyo_scripted.gateway_realism import GatewayShaping

from .comfy import COMFY_LEG, Comfy, require_comfyui

GATEWAY_KEY = "flo_gateway_e2e"
WORKER_NODES = Path(__file__).resolve().parents[1] / "worker_nodes"


@dataclass
class Stack:
    worker: Comfy
    gateway: ServerThread
    client: Comfy
    shaping: GatewayShaping  # ``shaping.scenario.realism``: how the gateway's answers travel
    state_dir: Path | None = None

    def restart_gateway(self, down_s: float = 1.0) -> None:
        """Stop the gateway (its loop and sockets gone, as a killed process's), wait ``down_s``,
        and start a new one on the same ports over the same state folder."""
        api_port, cdn_port = (int(u.rsplit(":", 1)[1]) for u in (self.gateway.api_url, self.gateway.cdn_url))
        self.gateway.stop()
        time.sleep(down_s)
        self.gateway = ServerThread(server=GatewayServer(
            self.worker.url, keys=[GATEWAY_KEY], state_dir=self.state_dir, api_port=api_port,
            cdn_port=cdn_port, app_hook=self.shaping.hook)).start()

    def new_run(self, known: set[str], timeout: float = 30.0):
        """The first gateway run not in ``known`` that has reached the worker."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            fresh = [r for r in self.gateway.runs.values() if r.id not in known]
            if fresh:
                return fresh[0]
            time.sleep(0.05)
        raise TimeoutError("no run reached the gateway")

    def api(self, path: str) -> dict:
        req = urllib.request.Request(self.gateway.api_url + path,
                                     headers={"Authorization": f"Bearer {GATEWAY_KEY}"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def gateway_stack(tmp_path_factory, name: str, realism: Any = None, worker_leg: matrix.Leg = COMFY_LEG,
                  client_leg: matrix.Leg = COMFY_LEG, worker_nodes: bool = False):
    """A worker ComfyUI (no pack) and a client ComfyUI (the pack, keyed for the gateway) with the
    Floyo-compatible gateway between them; both ComfyUIs start in parallel (~12 s). Both run the
    ComfyUI under test unless ``worker_leg``/``client_leg`` name another of the matrix; with
    ``worker_nodes`` the worker also has tests/e2e/worker_nodes/remote_only."""
    require_comfyui()
    worker = Comfy(tmp_path_factory.mktemp(f"{name}-worker"), pack=False, leg=worker_leg)
    if worker_nodes:
        (worker.custom_nodes_dir / "remote_only").symlink_to(WORKER_NODES / "remote_only")
    shaping = GatewayShaping(realism)
    state_dir = tmp_path_factory.mktemp(f"{name}-gateway-state")
    server = GatewayServer(worker.url, keys=[GATEWAY_KEY], app_hook=shaping.hook, state_dir=state_dir)
    gateway = ServerThread(server=server).start()
    client = Comfy(tmp_path_factory.mktemp(f"{name}-client"), env={
        "FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": GATEWAY_KEY},
        leg=client_leg)
    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(worker.start), pool.submit(client.start)]:
                started.result()
        stack = Stack(worker, gateway, client, shaping, state_dir)
        yield stack
    finally:
        for comfy in (client, worker):
            comfy.stop()
        (stack.gateway if "stack" in locals() else gateway).stop()
