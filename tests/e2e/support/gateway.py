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
from typing import Any

from floyo_scripted import ServerThread, matrix
from floyo_scripted.gateway_realism import GatewayShaping

from .comfy import COMFY_LEG, Comfy, require_comfyui

GATEWAY_KEY = "flo_gateway_e2e"


@dataclass
class Stack:
    worker: Comfy
    gateway: ServerThread
    client: Comfy
    shaping: GatewayShaping  # ``shaping.scenario.realism``: how the gateway's answers travel

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
                  client_leg: matrix.Leg = COMFY_LEG):
    """A worker ComfyUI (no pack) and a client ComfyUI (the pack, keyed for the gateway) with the
    Floyo-compatible gateway between them; both ComfyUIs start in parallel (~12 s). Both run the
    ComfyUI under test unless ``worker_leg``/``client_leg`` name another of the matrix."""
    from floyo_scripted import GatewayServer

    require_comfyui()
    worker = Comfy(tmp_path_factory.mktemp(f"{name}-worker"), pack=False, leg=worker_leg)
    shaping = GatewayShaping(realism)
    server = GatewayServer(worker.url, keys=[GATEWAY_KEY], app_hook=shaping.hook)
    gateway = ServerThread(server=server).start()
    client = Comfy(tmp_path_factory.mktemp(f"{name}-client"), env={
        "FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": GATEWAY_KEY},
        leg=client_leg)
    try:
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(worker.start), pool.submit(client.start)]:
                started.result()
        yield Stack(worker, gateway, client, shaping)
    finally:
        for comfy in (client, worker):
            comfy.stop()
        gateway.stop()
