"""HTTP client for the ComfyUI worker behind gateway mode: its own API, spoken as ComfyUI speaks it.

One method per worker endpoint (``/prompt``, ``/queue``, ``/history``, ``/interrupt``, ``/view``,
``/upload/image``). It knows nothing of Floyo's shapes and keeps no run state; network failures
become ``WorkerUnavailable``. File bytes pass through as streams, never read whole.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

CLIENT_ID = "floyo-gateway"
_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
# a run's status: asked every few seconds and on each poll, so a hung worker must not hold it long
_STATUS_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
# a file streamed through: no total, but a worker silent this long is gone
_STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=60)


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

    def __init__(self, base_url: str, client_id: str = CLIENT_ID):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id  # the worker sends a prompt's progress to this websocket id
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
        body_sent = {"prompt": prompt, "client_id": self.client_id}
        status, body = await self._call("POST", "/prompt", json=body_sent)
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
        body = await self._ok("GET", "/queue", timeout=_STATUS_TIMEOUT)
        body = body if isinstance(body, dict) else {}
        return QueueState(running=_ids(body.get("queue_running")), pending=_ids(body.get("queue_pending")))

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The prompt's history entry, or None while it has none (queued, running or removed)."""
        body = await self._ok("GET", f"/history/{prompt_id}", timeout=_STATUS_TIMEOUT)
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    async def interrupt(self, prompt_id: str) -> None:
        """Targeted interrupt: the worker ignores it unless ``prompt_id`` is the one running."""
        await self._ok("POST", "/interrupt", json={"prompt_id": prompt_id})

    async def delete_pending(self, prompt_id: str) -> None:
        await self._ok("POST", "/queue", json={"delete": [prompt_id]})

    @contextlib.asynccontextmanager
    async def open_view(self, filename: str, subfolder: str, kind: str,
                        headers: dict[str, str]) -> AsyncIterator[aiohttp.ClientResponse]:
        """The worker's answer to ``/view`` for one file, its body not yet read: the caller
        streams it on (``headers``: the Range/If-Range to pass through). Raises WorkerUnavailable."""
        if self._session is None:
            raise RuntimeError("worker client not started")
        params = {"filename": filename, "subfolder": subfolder, "type": kind}
        try:
            async with self._session.get(self.base_url + "/view", params=params, headers=headers,
                                         timeout=_STREAM_TIMEOUT) as response:
                yield response
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise WorkerUnavailable(f"ComfyUI worker {self.base_url} unreachable: {exc!r}") from exc

    async def size(self, filename: str, subfolder: str, kind: str) -> int | None:
        """A file's size from a ``HEAD /view`` (nothing read), None when the worker has no such file."""
        if self._session is None:
            raise RuntimeError("worker client not started")
        params = {"filename": filename, "subfolder": subfolder, "type": kind}
        try:
            async with self._session.head(self.base_url + "/view", params=params) as response:
                if response.status != 200:
                    return None
                return response.content_length
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise WorkerUnavailable(f"ComfyUI worker {self.base_url} unreachable: {exc!r}") from exc

    async def exists(self, filename: str, subfolder: str) -> bool:
        """Whether the worker's input folder already holds ``subfolder/filename``."""
        return await self.size(filename, subfolder, "input") is not None

    async def upload(self, path: Path, filename: str, subfolder: str, *, overwrite: bool) -> dict[str, Any]:
        """Stream the file at ``path`` into the worker's input folder; returns ``{name, subfolder, type}``.

        Without ``overwrite`` the worker keeps an identical existing file and otherwise renames
        the new one ``name (1).ext``, ``name (2).ext``, ... (ComfyUI's ``/upload/image``).
        """
        with path.open("rb") as source:  # aiohttp sends an open file in chunks, never whole
            form = aiohttp.FormData()
            form.add_field("image", source, filename=filename, content_type="application/octet-stream")
            form.add_field("subfolder", subfolder)
            form.add_field("type", "input")
            form.add_field("overwrite", "true" if overwrite else "false")
            body = await self._ok("POST", "/upload/image", data=form, timeout=_STREAM_TIMEOUT)
        if not isinstance(body, dict) or not body.get("name"):
            raise WorkerUnavailable("ComfyUI worker's /upload/image returned no name")
        return body
