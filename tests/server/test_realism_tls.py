"""HTTPS on loopback: every origin serves TLS with a CA made at start; a client trusting that CA
(through FLOYO_CA_BUNDLE in the pack) connects, one without it is refused; the command line
prints the CA path and shapes answers with ``--realism internet``."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest
from floyo_pack.floyo_client.transport import tls_context
from floyo_scripted import Realism, ScriptedServer, ServerThread, Step

from .conftest import AUTH

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _session(context: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context or True))


async def test_every_origin_serves_https_to_a_client_trusting_the_ca(tls_server):
    srv = tls_server
    assert all(u.startswith("https://127.0.0.1:") for u in (srv.api_url, srv.cdn_url, srv.other_url))
    srv.scenario.steps = [Step("done")]
    srv.scenario.redirect_downloads = True
    async with _session(tls_context(srv.ca_file)) as http:
        async with http.post(srv.api_url + "/runs", json={"workflow": {}}, headers=AUTH) as resp:
            run_id = (await resp.json())["id"]
        async with http.get(f"{srv.api_url}/runs/{run_id}", headers=AUTH,
                            params={"expand": "outputs.presigned_url"}) as resp:
            out = (await resp.json())["outputs"][0]
        async with http.get(out["presigned_url"]) as resp:  # CDN, redirected to the other host
            assert resp.status == 200 and resp.url.host == "127.0.0.1"
            assert await resp.read() == srv.files[out["id"]].data
    origins = {r.origin for r in srv.requests}
    assert origins == {"api", "cdn", "other"}


async def test_a_client_without_the_ca_is_refused(tls_server):
    async with _session() as http:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with http.get(tls_server.api_url + "/team/balance", headers=AUTH):
                pass
    assert len(tls_server.requests) == 0


async def test_realism_applies_over_tls_and_the_record_says_https(tls_server):
    tls_server.realism = Realism.internet(pieces=4)
    async with _session(tls_context(tls_server.ca_file)) as http:
        async with http.get(tls_server.api_url + "/team/balance", headers=AUTH) as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert (await resp.json())["partner_nodes_usd"] == 25.5
    [sent] = tls_server.realism.sent
    assert sent.scheme == "https" and sent.pieces == 4 and sent.encoding == "gzip"


async def test_ca_file_is_removed_when_the_server_stops():
    async with ScriptedServer(tls=True) as srv:
        ca_file = srv.ca_file
        assert "BEGIN CERTIFICATE" in pathlib.Path(ca_file).read_text()
    assert not os.path.exists(ca_file)
    async with ScriptedServer() as plain:
        assert plain.ca_file is None and plain.api_url.startswith("http://")


def test_server_thread_forwards_tls_and_realism():
    with ServerThread(tls=True) as srv:
        srv.realism = Realism(chunked=True)
        assert srv.server.realism.chunked and srv.ca_file
        context = ssl.create_default_context(cafile=srv.ca_file)
        request = urllib.request.Request(srv.api_url + "/team/balance", headers=AUTH)
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert json.loads(resp.read())["partner_nodes_usd"] == 25.5


def _read_env_lines(proc, names: set[str], deadline: float) -> dict[str, str]:
    found: dict[str, str] = {}
    while not names <= set(found) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition("=")
        found[name] = value
    return found


def test_cli_tls_prints_the_ca_bundle_and_serves_shaped_https():
    proc = subprocess.Popen([sys.executable, "-m", "floyo_scripted", "--tls", "--realism", "internet"],
                            cwd=ROOT / "tests", env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env = _read_env_lines(proc, {"FLOYO_API_URL", "FLOYO_CA_BUNDLE"}, time.monotonic() + 20)
        assert env.get("FLOYO_API_URL", "").startswith("https://127.0.0.1:"), env
        context = ssl.create_default_context(cafile=env["FLOYO_CA_BUNDLE"])
        request = urllib.request.Request(env["FLOYO_API_URL"] + "/team/balance", headers=AUTH)
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert json.loads(resp.read())["partner_nodes_usd"] == 25.5
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            proc.communicate()


def test_cli_refuses_tls_in_gateway_mode_with_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "floyo_scripted", "--gateway", "http://127.0.0.1:9",
                             "--tls"], cwd=ROOT / "tests", capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--tls serves the scripted server only" in result.stderr
    assert result.stdout == ""
