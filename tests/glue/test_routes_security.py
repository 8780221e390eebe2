"""The /floyo write routes (key set/clear, cancel) refuse what a hostile web page or another
machine can send: a form or text/plain POST (415), a foreign Origin (403), a request without
Origin from another machine (403), and key setup from another machine unless
FLOYO_ALLOW_REMOTE_KEY_SETUP=1. ComfyUI's panel (JSON, same origin) and local scripts still work.

Real HTTP to a real aiohttp server on loopback carrying the pack's handlers; a peer on another
machine is simulated by a test-only middleware that sets the request's remote address."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from floyo_pack.nodes import comfy, routes
from floyo_pack.nodes.active_runs import REGISTRY

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
    app.router.add_post("/floyo/runs/cancel", routes.cancel_run)
    app.router.add_post("/floyo/key", routes.set_key)
    app.router.add_delete("/floyo/key", routes.clear_key)
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
