"""The worker's websocket, followed for live progress: the node running each prompt and its step.

One task per gateway reads ``/ws?clientId=…`` (the id the gateway's prompts are queued under) and
keeps the last ``progress`` per prompt, forgetting a prompt when it ends; it reconnects after a
drop. Progress is a courtesy: nothing waits on it and its absence changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

import aiohttp

log = logging.getLogger(__name__)

RECONNECT_S = 2.0
_ENDS = frozenset({"execution_success", "execution_error", "execution_interrupted"})


@dataclass(frozen=True)
class Step:
    node: str
    value: int
    max: int


class WorkerEvents:
    """The last step of each prompt the worker is running, from its websocket."""

    def __init__(self, base_url: str, client_id: str):
        self._url = base_url.rstrip("/") + f"/ws?clientId={client_id}"
        self.steps: dict[str, Step] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self._url, heartbeat=30) as ws:
                        async for message in ws:
                            if message.type is aiohttp.WSMsgType.TEXT:
                                self.take(message.data)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.debug("worker websocket: %r", exc)
                await asyncio.sleep(RECONNECT_S)

    def take(self, text: str) -> None:
        """One websocket message: a step noted, or a prompt's steps forgotten when it ends."""
        try:
            event = json.loads(text)
            kind, data = event.get("type"), event.get("data") or {}
            prompt_id = str(data.get("prompt_id") or "")
        except (ValueError, AttributeError):
            return
        if not prompt_id:
            return
        if kind == "progress" and isinstance(data.get("value"), int) and isinstance(data.get("max"), int):
            self.steps[prompt_id] = Step(str(data.get("node") or ""), data["value"], data["max"])
        elif kind in _ENDS or (kind == "executing" and data.get("node") is None):
            self.steps.pop(prompt_id, None)
