"""The /floyo write routes (key set/clear, cancel) refuse what a hostile web page or another
machine can send: a form or text/plain POST (415), a foreign Origin (403), a request without
Origin from another machine (403), and key setup from another machine unless
FLOYO_ALLOW_REMOTE_KEY_SETUP=1. ComfyUI's panel (JSON, same origin) and local scripts still work.

Real HTTP to a real aiohttp server on loopback carrying the pack's handlers; a peer on another
machine is simulated by a test-only middleware that sets the request's remote address."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from floyo_pack.nodes import comfy
from floyo_pack.nodes.comfy_server import http_routes
from floyo_pack.nodes.run.active_runs import REGISTRY

KEY = "flo_original_key_1"
LAN_PEER = "192.168.7.20"


@web.middleware
async def simulated_peer(request, handler):
    peer = request.headers.get("X-Test-Peer")
    return await handler(request.clone(remote=peer) if peer else request)


@pytest.fixture
async def server(tmp_path, monkeypatch):
    key_file = tmp_path / "user" / "floyo" / "api_key"
    monkeypatch.setattr(comfy, "key_file", lambda: key_file)
    monkeypatch.delenv("FLOYO_API_KEY", raising=False)
    monkeypatch.delenv("FLOYO_ALLOW_REMOTE_KEY_SETUP", raising=False)
    app = web.Application(middlewares=[simulated_peer])
    app.router.add_post("/floyo/runs/cancel", http_routes.cancel_run)
    app.router.add_post("/floyo/key", http_routes.set_key)
    app.router.add_delete("/floyo/key", http_routes.clear_key)
    async with TestServer(app, host="127.0.0.1") as srv:
        srv.key_file = key_file
        yield srv


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def _origin(server) -> str:
    return f"http://127.0.0.1:{server.port}"


async def _send(http, server, method, path, *, data=None, json=None, headers=None):
    async with http.request(method, server.make_url(path), data=data, json=json,
                            headers=headers or {}) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
def waiting_run():
    active = REGISTRY.start("node_sec", "prompt_sec")
    active.run_id = "run_secured1"
    yield active
    REGISTRY.finish(active)


async def test_a_cross_site_form_post_cannot_change_the_key(server, http):
    server.key_file.parent.mkdir(parents=True)
    server.key_file.write_text(KEY + "\n")
    status, body = await _send(http, server, "POST", "/floyo/key", data={"key": "flo_attacker_key_9"},
                               headers={"Origin": "https://evil.example"})
    assert status == 415 and "application/json" in body["error"]
    status, body = await _send(http, server, "POST", "/floyo/key", data='{"key": "flo_attacker_key_9"}',
                               headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
    assert status == 415
    assert server.key_file.read_text().strip() == KEY


async def test_a_foreign_origin_is_refused_while_the_panels_same_origin_calls_work(server, http,
                                                                                  waiting_run):
    evil, same = {"Origin": "https://evil.example"}, {"Origin": _origin(server)}
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": "flo_attacker_key_9"},
                        headers=evil))[0] == 403
    status, body = await _send(http, server, "POST", "/floyo/runs/cancel", json={"run_id": "run_secured1"},
                               headers={"Origin": "null"})
    assert status == 403 and "cross-site" in body["error"]
    assert not server.key_file.exists() and not waiting_run.cancel.is_set()
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=same))[0] == 200
    assert (await _send(http, server, "DELETE", "/floyo/key", json={}, headers=evil))[0] == 403
    assert server.key_file.read_text().strip() == KEY
    assert (await _send(http, server, "POST", "/floyo/runs/cancel", json={"run_id": "run_secured1"},
                        headers=same))[0] == 200
    assert waiting_run.cancel.is_set()
    assert (await _send(http, server, "DELETE", "/floyo/key", json={}, headers=same))[0] == 200
    assert not server.key_file.exists()


async def test_a_text_plain_cancel_is_refused_and_the_run_keeps_going(server, http, waiting_run):
    status, body = await _send(http, server, "POST", "/floyo/runs/cancel", data='{"run_id": "run_secured1"}',
                               headers={"Content-Type": "text/plain", "Origin": _origin(server)})
    assert status == 415 and not waiting_run.cancel.is_set()


async def test_without_origin_only_a_program_on_this_machine_may_write(server, http, waiting_run):
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": KEY}))[0] == 200  # local curl
    status, body = await _send(http, server, "POST", "/floyo/runs/cancel", json={"run_id": "run_secured1"},
                               headers={"X-Test-Peer": LAN_PEER})
    assert status == 403 and "Origin" in body["error"] and not waiting_run.cancel.is_set()
    lan_page = {"X-Test-Peer": LAN_PEER, "Origin": _origin(server)}  # ComfyUI's page in a LAN browser
    assert (await _send(http, server, "POST", "/floyo/runs/cancel", json={"run_id": "run_secured1"},
                        headers=lan_page))[0] == 200
    assert waiting_run.cancel.is_set()


async def test_key_setup_from_another_machine_needs_the_opt_in(server, http, monkeypatch):
    remote = {"X-Test-Peer": LAN_PEER, "Origin": _origin(server)}  # the page served to a LAN browser
    status, body = await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=remote)
    assert status == 403 and "FLOYO_ALLOW_REMOTE_KEY_SETUP=1" in body["error"]
    assert (await _send(http, server, "DELETE", "/floyo/key", json={}, headers=remote))[0] == 403
    assert not server.key_file.exists()
    monkeypatch.setenv("FLOYO_ALLOW_REMOTE_KEY_SETUP", "1")
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=remote))[0] == 200
    assert server.key_file.read_text().strip() == KEY


async def test_a_dns_rebinding_page_cannot_set_or_clear_the_key(server, http, monkeypatch):
    """A page on attacker.example whose name now resolves to 127.0.0.1 sends Host = Origin =
    attacker.example from a loopback peer: same-origin and local, yet not a name the user chose."""
    rebound = f"attacker.example:{server.port}"
    headers = {"Host": rebound, "Origin": f"http://{rebound}"}
    status, body = await _send(http, server, "POST", "/floyo/key", json={"key": "flo_attacker_key_9"},
                               headers=headers)
    assert status == 403 and "FLOYO_ALLOWED_HOSTS" in body["error"] and not server.key_file.exists()
    server.key_file.parent.mkdir(parents=True)
    server.key_file.write_text(KEY + "\n")
    assert (await _send(http, server, "DELETE", "/floyo/key", json={}, headers=headers))[0] == 403
    assert server.key_file.read_text().strip() == KEY
    local = {"Host": f"localhost:{server.port}", "Origin": f"http://localhost:{server.port}"}
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=local))[0] == 200
    monkeypatch.setenv("FLOYO_ALLOWED_HOSTS", "studio.lan, attacker.example")  # the user's own names
    assert (await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=headers))[0] == 200


async def test_a_same_host_reverse_proxy_is_treated_as_another_machine(server, http, waiting_run):
    """The proxy connects from loopback for anyone; Forwarded / X-Forwarded-For say so."""
    for forwarded in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"},
                      {"X-Real-IP": "203.0.113.9"}):
        status, body = await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=forwarded)
        assert status == 403 and "Origin" in body["error"]  # a program elsewhere, not curl here
        page = {**forwarded, "Origin": _origin(server)}  # ComfyUI's page, through the proxy
        status, body = await _send(http, server, "POST", "/floyo/key", json={"key": KEY}, headers=page)
        assert status == 403 and "FLOYO_ALLOW_REMOTE_KEY_SETUP=1" in body["error"]
        assert (await _send(http, server, "POST", "/floyo/runs/cancel", json={"run_id": "run_secured1"},
                            headers=forwarded))[0] == 403
    assert not server.key_file.exists() and not waiting_run.cancel.is_set()


@pytest.fixture
async def journal_server(tmp_path, monkeypatch):
    monkeypatch.setattr(comfy, "user_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path / "output")
    journal = comfy.journal()
    journal.begin("flyc-aa11", name="cats [flyc-aa11]", prompt_id="p1", node_id="3",
                  api_url="https://api.floyo.example")
    journal.created("flyc-aa11", "run_listed1")
    journal.finished("run_listed1", "succeeded")
    journal.saved("run_listed1", [str(tmp_path / "output" / "floyo" / "run_listed1" / "cat.png")])
    app = web.Application()
    app.router.add_get("/floyo/runs", http_routes.list_runs)
    app.router.add_get("/floyo/runs/{run_id}", http_routes.get_run)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv


async def test_the_runs_list_shows_no_owner_host_pid_or_absolute_path(journal_server, http, tmp_path):
    import os
    import socket

    for path in ("/floyo/runs", "/floyo/runs/run_listed1"):
        async with http.get(journal_server.make_url(path)) as resp:
            text = await resp.text()
            body = json.loads(text)
        (row,) = body["runs"] if path == "/floyo/runs" else [body]
        assert row["run_id"] == "run_listed1" and row["state"] == "saved" and row["marker"] == "flyc-aa11"
        assert row["paths"] == ["floyo/run_listed1/cat.png"]  # relative to output/, what /view takes
        assert not [k for k in row if k.startswith("owner") or k in ("api_url", "resolved_hash")]
        assert str(tmp_path) not in text and socket.gethostname() not in text
        assert f'"owner_pid": {os.getpid()}' not in text


async def test_a_run_id_with_a_trailing_newline_is_refused_by_the_routes(journal_server, http):
    async with http.get(journal_server.make_url("/floyo/runs/run_listed1%0A")) as resp:
        assert resp.status == 400
