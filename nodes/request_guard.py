"""Who may use the pack's write routes (set/clear the key, cancel a run) on a shared machine.

A web page on another site can make the user's browser POST to ComfyUI (an HTML form or a
``text/plain`` fetch needs no CORS preflight), and ComfyUI's own origin check covers loopback
host names only. So every write route requires:

- ``Content-Type: application/json`` (a form or a simple fetch cannot send it without a
  preflight, which ComfyUI does not grant) — else 415;
- an ``Origin`` equal to the ``Host`` the request was sent to, when Origin is present — else 403.
  Browsers always send Origin on a cross-site POST, and on their own same-origin POST/DELETE;
  a request without one comes from a program (curl, a script), which is allowed only from this
  machine (a loopback peer). Behind a reverse proxy, the proxy must pass the Host through.

The key routes also refuse clients on other machines (ComfyUI started with ``--listen``)
unless ``FLOYO_ALLOW_REMOTE_KEY_SETUP=1``: over plain http the key would cross the network in
clear. Answers are JSON errors naming the fix. Holds no route logic of its own.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from aiohttp import web

from ..floyo_client import is_loopback_host

ENV_ALLOW_REMOTE_KEY_SETUP = "FLOYO_ALLOW_REMOTE_KEY_SETUP"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _netloc(scheme: str, netloc: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return ((parts.hostname or "").lower(), port) if parts.hostname else None


def same_origin(origin: str, host: str | None) -> bool:
    """Whether ``Origin`` names the host:port the request was addressed to (default ports filled)."""
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    if parsed.scheme not in _DEFAULT_PORTS or not host:
        return False  # includes "Origin: null" (sandboxed frames, opaque redirects)
    mine = _netloc(parsed.scheme, parsed.netloc)
    return mine is not None and mine == _netloc(parsed.scheme, host)  # Host omits the default port


def write_refusal(request: web.Request) -> web.Response | None:
    """None when ``request`` may change state; else the error to answer with."""
    if request.content_type != "application/json":
        return _error(415, "Floyo write requests must be sent with Content-Type: application/json; "
                           "ComfyUI's Floyo panel does this for you.")
    origin = request.headers.get("Origin")
    if origin is None:
        if is_loopback_host(request.remote):
            return None
        return _error(403, "Refused: a request without an Origin header is accepted only from this "
                           "machine. Use ComfyUI's Floyo panel in the browser.")
    if not same_origin(origin, request.host):
        return _error(403, f"Refused a cross-site request: Origin {origin[:200]} does not match the "
                           "ComfyUI address it was sent to. Use ComfyUI's own page (behind a reverse "
                           "proxy, pass the Host header through).")
    return None


def key_refusal(request: web.Request) -> web.Response | None:
    """``write_refusal``, and the key routes stay local unless remote setup is allowed."""
    refusal = write_refusal(request)
    if refusal is not None or is_loopback_host(request.remote):
        return refusal
    if os.environ.get(ENV_ALLOW_REMOTE_KEY_SETUP, "").strip() == "1":
        return None
    return _error(403, "Setting the Floyo API key from another machine is off: open ComfyUI on the "
                       "machine it runs on, set FLOYO_API_KEY where ComfyUI starts, or start ComfyUI "
                       f"with {ENV_ALLOW_REMOTE_KEY_SETUP}=1 (preferably behind https).")
