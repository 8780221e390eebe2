"""Shared fixtures of the glue tests: a scripted Floyo server whose run is done, and a finished run on it.

Tests take these as fixtures; no test module imports another (tests/test_boundaries.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from floyo_pack.floyo_client import (
    Config,
    FloyoClient,
    KeyState,
    RateLimiter,
    RetryPolicy,
    RunHandle,
    Transport,
)
from floyo_pack.nodes import comfy
from floyo_scripted import OutputSpec, Scenario, ScriptedServer, Step

Finished = Callable[[ScriptedServer, list[OutputSpec]], Awaitable[tuple[FloyoClient, RunHandle]]]


@pytest.fixture(autouse=True)
def _user_dir(tmp_path, monkeypatch):
    """ComfyUI's user folder (the journal, the settings file) in ``tmp_path``: the queue-time
    spend check reads both, and ComfyUI's folder_paths is not here."""
    monkeypatch.setattr(comfy, "user_dir", lambda: tmp_path / "user")


@pytest.fixture
async def server(tmp_path, monkeypatch):
    """A scripted server whose runs finish at once; ComfyUI's output folder is ``tmp_path``."""
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path)
    async with ScriptedServer(Scenario(steps=[Step("done")])) as srv:
        yield srv


async def _finished(server: ScriptedServer, specs: list[OutputSpec]) -> tuple[FloyoClient, RunHandle]:
    server.scenario.outputs = specs
    config = Config(api_key="flo_test_key", api_url=server.api_url, cdn_url=server.cdn_url)
    client = FloyoClient(Transport(config, state=KeyState(RateLimiter(rate=10_000)),
                                   policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.02)))
    run = await client.create_run({}, name="t", marker="m")
    handle = RunHandle(client, run.id)
    await handle.wait()
    return client, handle


@pytest.fixture
def finished() -> Finished:
    """``await finished(server, specs)``: a client and the handle of a run that made ``specs``."""
    return _finished
