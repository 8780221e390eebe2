"""The gateway's command line as a team runs it (issue #25, item 3): no well-known key (one is
made at the first start, printed once and kept in the state folder), a keys file reread on
SIGHUP, and the state in the user's data folder unless ``--state`` says otherwise."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEAD_WORKER = "http://127.0.0.1:9"  # never contacted by these requests


@contextlib.contextmanager
def gateway(*flags: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, dict]]:
    """The gateway's process and what it printed before its URLs (``NAME=value`` lines)."""
    proc = subprocess.Popen([sys.executable, "-m", "floyo_server", "--gateway", DEAD_WORKER, *flags],
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed: dict[str, str] = {}
    try:
        while "FLOYO_CDN_URL" not in printed:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            name, _, value = line.strip().partition("=")
            printed[name] = value
        yield proc, printed
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            proc.kill()
            proc.communicate()


def status_for(api_url: str, key: str) -> int:
    request = urllib.request.Request(api_url + "/runs?search=x", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_a_key_the_gateway_makes_one_prints_it_once_and_keeps_it(tmp_path):
    state = tmp_path / "state"
    with gateway("--state", str(state)) as (_, printed):
        key = printed["FLOYO_API_KEY"]
        assert key.startswith("flo_gw_") and len(key) > 30
        assert status_for(printed["FLOYO_API_URL"], key) == 200
        assert status_for(printed["FLOYO_API_URL"], "flo_test_key") == 401
    assert stat.S_IMODE((state / "api_key").stat().st_mode) == 0o600
    with gateway("--state", str(state)) as (_, printed):
        assert "FLOYO_API_KEY" not in printed, "printed once, at the first start only"
        assert status_for(printed["FLOYO_API_URL"], key) == 200


def test_the_keys_file_is_reread_on_sighup(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# team A\nflo_team_a\n")
    with gateway("--keys", str(keys), "--state", str(tmp_path / "state")) as (proc, printed):
        api = printed["FLOYO_API_URL"]
        assert "FLOYO_API_KEY" not in printed  # keys were given: none is made
        assert (status_for(api, "flo_team_a"), status_for(api, "flo_team_b")) == (200, 401)
        keys.write_text("flo_team_b\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while status_for(api, "flo_team_b") != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (status_for(api, "flo_team_a"), status_for(api, "flo_team_b")) == (401, 200)


def test_the_state_lives_in_the_users_data_folder_by_default(tmp_path):
    with gateway(env={"XDG_DATA_HOME": str(tmp_path)}) as (_, printed):
        assert status_for(printed["FLOYO_API_URL"], printed["FLOYO_API_KEY"]) == 200
    assert (tmp_path / "floyo-gateway" / "gateway.sqlite3").is_file()
    assert (tmp_path / "floyo-gateway" / "api_key").read_text().strip() == printed["FLOYO_API_KEY"]


def test_an_unreadable_keys_file_stops_the_start_with_its_name(tmp_path):
    done = subprocess.run([sys.executable, "-m", "floyo_server", "--gateway", DEAD_WORKER, "--keys",
                           str(tmp_path / "missing.txt"), "--state", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "missing.txt" in done.stderr and done.stdout == ""
