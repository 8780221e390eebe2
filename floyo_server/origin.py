"""What both local servers share about Floyo's API surface: binding loopback origins and request
parsing (create bodies, ``expand``). Used by the gateway (shipped) and by the scripted test server
in ``tests/floyo_scripted/``. Holds no run logic and no state.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from ..floyo_client import Phase
from .wire import json_error

_SHUTDOWN_TIMEOUT_S = 0.5


def check_loopback(host: str) -> None:
    """Raise ValueError unless ``host`` is a loopback address (both servers bind loopback only)."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"refusing to bind {host!r}: the local Floyo server serves loopback only")


async def bind(apps: list[web.Application], host: str, ports: Iterable[int],
               runners: list[web.AppRunner], ssl_context: ssl.SSLContext | None = None) -> list[str]:
    """Serve each app on its own loopback origin (HTTPS with ``ssl_context``); appends to
    ``runners``, returns the base URLs."""
    urls = []
    scheme = "https" if ssl_context is not None else "http"
    for app, port in zip(apps, ports, strict=True):
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        bound_host, bound_port = runner.addresses[0][:2]
        urls.append(f"{scheme}://{bound_host}:{bound_port}")
    return urls


DEFAULT_URL_EXPIRY_S = 300

FINISHED_MESSAGES = {Phase.CANCELLED: "Run was cancelled by the user",
                     Phase.SUCCEEDED: "Run has already completed",
                     Phase.FAILED: "Run has already failed"}


class Invalid(Exception):
    """A request the API rejects with a 400 validation error."""


def validation_error(message: str, **extra: Any) -> web.Response:
    return json_error(400, "Validation error", message, **extra)


def parse_expand(query: Any, expand_value: str, expiry_range: tuple[int, int]) -> int | None:
    """The presigned-URL lifetime asked for, None when not expanded. Raises Invalid."""
    expand = query.get("expand")
    raw = query.get("presigned_url_expires_in")
    if expand is None:
        if raw is not None:
            raise Invalid(f"presigned_url_expires_in requires expand={expand_value}")
        return None
    if expand != expand_value:
        raise Invalid(f"expand must be {expand_value!r}")
    if raw is None:
        return DEFAULT_URL_EXPIRY_S
    try:
        seconds = int(raw)
    except ValueError:
        raise Invalid("presigned_url_expires_in must be an integer") from None
    low, high = expiry_range
    if not low <= seconds <= high:
        raise Invalid(f"presigned_url_expires_in must be between {low} and {high}")
    return seconds


def _default_name() -> str:
    return "API Run " + dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def parse_create(raw: bytes, allowed: frozenset[str] | None) -> tuple[dict[str, Any], str]:
    """``(workflow, name)`` from a create body. Raises Invalid."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise Invalid("Request body must be JSON") from None
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    workflow, name = body.get("workflow"), body.get("name")
    if not isinstance(workflow, dict):
        raise Invalid("workflow must be an object (a ComfyUI API-format workflow)")
    if name is not None and not isinstance(name, str):
        raise Invalid("name must be a string")
    if allowed is not None:
        for node_id, node in workflow.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type not in allowed:
                raise Invalid(f"Unknown node type {class_type!r}", {"node_id": str(node_id)})
    return workflow, name or _default_name()
