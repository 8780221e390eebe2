"""Shared machines, through a real ComfyUI: a cross-site page cannot set or clear the key nor
cancel a run (a form or text/plain POST, a foreign Origin), while the panel's own JSON calls still
work; a second ComfyUI sharing the user folder neither takes over nor cancels the first one's
run; a corrupt run journal does not stop the pack from loading, while one a live peer keeps
locked is left in place (runs still work, unrecorded, and the runs route says so); and a container
re-created under a new host name resumes its own runs and cancels the one its node gave up on."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from floyo_pack.floyo_client.journal import GAVE_UP, Journal
from floyo_pack.floyo_client.owner import Owner, _start_time
from floyo_scripted import Step

from .support.comfy import Comfy
from .support.graphs import remote_run, save
from .support.scripted import FLOYO_KEY, start_run_elsewhere
from .support.waits import wait_until
from .support.websocket import Socket

pytestmark = pytest.mark.e2e
EVIL = "https://evil.example"


def _owner(comfy, run_id: str) -> tuple[str, int]:
    """The journal row's owner (host, pid), read from the file: the routes never show owners
    (nodes/comfy_server/runs_view.py)."""
    db = sqlite3.connect(f"file:{comfy.user_dir / 'floyo' / 'runs.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT owner_host, owner_pid FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    finally:
        db.close()


def _owner_pid(comfy, run_id: str) -> int:
    return _owner(comfy, run_id)[1]


def _raw(comfy, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> int:
    """Send exactly these headers (a browser on a hostile page would); returns the status."""
    request = urllib.request.Request(comfy.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


def _lan_host(comfy) -> str:
    """ComfyUI reached by a LAN name (``--listen``): ComfyUI's own origin check, limited to
    loopback host names, does not apply there, so only the pack's guard stands in the way."""
    return f"comfy-box.invalid:{comfy.port}"


def test_a_cross_site_page_cannot_change_the_key_but_the_panel_can(comfy):
    assert comfy.post("/floyo/key", {"key": FLOYO_KEY})[0] == 200
    attacks = [
        ("POST", b'{"key": "flo_attacker_key_9"}', {"Content-Type": "text/plain"}),
        ("POST", b"key=flo_attacker_key_9", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("POST", b'{"key": "flo_attacker_key_9"}', {"Content-Type": "application/json"}),  # no preflight
        ("DELETE", b"{}", {"Content-Type": "text/plain"}),
        ("DELETE", b"{}", {"Content-Type": "application/json"}),
    ]
    for method, data, headers in attacks:
        for host in (f"127.0.0.1:{comfy.port}", _lan_host(comfy)):
            status = _raw(comfy, method, "/floyo/key", data, {**headers, "Origin": EVIL, "Host": host})
            assert status in (403, 415), (method, headers, host, status)
    key_file = comfy.user_dir / "floyo" / "api_key"
    assert key_file.read_text().strip() == FLOYO_KEY
    panel = {"Content-Type": "application/json", "Origin": comfy.url}  # web/floyo.js's calls
    assert _raw(comfy, "POST", "/floyo/key", json.dumps({"key": FLOYO_KEY}).encode(), panel) == 200
    assert _raw(comfy, "DELETE", "/floyo/key", None, panel) == 200 and not key_file.exists()
    assert comfy.post("/floyo/key", {"key": FLOYO_KEY})[0] == 200  # a script on this machine


@pytest.mark.timeout(120)
def test_a_cross_site_page_cannot_cancel_a_run_but_the_panel_can(comfy, floyo):
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])
    known = set(floyo.runs)
    prompt_id = comfy.queue({"1": remote_run(), "2": save("1")})
    run = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0]
    wait_until(lambda: floyo.requests.polls(run.id))
    body = json.dumps({"run_id": run.id}).encode()
    for host in (f"127.0.0.1:{comfy.port}", _lan_host(comfy)):
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/json"):
            headers = {"Content-Type": ctype, "Origin": EVIL, "Host": host}
            assert _raw(comfy, "POST", "/floyo/runs/cancel", body, headers) in (403, 415)
    (active,) = [a for a in comfy.get("/floyo/runs")[1]["active"] if a["run_id"] == run.id]
    assert active["cancel_requested"] is False
    panel = {"Content-Type": "application/json", "Origin": comfy.url}
    assert _raw(comfy, "POST", "/floyo/runs/cancel", body, panel) == 200
    kinds = [m[0] for m in comfy.wait(prompt_id)["status"]["messages"]]
    assert "execution_interrupted" in kinds
    assert len(floyo.requests.cancel_requests(run.id)) == 1


@pytest.mark.timeout(240)
def test_a_second_comfyui_sharing_the_user_folder_neither_takes_over_nor_cancels_a_run(
        comfy_factory, comfy_env, floyo):
    first = comfy_factory(env=comfy_env, name="comfy-shared")
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])
    known = set(floyo.runs)
    prompt_id = first.queue({"1": remote_run(), "2": save("1")})
    run = wait_until(lambda: [r for r in floyo.runs.values() if r.id not in known])[0]
    wait_until(lambda: floyo.requests.polls(run.id))
    second = Comfy(first.base, env=comfy_env)  # same user folder, same journal, another port
    second.start()
    try:
        record = second.get(f"/floyo/runs/{run.id}")[1]  # it sees the run in the shared journal...
        assert record["state"] == "running" and _owner_pid(first, run.id) == first.proc.pid  # ...not its own
    finally:
        second.stop()  # SIGTERM: it has nothing of its own to cancel
    assert floyo.requests.cancel_requests(run.id) == []
    floyo.finish(run.id)
    entry = first.wait(prompt_id)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert first.get(f"/floyo/runs/{run.id}")[1]["state"] == "saved"


@pytest.mark.timeout(180)
def test_a_corrupt_run_journal_is_set_aside_and_the_pack_still_loads(tmp_path_factory, comfy_env):
    base = tmp_path_factory.mktemp("comfy-corrupt-journal")
    journal = base / "user" / "floyo" / "runs.sqlite3"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"\x00this is not a database\xff" * 1000)
    server = Comfy(base, env=comfy_env)
    server.start()
    try:
        assert "FloyoRemoteRun" in server.get("/object_info/FloyoRemoteRun")[1]
        assert server.get("/floyo/runs")[1]["runs"] == []
        (aside,) = [p for p in journal.parent.iterdir() if p.name.startswith("runs.sqlite3.corrupt-")]
        assert aside.read_bytes().startswith(b"\x00this is not a database")
        assert f"moved it aside to {aside}" in server.log_text()
    finally:
        server.stop()


LOCKER = ("import sqlite3, sys\n"
          "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
          "db.execute('BEGIN EXCLUSIVE')\n"
          "print('locked', flush=True)\n"
          "sys.stdin.read()\n")


def _this_process(host: str | None = None, instance: str | None = None) -> Owner:
    """An owner that is alive on this host (the test process), optionally under another host name."""
    return Owner(host or socket.gethostname(), os.getpid(), _start_time(os.getpid()), instance)


@pytest.mark.timeout(240)
def test_a_journal_a_live_peer_keeps_locked_is_left_in_place_and_runs_go_on_unrecorded(
        tmp_path_factory, comfy_env, floyo):
    base = tmp_path_factory.mktemp("comfy-locked-journal")
    path = base / "user" / "floyo" / "runs.sqlite3"
    peer = Journal(path, owner=_this_process())  # another ComfyUI on this machine, mid-run
    peer.begin("m_peer", name="peer [m_peer]", prompt_id="p", node_id="1", api_url="elsewhere")
    peer.created("m_peer", "run_peer1")
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # a second connection: BEGIN EXCLUSIVE
    server = Comfy(base, env=comfy_env)
    try:
        assert locker.stdout.readline().strip() == "locked"
        server.start()
        journal = server.get("/floyo/runs")[1]["journal"]
        assert journal["recording"] is False and "until it restarts" in journal["problem"]
        assert "records no runs in it until it restarts" in server.log_text()
        floyo.update(steps=[Step("queued", polls=1), Step("done")])
        with Socket(server.url) as ws:
            entry = server.wait(server.queue({"1": remote_run(), "2": save("1")}, client_id=ws.client_id))
            assert entry["status"]["status_str"] == "success", entry["status"]  # runs still work
            saved = wait_until(lambda: [e["data"] for e in ws.events if e["type"] == "floyo.run"
                                        and e["data"]["status"] == "saved"])
        assert "not recorded in the run journal" in saved[0]["message"]  # on the node's status line
        locker.stdin.close()
        locker.wait(10)
        peer.saved("run_peer1", ["/peer/out.png"])  # the peer goes on writing into the same file
        assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith("runs.sqlite3.")) == []
        runs = server.get("/floyo/runs")[1]["runs"]
        assert [(r["run_id"], r["state"]) for r in runs] == [("run_peer1", "saved")]
    finally:
        if locker.poll() is None:
            locker.stdin.close()
            locker.wait(10)
        server.stop()


@pytest.mark.timeout(240)
def test_a_container_recreated_under_a_new_host_name_resumes_its_runs_and_cancels_the_given_up_one(
        tmp_path_factory, comfy_env, floyo):
    floyo.update(steps=[Step("queued", polls=1), Step("processing")])
    watched, given_up = start_run_elsewhere(floyo), start_run_elsewhere(floyo)
    base = tmp_path_factory.mktemp("comfy-new-hostname")
    path = base / "user" / "floyo" / "runs.sqlite3"
    path.parent.mkdir(parents=True)
    (path.parent / "instance_id").write_text("e2e-volume-instance\n")  # kept on the user's volume
    old = Journal(path, owner=_this_process("container-before-recreate", "e2e-volume-instance"))
    for marker, run_id in (("m_watched", watched), ("m_given_up", given_up)):
        old.begin(marker, name=f"x [{marker}]", prompt_id="p", node_id="1", api_url=floyo.api_url)
        old.created(marker, run_id)
    old.status(given_up, GAVE_UP, None)  # its node had stopped, and the cancel had not got through
    server = Comfy(base, env=comfy_env)  # the same volume, a new container: a new host name
    server.start()
    try:
        wait_until(lambda: floyo.requests.cancel_requests(given_up), timeout=60)
        wait_until(lambda: floyo.requests.polls(watched), timeout=60)
        floyo.finish(watched)
        wait_until(lambda: server.get(f"/floyo/runs/{watched}")[1].get("state") == "saved", timeout=60)
        assert tuple(_owner(server, watched)) == (socket.gethostname(), server.proc.pid)
        assert server.get(f"/floyo/runs/{given_up}")[1]["state"] == "cancelled"
        assert floyo.requests.cancel_requests(watched) == []
        assert len(floyo.requests.cancel_requests(given_up)) == 1
    finally:
        server.stop()
