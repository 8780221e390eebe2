"""Command line of gateway mode: ``python -m floyo_server --gateway <ComfyUI URL>`` from the repo root.

Parses flags, starts a GatewayServer over the ComfyUI worker and runs until interrupted. The base
URLs go to stdout as ``FLOYO_API_URL=…``/``FLOYO_CDN_URL=…`` lines for scripts to read; logs go
to stderr. Binds loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

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
    parser.add_argument("--key", action="append", dest="keys",
                        help="accepted API key (repeatable; default flo_test_key)")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests per minute per key")
    parser.add_argument("--workflows", metavar="DIR",
                        help="a folder of API-format workflow files (*.json) served as the team's workflows")
    parser.add_argument("--log-level", default="INFO")
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run the gateway until SIGINT/SIGTERM."""
    gateway = GatewayServer(args.gateway, keys=args.keys or ["flo_test_key"], host=args.host,
                            api_port=args.api_port, cdn_port=args.cdn_port, rate_limit=args.rate_limit,
                            workflows=args.workflows)
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0
