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
clear. "This machine" is a loopback peer whose request carries no ``Forwarded``,
``X-Forwarded-For`` or ``X-Real-IP``: a reverse proxy on the same host connects from loopback on
behalf of anyone, and says so in those headers. And the key routes answer only requests addressed
to ``localhost`` or a loopback address (or a name in ``FLOYO_ALLOWED_HOSTS``): with DNS rebinding
a page on ``attacker.example`` whose name now resolves to 127.0.0.1 sends ``Host`` and ``Origin``
both ``attacker.example``, so Origin = Host proves nothing there; a name the user did not allow
does. With remote setup allowed, a ``Host`` that is an IP address is accepted too (rebinding needs
a name). Answers are JSON errors naming the fix. Holds no route logic of its own.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from aiohttp import web

from ...floyo_client import is_loopback_host

ENV_ALLOW_REMOTE_KEY_SETUP = "FLOYO_ALLOW_REMOTE_KEY_SETUP"
ENV_ALLOWED_HOSTS = "FLOYO_ALLOWED_HOSTS"  # comma-separated host names the key routes also answer
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


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


def from_this_machine(request: web.Request) -> bool:
    """A loopback peer that is not a proxy passing on someone else's request."""
    return is_loopback_host(request.remote) and not any(h in request.headers for h in _FORWARDED)


def _host_name(request: web.Request) -> str | None:
    parsed = _netloc("http", request.host) if request.host else None
    return parsed[0].strip("[]").rstrip(".") if parsed else None


def _allowed_hosts() -> set[str]:
    names = os.environ.get(ENV_ALLOWED_HOSTS, "").split(",")
    return {h.strip().lower().rstrip(".") for h in names if h.strip()}


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def local_host(request: web.Request, *, remote_setup: bool = False) -> bool:
    """Whether the request was addressed to this machine by a name DNS rebinding cannot borrow."""
    name = _host_name(request)
    if not name:
        return False
    return (is_loopback_host(name) or name in _allowed_hosts() or (remote_setup and _is_ip(name)))


def write_refusal(request: web.Request) -> web.Response | None:
    """None when ``request`` may change state; else the error to answer with."""
    if request.content_type != "application/json":
        return _error(415, "Floyo write requests must be sent with Content-Type: application/json; "
                           "ComfyUI's Floyo panel does this for you.")
    origin = request.headers.get("Origin")
    if origin is None:
        if from_this_machine(request):
            return None
        return _error(403, "Refused: a request without an Origin header is accepted only from this "
                           "machine. Use ComfyUI's Floyo panel in the browser.")
    if not same_origin(origin, request.host):
        return _error(403, f"Refused a cross-site request: Origin {origin[:200]} does not match the "
                           "ComfyUI address it was sent to. Use ComfyUI's own page (behind a reverse "
                           "proxy, pass the Host header through).")
    return None


def key_refusal(request: web.Request) -> web.Response | None:
    """``write_refusal``; the key routes answer only a local Host, and stay local unless remote
    setup is allowed."""
    refusal = write_refusal(request)
    if refusal is not None:
        return refusal
    remote_setup = os.environ.get(ENV_ALLOW_REMOTE_KEY_SETUP, "").strip() == "1"
    if not local_host(request, remote_setup=remote_setup):
        return _error(403, f"Refused: the Floyo key can be set only on a page opened as localhost or "
                           f"127.0.0.1, not {(_host_name(request) or 'an unnamed host')[:100]} (a web page "
                           "can make its own name point at this machine). If that is your own name for "
                           f"this machine, add it to {ENV_ALLOWED_HOSTS} where ComfyUI starts.")
    if from_this_machine(request) or remote_setup:
        return None
    return _error(403, "Setting the Floyo API key from another machine is off: open ComfyUI on the "
                       "machine it runs on, set FLOYO_API_KEY where ComfyUI starts, or start ComfyUI "
                       f"with {ENV_ALLOW_REMOTE_KEY_SETUP}=1 (preferably behind https).")
