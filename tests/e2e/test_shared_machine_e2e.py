"""Shared machines, through a real ComfyUI: a cross-site page cannot set or clear the key nor
cancel a run (a form or text/plain POST, a foreign Origin), while the panel's own JSON calls still
work; a second ComfyUI sharing the user folder neither takes over nor cancels the first one's
run; and a corrupt run journal does not stop the pack from loading."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request

import pytest
from floyo_scripted import Step

from .conftest import FLOYO_KEY, Comfy, remote_run, save, wait_until

pytestmark = pytest.mark.e2e
EVIL = "https://evil.example"


def _owner_pid(comfy, run_id: str) -> int:
    """The journal row's owner, read from the file: the routes never show owners (runs_view.py)."""
    db = sqlite3.connect(f"file:{comfy.user_dir / 'floyo' / 'runs.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT owner_pid FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    finally:
        db.close()


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
