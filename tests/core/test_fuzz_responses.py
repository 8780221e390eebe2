"""Whatever Floyo (or a proxy in front of it) answers — any status, any body, JSON or not — the
client raises only its own typed errors, so the node can always show a clear message."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from aiohttp import web
from floyo_pack.floyo_client import CancelOutcome, Config, FloyoClient, FloyoError, RetryPolicy, Transport
from floyo_pack.floyo_client.keystate import KeyState
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25)
run_like = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["run_abc123", "", "file_x", 7]), "status": json_values, "outputs": json_values,
    "flotime_ms": json_values, "error": json_values, "message": json_values, "name": json_values})
bodies = st.one_of(json_values.map(json.dumps), run_like.map(json.dumps), st.binary(max_size=200).map(
    lambda b: b.decode("latin-1")), st.just(""))
statuses = st.sampled_from([200, 201, 204, 400, 401, 402, 403, 404, 409, 410, 418, 422, 429, 500, 502, 503])


class Canned:
    """A loopback server answering every request with the current canned reply."""

    def __init__(self) -> None:
        self.reply = (200, "{}")
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._main, args=(ready,), daemon=True).start()
        ready.wait(10)

    async def handle(self, request: web.Request) -> web.Response:
        status, body = self.reply
        return web.Response(status=status, text=body, content_type="application/json")

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        ready.set()
        self.loop.run_forever()


@pytest.fixture(scope="module")
def canned() -> Canned:
    return Canned()


async def _call(url: str, op: str) -> object:
    config = Config(api_key="flo_fuzz_key_1", api_url=url, cdn_url=url)
    policy = RetryPolicy(max_attempts=1, max_rate_limited=1)

    async def no_sleep(_: float) -> None:
        return None

    async with FloyoClient(Transport(config, policy=policy, state=KeyState(), sleep=no_sleep)) as client:
        if op == "create":
            return await client.create_run({"1": {"class_type": "X", "inputs": {}}}, name="n", marker="m")
        if op == "get":
            return await client.get_run("run_abc123", urls=True)
        if op == "cancel":
            return await client.cancel_run("run_abc123")
        return await client.get_file("file_abc")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=statuses, body=bodies, op=st.sampled_from(["create", "get", "cancel", "file"]))
def test_any_answer_yields_a_result_or_a_typed_floyo_error(canned, status, body, op):
    canned.reply = (status, body)
    try:
        result = asyncio.run(_call(canned.url, op))
    except FloyoError as e:
        assert isinstance(str(e), str) and "flo_fuzz_key_1" not in str(e)
        return
    assert 200 <= status < 300 or (op == "cancel" and isinstance(result, CancelOutcome))
