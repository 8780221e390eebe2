"""Command line of gateway mode: ``python -m floyo_server --gateway <ComfyUI URL>`` from the repo root.

Parses flags, starts a GatewayServer over the ComfyUI worker and runs until interrupted; SIGHUP
rereads ``--keys FILE``. State lives under ``--state DIR`` (default: the user's data folder).
With no key given, a random one is made at the first start, kept in the state folder and printed
once (``FLOYO_API_KEY=…``); there is no well-known key. The base URLs go to stdout as
``FLOYO_API_URL=…``/``FLOYO_CDN_URL=…`` lines for scripts to read; logs go to stderr. Binds
loopback only: TLS and the outside world come from a reverse proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .access import kept_key
from .gateway_server import GatewayServer
from .origin import check_loopback

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m floyo_server",
                                     description="Floyo-compatible API + CDN running each run on a ComfyUI.")
    parser.add_argument("--gateway", metavar="COMFYUI_URL", required=True,
                        help="the ComfyUI worker that executes the runs (e.g. http://127.0.0.1:8188)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--cdn-port", type=int, default=0)
    parser.add_argument("--key", action="append", dest="keys", default=[],
                        help="accepted API key (repeatable)")
    parser.add_argument("--keys", dest="keys_file", metavar="FILE", type=Path,
                        help="file of accepted API keys, one per line, reread on SIGHUP")
    parser.add_argument("--state", metavar="DIR", type=Path, default=None,
                        help=f"folder of the gateway's runs, files and key (default {default_state_dir()})")
    parser.add_argument("--public-cdn-url", metavar="URL", default=None,
                        help="the CDN's address as clients reach it (behind a reverse proxy); "
                             "presigned links carry it. Default: the bound loopback address")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests per minute per key")
    parser.add_argument("--workflows", metavar="DIR",
                        help="a folder of API-format workflow files (*.json) served as the team's workflows")
    parser.add_argument("--log-level", default="INFO")
    return parser


def default_state_dir() -> Path:
    """``$XDG_DATA_HOME/floyo-gateway`` (``~/.local/share``), ``%LOCALAPPDATA%`` on Windows, and
    ``~/Library/Application Support`` on macOS."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "floyo-gateway"


def _keys(args: argparse.Namespace, state: Path) -> list[str]:
    """The keys given, else the one kept in ``state`` (made and printed once, at the first start)."""
    if args.keys or args.keys_file:
        return args.keys
    key, made = kept_key(state)
    if made:
        sys.stdout.write(f"FLOYO_API_KEY={key}\n")
        sys.stdout.flush()
        log.info("made an API key for this gateway, kept in %s (printed once, above)", state)
    else:
        log.info("using the API key kept in %s", state)
    return [key]


async def serve(args: argparse.Namespace) -> None:
    """Run the gateway until SIGINT/SIGTERM; SIGHUP rereads the keys file."""
    state = args.state or default_state_dir()
    gateway = GatewayServer(args.gateway, keys=_keys(args, state), keys_file=args.keys_file,
                            state_dir=state, host=args.host, api_port=args.api_port,
                            cdn_port=args.cdn_port, rate_limit=args.rate_limit,
                            public_cdn_url=args.public_cdn_url, workflows=args.workflows)
    with contextlib.suppress(NotImplementedError, AttributeError):  # no SIGHUP on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, gateway.reload_keys)
    await serve_until_stopped(gateway, announce_urls)
    log.info("Floyo gateway stopped")


def announce_urls(server: Any) -> None:
    """The base URLs on stdout, as lines a script can read."""
    sys.stdout.write(f"FLOYO_API_URL={server.api_url}\nFLOYO_CDN_URL={server.cdn_url}\n")
    sys.stdout.flush()


async def serve_until_stopped(server: Any, announce: Callable[[Any], None]) -> None:
    """Start ``server`` (an async context manager), ``announce`` it, and run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        announce(server)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        check_loopback(args.host)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except (OSError, ValueError) as exc:  # an unreadable keys file or state folder, no key at all
        log.error("the gateway cannot start: %s", exc)
        return 2
    return 0
