"""Gateway mode never returns a silently partial run: when the worker's ``POST /prompt`` answers 200
with node errors (ComfyUI queues a prompt if at least one output validates, and drops the others),
the run fails at once naming the dropped output nodes and why, and the part the worker queued is
taken off it; a wholly valid prompt (no node errors) is left to run."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from floyo_scripted import GatewayServer

KEY = "flo_test_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WORKFLOW = {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "wan.safetensors"}},
            "9": {"class_type": "SaveVideo", "inputs": {"video": ["8", 0], "filename_prefix": "v"}},
            "8": {"class_type": "CreateVideo", "inputs": {"images": ["7", 0], "fps": 16}},
            "7": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1}},
            "12": {"class_type": "PreviewImage", "inputs": {"images": ["7", 0]}}}
# ComfyUI 0.3.75's answer when output 9 fails validation (its model is missing) and 12 is valid
PARTLY_VALID = {"prompt_id": "p-1", "number": 3, "node_errors": {"4": {
    "errors": [{"type": "value_not_in_list", "message": "Value not in list",
                "details": "ckpt_name: 'wan.safetensors' not in []", "extra_info": {}}],
    "dependent_outputs": ["9"], "class_type": "CheckpointLoaderSimple"}}}


class Worker:
    """A loopback stand-in for a ComfyUI worker's /prompt, /queue and /interrupt."""

    def __init__(self, answer: dict):
        self.answer, self.calls = answer, []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/prompt", self.record(lambda: self.answer))
        app.router.add_post("/queue", self.record(dict))
        app.router.add_post("/interrupt", self.record(dict))
        queued = {"queue_running": [], "queue_pending": [["3", "p-1"]]}
        app.router.add_get("/queue", self.record(lambda: queued))
        return app

    def record(self, answer):
        async def handle(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else None
            self.calls.append((request.method, request.path, body))
            return web.json_response(answer())
        return handle


@pytest.fixture
async def worker_url():
    async def start(worker: Worker) -> str:
        runner = web.AppRunner(worker.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    runners: list[web.AppRunner] = []
    yield start
    for runner in runners:
        await runner.cleanup()


async def create_and_get(worker: Worker, url: str) -> dict:
    async with GatewayServer(url, keys=[KEY]) as gw, aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(gw.api_url + "/runs", json={"workflow": WORKFLOW, "name": "t"}) as resp:
            assert resp.status == 200
            run_id = (await resp.json())["id"]
        async with http.get(f"{gw.api_url}/runs/{run_id}") as resp:
            return await resp.json()


async def test_a_partly_valid_prompt_fails_the_run_naming_the_dropped_output_and_why(worker_url):
    worker = Worker(PARTLY_VALID)
    run = await create_and_get(worker, await worker_url(worker))
    assert run["status"] == "failed" and run["outputs"] == []
    message = run["error"]["message"]
    assert "9 (SaveVideo)" in message and "node 4 (CheckpointLoaderSimple)" in message
    assert "ckpt_name: 'wan.safetensors' not in []" in message
    assert run["error"]["details"] == {"node_id": "4"}
    # what the worker had queued is taken off it: out of its queue, interrupted if it had started
    assert ("POST", "/queue", {"delete": ["p-1"]}) in worker.calls
    assert ("POST", "/interrupt", {"prompt_id": "p-1"}) in worker.calls

    whole = Worker({**PARTLY_VALID, "node_errors": {}})  # ComfyUI's answer for a wholly valid prompt
    run = await create_and_get(whole, await worker_url(whole))
    assert run["status"] == "queued" and "error" not in run
    assert [c for c in whole.calls if c[0] == "POST" and c[1] != "/prompt"] == []  # left to run
