"""Startup wiring happens once per server however often it is called (V3 calls it from the
entrypoint and again from ``on_load`` on a ComfyUI that has it), with no run-once flag: each step
asks what it changes (the server's route table and prompt handlers, the signal handlers, the
journal's row owners) whether it is done, so a new server is wired too."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import types

import pytest
from aiohttp import web
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.owner import Owner
from floyo_pack.nodes import comfy
from floyo_pack.nodes.comfy_server import registration, resume, shutdown
from floyo_pack.nodes.current_graph import hosted, prompt_hook


class FakePromptServer:
    """What the pack uses of ComfyUI's PromptServer: its route table and /prompt handlers."""

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        self.on_prompt_handlers: list = []
        self.app = web.Application()  # its middlewares: the queue-time fetch (current_graph/hosted.py)

    def add_on_prompt_handler(self, handler) -> None:
        self.on_prompt_handlers.append(handler)


@pytest.fixture
def comfyui(monkeypatch, tmp_path):
    """A fake ``server`` module whose PromptServer.instance can be replaced, a user folder, and
    default signal handlers, put back afterwards."""
    module = types.ModuleType("server")
    module.PromptServer = types.SimpleNamespace(instance=FakePromptServer())
    monkeypatch.setitem(sys.modules, "server", module)
    monkeypatch.setattr(comfy, "user_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path / "output")
    monkeypatch.setattr(comfy, "journal", lambda: Journal(tmp_path / "user" / "floyo" / "runs.sqlite3"))
    saved = {s: signal.getsignal(s) for s in shutdown.SIGNALS}
    shutdown.uninstall()
    # As in a ComfyUI started from a terminal: a shell that starts pytest in the background
    # without job control ignores SIGINT for it, and the pack rightly leaves an ignored signal so.
    for signum in shutdown.SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    yield module.PromptServer
    shutdown.uninstall()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _paths(server: FakePromptServer) -> list[str]:
    return [route.path for route in server.routes]


def _routes(server: FakePromptServer) -> list[tuple[str, str]]:
    return [(route.method, route.path) for route in server.routes]


def test_wiring_twice_adds_routes_the_prompt_hook_and_signal_handlers_once(comfyui, caplog):
    with caplog.at_level(logging.DEBUG):
        assert registration.wire_server() is True
        assert registration.wire_server() is False  # as on_load after the V3 entrypoint
    server = comfyui.instance
    assert len(_routes(server)) == len(set(_routes(server))) == 13 and "/floyo/runs" in _paths(server)
    assert {"/floyo/balance", "/floyo/estimate"} <= set(_paths(server))  # the spend guard's
    assert server.on_prompt_handlers == [prompt_hook.rewrite]
    assert list(server.app.middlewares) == [hosted.fetch_at_queue_time]
    assert all(signal.getsignal(s) is shutdown.on_signal for s in shutdown.SIGNALS)
    assert len(shutdown._previous) == len(shutdown.SIGNALS)  # chained once: never to itself
    assert sum("wired into ComfyUI" in r.getMessage() for r in caplog.records) == 1


def test_a_new_server_gets_wired_too(comfyui):
    registration.wire_server()
    comfyui.instance = FakePromptServer()  # no flag from the first wiring may hold this one back
    assert registration.wire_server() is True
    assert "/floyo/runs" in _paths(comfyui.instance)
    assert comfyui.instance.on_prompt_handlers == [prompt_hook.rewrite]


def test_runs_left_by_a_gone_process_are_resumed_once_however_often_startup_runs(comfyui, monkeypatch,
                                                                                  tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = Journal(tmp_path / "user" / "floyo" / "runs.sqlite3",
                   owner=Owner(socket.gethostname(), child.pid, "12345"))
    gone.begin("flyc-left", name="left [flyc-left]", prompt_id="p", node_id="5", api_url="https://api")
    gone.created("flyc-left", "run_left")
    started: list[int] = []
    monkeypatch.setattr(resume, "resume_all", lambda journal, rows, unknown: _note(started, rows))
    threads = [resume.start(), resume.start()]
    assert threads[0] is not None and threads[1] is None
    threads[0].join(10)
    assert started == [1]


def test_startup_removes_the_part_files_a_crash_left_and_nothing_else(comfyui, tmp_path):
    run = tmp_path / "output" / "floyo" / "run_left"
    run.mkdir(parents=True)
    (run / "a.png.0123abcd.part").write_bytes(b"half a paid file")  # its writer died with ComfyUI
    (run / "b.png").write_bytes(b"a whole one")
    registration.wire_server()
    assert [p.name for p in run.iterdir()] == ["b.png"]


async def _note(started: list[int], rows: list) -> None:
    started.append(len(rows))
