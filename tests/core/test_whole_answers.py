"""Every API answer is read to its end, whatever its framing (Content-Length or chunked, gzip)
and however slowly its pieces arrive, under a size cap; a body cut mid-way is a network failure
(a create "may exist", a poll is retried), never a half-read JSON. The server's realism layer
shapes the answers on a real loopback connection."""

from __future__ import annotations

import asyncio
import re

import pytest
from floyo_pack.floyo_client import RunMayExist
from floyo_pack.floyo_client.errors import AnswerTooLarge
from floyo_pack.floyo_client.transport import MAX_JSON_BYTES
from floyo_scripted import Fault, OutputSpec, Step
from floyo_scripted.realism import Realism, Reset

from .conftest import WORKFLOW

FRAMINGS = [pytest.param(dict(chunked=False, gzip=False), id="content-length"),
            pytest.param(dict(chunked=True, gzip=False), id="chunked"),
            pytest.param(dict(chunked=False, gzip=True), id="gzip"),
            pytest.param(dict(chunked=True, gzip=True), id="chunked-gzip")]


def rude(floyo, **knobs) -> None:
    floyo.realism = Realism(origins=frozenset({"api"}), **knobs)


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_create_answer_in_slow_pieces_returns_the_run_not_may_exist(floyo, client, framing):
    rude(floyo, pieces=4, piece_delay_s=0.3, **framing)
    run = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    assert list(floyo.runs) == [run.id]
    assert floyo.realism.sent_for("api", "^/runs$")[-1].pieces >= 4


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_poll_answer_in_slow_pieces_is_read_whole(floyo, client, framing):
    floyo.scenario.steps = [Step("done")]
    rude(floyo, pieces=5, piece_delay_s=0.2, **framing)
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    run = await client.get_run(created.id, urls=True)
    assert run.status == "done" and len(run.outputs) == 1 and run.outputs[0].presigned_url


@pytest.mark.parametrize("count", [100, 1000])
async def test_finished_run_listing_many_outputs_is_read(floyo, client, count):
    floyo.scenario.steps = [Step("done")]
    floyo.scenario.outputs = [OutputSpec(format="txt", nbytes=8, seed=i) for i in range(count)]
    rude(floyo, pieces=3, piece_delay_s=0.1, chunked=True, gzip=True)
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    run = await client.get_run(created.id, urls=True)
    assert len(run.outputs) == count
    assert len({o.id for o in run.outputs}) == count and all(o.presigned_url for o in run.outputs)


async def test_create_answer_cut_mid_body_may_exist_and_is_never_resent(floyo, client):
    rude(floyo, pieces=3, resets=[Reset(method="POST", path="^/runs$", after_bytes=10)])
    with pytest.raises(RunMayExist) as caught:
        await client.create_run(WORKFLOW, name="t [m]", marker="m")
    assert len(floyo.runs) == 1 and floyo.requests.count("POST", "/runs") == 1
    assert caught.value.marker == "m"


async def test_poll_answer_cut_mid_body_is_retried_not_misread(floyo, client):
    floyo.scenario.steps = [Step("done")]
    floyo.scenario.outputs = [OutputSpec(format="txt", nbytes=8, seed=i) for i in range(20)]
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    rude(floyo, pieces=4, piece_delay_s=0.2,
         resets=[Reset(method="GET", path="^/runs/", after_bytes=300, count=2)])
    run = await client.get_run(created.id, urls=True)
    assert run.status == "done" and len(run.outputs) == 20
    assert floyo.requests.count("GET", f"/runs/{created.id}") == 3


def _huge_fault() -> Fault:
    return Fault("GET", r"^/runs/", status=200, body={"id": "run_x", "pad": "x" * (MAX_JSON_BYTES + 10)})


async def test_answer_above_the_cap_by_content_length_is_refused_naming_size_and_cap(floyo, client):
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    floyo.scenario.faults.append(_huge_fault())
    with pytest.raises(AnswerTooLarge) as caught:
        await client.get_run(created.id)
    size = int(re.search(r"is (\d+) bytes", str(caught.value)).group(1))
    assert size > MAX_JSON_BYTES and f"{MAX_JSON_BYTES}-byte limit" in str(caught.value)


async def test_chunked_answer_growing_past_the_cap_is_refused_while_reading(floyo, client):
    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    rude(floyo, pieces=20, chunked=True)
    floyo.scenario.faults.append(_huge_fault())
    with pytest.raises(AnswerTooLarge) as caught:
        await client.get_run(created.id)
    assert f"{MAX_JSON_BYTES}-byte limit" in str(caught.value) and "more than" in str(caught.value)


async def test_a_gzip_answer_that_inflates_past_the_cap_is_refused_while_decoding():
    """A small gzip body (under the cap on the wire) that decodes to far more than the cap."""
    import gzip

    from aiohttp import web
    from floyo_pack.floyo_client import Config, FloyoClient, KeyState, Transport

    bomb = gzip.compress(b'{"id": "run_x", "pad": "' + b"0" * (2 * MAX_JSON_BYTES) + b'"}')
    assert len(bomb) < MAX_JSON_BYTES // 100

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json")

    app = web.Application()
    app.router.add_get("/runs/{run_id}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    config = Config(api_key="flo_test_key", api_url=f"http://{host}:{port}", cdn_url=f"http://{host}:{port}")
    try:
        async with FloyoClient(Transport(config, state=KeyState())) as client:
            with pytest.raises(AnswerTooLarge) as caught:
                await client.get_run("run_x")
    finally:
        await runner.cleanup()
    assert "more than" in str(caught.value)


@pytest.mark.timeout(30)
async def test_a_stop_while_a_poll_answer_trickles_in_is_honoured_before_it_ends(floyo, client):
    from floyo_pack.floyo_client import Interrupted

    created = await client.create_run(WORKFLOW, name="t [m]", marker="m")
    rude(floyo, pieces=10, piece_delay_s=1.0)  # the answer takes 9 s to arrive
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(Interrupted):
        await client.get_run(created.id, stop=lambda: bool(floyo.requests.polls(created.id)))
    assert loop.time() - started < 6.0, "stopped while the answer was still arriving, not after it"
