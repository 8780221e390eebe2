"""Floyo's wire conventions that the gateway and the scripted test server both speak: ids,
timestamps, file names, the error body of a request and the ``error`` object of a failed run.

Pure functions and one frozen dataclass: no state, no I/O beyond building an aiohttp response.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from aiohttp import web

_ALNUM = string.ascii_lowercase + string.digits
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f"]')


def new_id(prefix: str) -> str:
    """``run_``/``file_`` + 16 random lowercase alphanumerics, like Floyo's ids."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(16))


def iso_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, as Floyo writes ``requested_at``."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def node_order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def clean_name(name: str) -> str:
    """The last path component of ``name`` without control characters or quotes."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return _UNSAFE_CHARS.sub("_", base).strip(".") or "upload.bin"


def json_error(status: int, error: str, message: str | None = None, *,
               headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    """A Floyo-style error body: ``{"error": ..., "message": ...}`` plus any extra fields."""
    body: dict[str, Any] = {"error": error}
    if message is not None:
        body["message"] = message
    body.update(extra)
    return web.json_response(body, status=status, headers=headers)


def bearer_key(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class RunError:
    """The ``error`` object of a failed run: ``{type, message, details: {node_id}}``."""

    type: str
    message: str
    node_id: str | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.node_id is not None:
            body["details"] = {"node_id": self.node_id}
        return body


def file_json(file_id: str, file_name: str, mime_type: str, size_bytes: int, created_at: str,
              input_path: str, presigned_url: str | None = None) -> dict[str, Any]:
    """A file as Floyo's API shows it (``object: "file"``); the presigned link only when expanded."""
    body: dict[str, Any] = {"id": file_id, "object": "file", "file_name": file_name, "mime_type": mime_type,
                            "size_bytes": size_bytes, "created_at": created_at, "input_path": input_path}
    if presigned_url is not None:
        body["presigned_url"] = presigned_url
    return body
