"""End-to-end fixtures: a real ComfyUI server (CPU) with this repo loaded as a custom node pack.

ComfyUI and its venv come from `bash .ci/setup.sh` (in ``$FLOYO_CI_DIR``, default
``~/.cache/floyo-ci``). How they are built: .ci/setup.sh.

Fixtures:

* ``floyo_server`` (session) / ``floyo`` (per test, reset): the local Floyo server, serving
  HTTPS with a test CA and the light ``e2e_realism()`` network profile on by default.
* ``comfy_env`` (session): extra environment variables for the ComfyUI process, e.g.
  ``FLOYO_API_URL``, ``FLOYO_CDN_URL``, ``FLOYO_API_KEY``, ``FLOYO_CA_BUNDLE``. Override it in a
  conftest closer to the tests (it must stay session-scoped). A value of ``None`` removes the variable.
* ``comfy`` (session): one running server, a :class:`Comfy`. ``comfy.restart()`` stops it
  (SIGTERM, or SIGKILL with ``kill=True``) and starts it again on the same port and base dir.
* ``comfy_factory`` (session): ``comfy_factory(env=None, name="...", pack=True)`` starts another,
  separate server with its own base dir (``pack=False``: without this pack); all are stopped at
  the end of the session.
* ``needs_browser``: skips a test that drives the headless browser when it is missing.
* after each test that used ``comfy``, its queue is left empty (``Comfy.settle``), so a test that
  failed mid-run never makes the next ones wait behind its run.

This file holds fixtures and pytest hooks only. What tests share besides fixtures (the ComfyUI
process manager, graph builders, results, waits, the websocket client, the gateway stack, browser
helpers, the fault suite's tally) lives in ``tests/e2e/support/``: test modules import it from
there, never from this file or from each other (tests/test_boundaries.py).

If ComfyUI is not installed the fixtures skip, or fail when ``FLOYO_TEST_REQUIRE_COMFYUI=1``
(as ``.ci/run`` sets).
"""

from __future__ import annotations

import os

import pytest

from .support.browser import browser_missing
from .support.comfy import Comfy, require_comfyui
from .support.scripted import FLOYO_KEY, e2e_realism


@pytest.fixture(scope="session")
def floyo_server():
    """The local Floyo-compatible server (scripted mode) the e2e ComfyUI talks to, over HTTPS with
    a test CA and the ``e2e_realism`` profile on.

    ``FLOYO_CA_BUNDLE`` (the CA's PEM) is also set in this process's environment for the session,
    so every ComfyUI started after this fixture, whatever its own env, trusts the server.
    """
    from floyo_scripted import Scenario, ServerThread

    with ServerThread(Scenario(realism=e2e_realism()), tls=True) as server:
        previous = os.environ.get("FLOYO_CA_BUNDLE")
        os.environ["FLOYO_CA_BUNDLE"] = server.ca_file
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("FLOYO_CA_BUNDLE", None)
            else:
                os.environ["FLOYO_CA_BUNDLE"] = previous


@pytest.fixture(scope="session")
def comfy_env(floyo_server) -> dict[str, str | None]:
    """Extra env vars for the ComfyUI process: point the pack at the local Floyo server (https)
    and make it trust the server's test CA."""
    return {"FLOYO_API_URL": floyo_server.api_url, "FLOYO_CDN_URL": floyo_server.cdn_url,
            "FLOYO_API_KEY": FLOYO_KEY, "FLOYO_MAX_OUTPUT_MB": "32",
            "FLOYO_CA_BUNDLE": floyo_server.ca_file}


@pytest.fixture
def floyo(floyo_server):
    """The local Floyo server with a fresh default scenario (the ``e2e_realism`` profile on) and
    an empty request record."""
    from floyo_scripted import Scenario

    floyo_server.server.scenario = Scenario(realism=e2e_realism())
    floyo_server.requests.clear()
    floyo_server.reset_rate_limits()  # each test starts with the key's whole 100/minute budget
    floyo_server.server.keys.clear()
    floyo_server.server.keys.add(FLOYO_KEY)
    yield floyo_server


@pytest.fixture(scope="session")
def comfy_factory(tmp_path_factory):
    """Start ComfyUI servers: ``comfy_factory(env=None, name="comfy")`` -> running Comfy."""
    require_comfyui()
    servers: list[Comfy] = []

    def start(env: dict[str, str | None] | None = None, name: str = "comfy", pack: bool = True) -> Comfy:
        server = Comfy(tmp_path_factory.mktemp(name), env=env, pack=pack)
        servers.append(server)
        try:
            server.start()
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def comfy(comfy_factory, comfy_env) -> Comfy:
    """The shared ComfyUI server for the session, started with ``comfy_env``."""
    return comfy_factory(env=comfy_env, name="comfy-base")


def pytest_terminal_summary(terminalreporter) -> None:
    """Lines a test asked to show at the end (``record_property("summary", line)``), also from
    xdist workers, whose own output is not shown: the templates corpus prints its counts so."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", ()):
            if name == "summary":
                terminalreporter.write_line(str(value))


@pytest.fixture(autouse=True)
def _session_comfy_left_idle(request):
    """Each test that used the session's ComfyUI leaves it idle for the next one. A test that
    failed mid-run (a browser step that timed out before its Cancel) would otherwise leave a run
    of minutes executing there, and every later test in that worker would queue behind it."""
    yield
    if "comfy" in request.fixturenames:
        request.getfixturevalue("comfy").settle(left_by=request.node.nodeid)


@pytest.fixture
def needs_browser():
    """Skips a test that drives the headless browser when it is missing (fails in CI)."""
    reason = browser_missing()
    if reason is None:
        return
    reason += ": run `bash .ci/setup.sh`"
    if os.environ.get("FLOYO_TEST_REQUIRE_COMFYUI") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
