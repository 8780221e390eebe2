"""Command line of the scripted Floyo server: ``python -m floyo_scripted`` from ``tests/``.

Parses flags, starts a ScriptedServer (or, with ``--gateway``, a GatewayServer over a ComfyUI
worker) and runs until interrupted. The base URLs go to stdout as
``FLOYO_API_URL=…``/``FLOYO_CDN_URL=…`` lines (and ``FLOYO_CA_BUNDLE=…`` with ``--tls``) for
scripts to read; logs go to stderr. Binds loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from floyo_pack.floyo_server.cli import announce_urls, serve_until_stopped
from floyo_pack.floyo_server.gateway_server import GatewayServer
from floyo_pack.floyo_server.origin import check_loopback

from .gateway_realism import GatewayShaping
from .realism import Realism
from .scenario import Scenario, parse_steps
from .server import ScriptedServer

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m floyo_scripted",
                                     description="Local Floyo-compatible API + CDN for tests.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--cdn-port", type=int, default=0)
    parser.add_argument("--other-port", type=int, default=0)
    parser.add_argument("--key", action="append", dest="keys",
                        help="accepted API key (repeatable; default flo_test_key)")
    parser.add_argument("--vocabulary", choices=("docs", "alt"), default="docs")
    parser.add_argument("--steps", default="queued:1s,processing:3s,done",
                        help="status script: word[:N polls | :Ns seconds],… (last step sticks)")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests per window per key")
    parser.add_argument("--gateway", metavar="COMFYUI_URL",
                        help="gateway mode: execute each run on this ComfyUI worker "
                             "(e.g. http://127.0.0.1:8188) instead of following --steps")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a CA made at start (its PEM path is printed as "
                             "FLOYO_CA_BUNDLE=…; give that to the client); scripted mode only")
    parser.add_argument("--realism", choices=("off", "internet"), default="off",
                        help="network realism: 'internet' splits bodies into chunked gzip pieces "
                             "and adds a few ms of latency (gateway mode too)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def _emit_urls(server: ScriptedServer | GatewayServer) -> None:
    announce_urls(server)
    if isinstance(server, ScriptedServer):
        lines = f"FLOYO_OTHER_URL={server.other_url}\n"
        if server.ca_file:
            lines += f"FLOYO_CA_BUNDLE={server.ca_file}\n"
        sys.stdout.write(lines)
        sys.stdout.flush()


def _server(args: argparse.Namespace) -> ScriptedServer | GatewayServer:
    keys = args.keys or ["flo_test_key"]
    realism = Realism.internet() if args.realism == "internet" else Realism()
    if args.gateway:
        shaping = GatewayShaping(realism)
        return GatewayServer(args.gateway, keys=keys, host=args.host, api_port=args.api_port,
                             cdn_port=args.cdn_port, rate_limit=args.rate_limit, app_hook=shaping.hook)
    scenario = Scenario(steps=parse_steps(args.steps), vocabulary=args.vocabulary,
                        rate_limit=args.rate_limit, realism=realism)
    return ScriptedServer(scenario, keys=keys, host=args.host, api_port=args.api_port,
                          cdn_port=args.cdn_port, other_port=args.other_port, tls=args.tls)


async def serve(args: argparse.Namespace) -> None:
    """Run the scripted server, or the gateway with ``--gateway``, until SIGINT/SIGTERM."""
    await serve_until_stopped(_server(args), _emit_urls)
    log.info("local Floyo server stopped")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        check_loopback(args.host)
        parse_steps(args.steps)
        if args.gateway and args.tls:
            raise ValueError("--tls serves the scripted server only; run the gateway without it")
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0
