"""The two ways a separate process reaches the server: ServerThread (a synchronous test drives
a real ComfyUI against it) and the ``python -m floyo_server`` command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from floyo_pack.floyo_client.models import Phase
from floyo_scripted import Scenario, ScriptedServer, ServerThread, Step

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer flo_test_key"}


def _call(method, url, body=None, headers=AUTH):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_thread_serves_sync_clients_and_takes_knobs_from_the_test_thread():
    with ServerThread(Scenario(steps=[Step("queued")])) as srv:
        status, created = _call("POST", f"{srv.api_url}/runs", {"workflow": {"1": {}}, "name": "sync"})
        run_id = created["id"]
        assert status == 200 and srv.run(run_id).name == "sync"
        assert _call("GET", f"{srv.api_url}/runs/{run_id}")[1]["status"] == "queued"
        srv.update(vocabulary="alt")
        srv.finish(run_id)
        assert _call("GET", f"{srv.api_url}/runs/{run_id}")[1]["status"] == "complete"
        srv.scenario = Scenario(vocabulary="docs")
        assert srv.server.scenario.vocabulary == "docs"
        srv.set_phase(run_id, Phase.CANCELLED)
        assert _call("GET", f"{srv.api_url}/runs/{run_id}")[1]["status"] == "cancelled"
        assert srv.requests.count("GET", "/runs/.*") == 3 and len(srv.runs) == 1
        assert srv.call(lambda: threading.current_thread().name) == "floyo-local-server"
    with pytest.raises(OSError):
        _call("GET", f"{srv.api_url}/runs/{run_id}")


def test_server_thread_is_safe_under_concurrent_knob_changes():
    with ServerThread() as srv:
        stop = threading.Event()

        def flip():
            while not stop.is_set():
                srv.update(vocabulary="alt")
                srv.update(vocabulary="docs")

        flipper = threading.Thread(target=flip)
        flipper.start()
        try:
            words = set()
            for _ in range(20):
                run_id = _call("POST", f"{srv.api_url}/runs", {"workflow": {}})[1]["id"]
                srv.finish(run_id)
                words.add(_call("GET", f"{srv.api_url}/runs/{run_id}")[1]["status"])
        finally:
            stop.set()
            flipper.join()
        assert words <= {"done", "complete"}


def test_non_loopback_host_is_refused():
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):  # noqa: S104 - the point of the test
        with pytest.raises(ValueError, match="loopback"):
            ScriptedServer(host=host)


def _read_urls(proc, deadline):
    urls = {}
    while len(urls) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition("=")
        if name in ("FLOYO_API_URL", "FLOYO_CDN_URL"):
            urls[name] = value
    return urls


def test_cli_prints_base_urls_and_serves():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "floyo_scripted", "--key", "flo_cli", "--vocabulary",
                             "alt", "--steps", "queued:1,complete"], cwd=ROOT / "tests", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        urls = _read_urls(proc, time.monotonic() + 20)
        assert set(urls) == {"FLOYO_API_URL", "FLOYO_CDN_URL"}, proc.stderr.read() if proc.poll() else urls
        assert urls["FLOYO_API_URL"].startswith("http://127.0.0.1:")
        auth = {"Authorization": "Bearer flo_cli"}
        run_id = _call("POST", f"{urls['FLOYO_API_URL']}/runs", {"workflow": {}}, auth)[1]["id"]
        words = [_call("GET", f"{urls['FLOYO_API_URL']}/runs/{run_id}", headers=auth)[1]["status"]
                 for _ in range(2)]
        assert words == ["queued", "complete"]
        assert _call("GET", f"{urls['FLOYO_API_URL']}/runs/{run_id}")[0] == 401
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            proc.communicate()


def test_cli_refuses_non_loopback_host():
    result = subprocess.run([sys.executable, "-m", "floyo_server", "--gateway", "http://127.0.0.1:9",
                             "--host", "0.0.0.0"],  # noqa: S104
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "loopback" in result.stderr and result.stdout == ""
