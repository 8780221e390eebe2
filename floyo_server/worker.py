"""HTTP client for the ComfyUI worker behind gateway mode: its own API, spoken as ComfyUI speaks it.

One method per worker endpoint (``/prompt``, ``/queue``, ``/history``, ``/interrupt``, ``/view``,
``/upload/image``). It knows nothing of Floyo's shapes and keeps no run state; network failures
become ``WorkerUnavailable`` so the gateway can answer 502.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

CLIENT_ID = "floyo-gateway"
_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)


class WorkerUnavailable(Exception):
    """The worker could not be reached or answered with an unexpected status."""


@dataclass(frozen=True)
class Submitted:
    """The worker's answer to ``POST /prompt``: a prompt id, or the validation error body (HTTP 400).
    ``node_errors`` on an accepted prompt: the outputs the worker dropped (it runs the valid ones)."""

    prompt_id: str | None
    rejection: dict[str, Any] | None = None
    node_errors: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueueState:
    """Prompt ids the worker is running now and those still waiting."""

    running: frozenset[str]
    pending: frozenset[str]


def _ids(items: Any) -> frozenset[str]:
    # /queue items are [number, prompt_id, prompt, extra_data, outputs_to_execute]
    return frozenset(str(item[1]) for item in items or () if isinstance(item, list) and len(item) > 1)


class WorkerClient:
    """Calls one ComfyUI server. Create and close it on the loop that uses it."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=_TIMEOUT)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        if self._session is None:
            raise RuntimeError("worker client not started")
        try:
            async with self._session.request(method, self.base_url + path, **kwargs) as response:
                if response.content_type == "application/json":
                    return response.status, await response.json()
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:  # ValueError: bad JSON
            raise WorkerUnavailable(f"ComfyUI worker {self.base_url} unreachable: {exc!r}") from exc

    async def _ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, body = await self._call(method, path, **kwargs)
        if status != 200:
            raise WorkerUnavailable(f"ComfyUI worker answered {method} {path} with HTTP {status}")
        return body

    async def submit(self, prompt: dict[str, Any]) -> Submitted:
        """Queue an API-format prompt. A 400 (validation) is returned, not raised."""
        status, body = await self._call("POST", "/prompt", json={"prompt": prompt, "client_id": CLIENT_ID})
        if status == 200 and isinstance(body, dict) and body.get("prompt_id"):
            errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else None
            return Submitted(prompt_id=str(body["prompt_id"]), node_errors=errors)
        if status == 400 and isinstance(body, dict):
            return Submitted(prompt_id=None, rejection=body)
        raise WorkerUnavailable(f"ComfyUI worker answered POST /prompt with HTTP {status}")

    async def comfyui_version(self) -> str | None:
        """The worker's ComfyUI release (``/system_stats``), or None when it does not say."""
        try:
            body = await self._ok("GET", "/system_stats")
        except WorkerUnavailable:
            return None
        system = body.get("system") if isinstance(body, dict) else None
        version = system.get("comfyui_version") if isinstance(system, dict) else None
        return str(version) if version else None

    async def queue(self) -> QueueState:
        body = await self._ok("GET", "/queue")
        body = body if isinstance(body, dict) else {}
        return QueueState(running=_ids(body.get("queue_running")), pending=_ids(body.get("queue_pending")))

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's history entry, or None while it has none (queued, running or removed)."""
        body = await self._ok("GET", f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    async def interrupt(self, prompt_id: str) -> None:
        """Targeted interrupt: the worker ignores it unless ``prompt_id`` is the one running."""
        await self._ok("POST", "/interrupt", json={"prompt_id": prompt_id})

    async def delete_pending(self, prompt_id: str) -> None:
        await self._ok("POST", "/queue", json={"delete": [prompt_id]})

    async def view(self, filename: str, subfolder: str, kind: str) -> bytes:
        """The bytes of one file from the worker's output/temp/input folder."""
        params = {"filename": filename, "subfolder": subfolder, "type": kind}
        body = await self._ok("GET", "/view", params=params)
        if not isinstance(body, bytes):
            raise WorkerUnavailable("ComfyUI worker sent JSON for /view")
        return body

    async def exists(self, filename: str, subfolder: str) -> bool:
        """Whether the worker's input folder already holds ``subfolder/filename``."""
        params = {"filename": filename, "subfolder": subfolder, "type": "input"}
        status, _ = await self._call("GET", "/view", params=params)
        return status == 200

    async def upload(self, data: bytes, filename: str, subfolder: str, *, overwrite: bool) -> dict[str, Any]:
        """Save a file into the worker's input folder; returns ``{name, subfolder, type}``.

        Without ``overwrite`` the worker keeps an identical existing file and otherwise renames
        the new one ``name (1).ext``, ``name (2).ext``, ... (ComfyUI's ``/upload/image``).
        """
        form = aiohttp.FormData()
        form.add_field("image", data, filename=filename, content_type="application/octet-stream")
        form.add_field("subfolder", subfolder)
        form.add_field("type", "input")
        form.add_field("overwrite", "true" if overwrite else "false")
        body = await self._ok("POST", "/upload/image", data=form)
        if not isinstance(body, dict) or not body.get("name"):
            raise WorkerUnavailable("ComfyUI worker's /upload/image returned no name")
        return body
