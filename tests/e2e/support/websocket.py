"""A ComfyUI websocket client for the tests: collects the JSON events (``floyo.run`` among them)
and progress-text frames in a background thread. It only listens: it never sends a prompt.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
import uuid

import aiohttp


class Socket:
    """Collects a ComfyUI websocket's JSON events and progress-text frames in a thread."""

    def __init__(self, url: str):
        self.client_id = "pytest-" + uuid.uuid4().hex[:8]
        self.url = f"{url.replace('http', 'ws', 1)}/ws?clientId={self.client_id}"
        self.events: list[dict] = []
        self.texts: list[tuple[float, str, str]] = []
        self._ready = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(self.url) as ws:
            self._ready.set()
            while not self._stop:
                try:
                    msg = await ws.receive(timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(msg.data))
                elif msg.type == aiohttp.WSMsgType.BINARY and struct.unpack(">I", msg.data[:4])[0] == 3:
                    (n,) = struct.unpack(">I", msg.data[4:8])
                    node, text = msg.data[8:8 + n].decode(), msg.data[8 + n:].decode()
                    self.texts.append((time.monotonic(), node, text))
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return

    def __enter__(self) -> Socket:
        self._thread.start()
        assert self._ready.wait(10), "websocket did not connect"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join(5)
