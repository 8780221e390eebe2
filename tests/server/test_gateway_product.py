"""The gateway as a product (issue #25), against a loopback stand-in of a ComfyUI worker: one key
never reaches another key's runs, files or uploads; state survives a restart; outputs and uploads
pass through as streams; the request log is off, bounded and written after auth; a worker that
is down or forgets a prompt ends the run as failed, naming it; live progress is added when the
worker reports a step. The same guarantees through real ComfyUIs: tests/e2e/test_gateway_e2e.py."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from floyo_scripted import GatewayServer

KEY, OTHER = "flo_team_a", "flo_team_b"
WORKFLOW = {"3": {"class_type": "KSampler", "inputs": {"seed": 1}, "_meta": {"title": "KSampler"}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "out", "images": ["3", 0]}}}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Worker:
    """What the gateway asks of a ComfyUI: /prompt, /queue, /history, /view (GET and HEAD, Range,
    served from disk by aiohttp as ComfyUI does), /upload/image, /interrupt and /ws."""

    def __init__(self, folder: Path):
        self.folder, self.prompts, self.running, self.done = folder, {}, set(), {}
        self.sockets: list[web.WebSocketResponse] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0) -> Worker:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post("/prompt", self.prompt)
        app.router.add_get("/queue", self.queue)
        app.router.add_post("/queue", lambda r: web.json_response({}))
        app.router.add_post("/interrupt", lambda r: web.json_response({}))
        app.router.add_get("/history/{pid}", self.history)
        app.router.add_get("/view", self.view)
        app.router.add_post("/upload/image", self.upload)
        app.router.add_get("/system_stats", lambda r: web.json_response({"system": {}}))
        app.router.add_get("/ws", self.ws)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.runner.cleanup()

    async def prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        pid = f"p{len(self.prompts) + 1}"
        self.prompts[pid] = body
        self.running.add(pid)
        return web.json_response({"prompt_id": pid, "number": 1, "node_errors": {}})

    async def queue(self, request: web.Request) -> web.Response:
        return web.json_response({"queue_running": [[0, p, {}, {}, []] for p in self.running],
                                  "queue_pending": []})

    async def history(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        return web.json_response({pid: self.done[pid]} if pid in self.done else {})

    def finish(self, pid: str, *files: tuple[str, bytes]) -> None:
        """The prompt succeeded, having saved ``files`` in the output folder."""
        for name, data in files:
            (self.folder / name).write_bytes(data)
        images = [{"filename": name, "subfolder": "", "type": "output"} for name, _ in files]
        self.running.discard(pid)
        self.done[pid] = {"status": {"status_str": "success", "messages": []},
                          "outputs": {"9": {"images": images}}}

    async def view(self, request: web.Request) -> web.StreamResponse:
        path = self.folder / request.query["filename"]
        return web.FileResponse(path) if path.is_file() else web.Response(status=404)

    async def upload(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        name = "upload.bin"
        while (part := await reader.next()) is not None:
            if part.name == "image":
                name = part.filename
                with (self.folder / name).open("wb") as out:
                    while chunk := await part.read_chunk():
                        out.write(chunk)
            else:
                await part.read()
        return web.json_response({"name": name, "subfolder": "", "type": "input"})

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    async def send(self, kind: str, data: dict) -> None:
        for ws in self.sockets:
            await ws.send_str(json.dumps({"type": kind, "data": data}))


@pytest.fixture
async def worker(tmp_path):
    started = await Worker(tmp_path / "worker").start()
    (tmp_path / "worker").mkdir()
    yield started
    await started.stop()


async def call(method: str, url: str, key: str | None = KEY, **kwargs) -> tuple[int, object]:
    async with aiohttp.ClientSession(headers=auth(key) if key else {}) as http:
        async with http.request(method, url, **kwargs) as resp:
            body = await resp.read()
            try:
                return resp.status, json.loads(body)
            except ValueError:
                return resp.status, body


async def create(gw: GatewayServer, key: str = KEY) -> str:
    status, body = await call("POST", gw.api_url + "/runs", key, json={"workflow": WORKFLOW, "name": "t"})
    assert status == 200, body
    return body["id"]


async def upload(gw: GatewayServer, data: bytes, name: str, key: str = KEY) -> dict:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name)
    form.add_field("on_conflict", "rename")
    status, body = await call("POST", gw.cdn_url + "/upload", key, data=form)
    assert status == 200, body
    return body


async def test_another_keys_runs_files_and_uploads_answer_404_as_unknown_ones(worker):
    async with GatewayServer(worker.url, keys=[KEY, OTHER]) as gw:
        run_id = await create(gw)
        worker.finish("p1", ("out_00001_.png", b"png bytes"))
        status, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        assert status == 200 and run["status"] == "done"
        [output] = run["outputs"]
        uploaded = await upload(gw, b"input bytes", "photo.png")
        for method, url in [("GET", f"{gw.api_url}/runs/{run_id}"),
                            ("POST", f"{gw.api_url}/runs/{run_id}/cancel"),
                            ("GET", f"{gw.api_url}/files/{output['id']}"),
                            ("GET", f"{gw.cdn_url}/{output['id']}/download"),
                            ("GET", f"{gw.api_url}/files/{uploaded['id']}"),
                            ("GET", f"{gw.cdn_url}/{uploaded['id']}/download")]:
            assert (await call(method, url, OTHER))[0] == 404, url
            assert (await call(method, url, KEY))[0] in (200, 409), url  # 409: cancel of a finished run
        status, listed = await call("GET", gw.api_url + "/runs", OTHER, params={"search": "t"})
        assert status == 200 and listed["data"] == []
        assert (await call("GET", f"{gw.cdn_url}/{output['id']}/download", KEY))[1] == b"png bytes"


async def test_the_gateway_has_no_well_known_key_and_needs_one():
    with pytest.raises(ValueError, match="at least one API key"):
        GatewayServer("http://127.0.0.1:9")
    async with GatewayServer("http://127.0.0.1:9", keys=[KEY]) as gw:
        assert (await call("GET", gw.api_url + "/runs", "flo_test_key"))[0] == 401


async def test_runs_files_and_uploads_survive_a_restart_of_the_gateway(worker, tmp_path):
    state = tmp_path / "state"
    async with GatewayServer(worker.url, keys=[KEY], state_dir=state) as gw:
        finished, live = await create(gw), await create(gw)
        worker.finish("p1", ("out_00001_.png", b"first"))
        expand = {"expand": "outputs.presigned_url"}
        _, run = await call("GET", f"{gw.api_url}/runs/{finished}", params=expand)
        link = run["outputs"][0]["presigned_url"]
        uploaded = await upload(gw, b"kept", "kept.png")
        ports = (int(gw.api_url.rsplit(":", 1)[1]), int(gw.cdn_url.rsplit(":", 1)[1]))
    kept = b"".join(f.read_bytes() for f in state.iterdir() if f.is_file())
    assert KEY.encode() not in kept, "the state names owners by their key's hash, never the key"
    worker.finish("p2", ("out_00002_.png", b"second"))  # finished while the gateway was down
    async with GatewayServer(worker.url, keys=[KEY], state_dir=state, api_port=ports[0],
                             cdn_port=ports[1]) as gw:
        _, listed = await call("GET", gw.api_url + "/runs", params={"search": "t"})
        assert [r["id"] for r in listed["data"]] == [live, finished]
        _, run = await call("GET", f"{gw.api_url}/runs/{live}")
        assert run["status"] == "done" and [o["size_bytes"] for o in run["outputs"]] == [6]
        assert (await call("GET", link, None))[1] == b"first"  # a link given before the restart
        assert (await call("GET", f"{gw.api_url}/files/{uploaded['id']}"))[0] == 200
        assert (await call("POST", f"{gw.api_url}/runs/{finished}/cancel"))[0] == 409


async def test_outputs_and_uploads_pass_through_the_gateway_without_being_held(worker):
    big = bytes(range(256)) * (48 * 4096)  # 48 MiB
    async with GatewayServer(worker.url, keys=[KEY]) as gw:
        run_id = await create(gw)
        worker.finish("p1", ("big.bin", big))
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        file_id = run["outputs"][0]["id"]
        tracemalloc.start()
        try:
            async with aiohttp.ClientSession(headers=auth(KEY)) as http:
                async with http.get(f"{gw.cdn_url}/{file_id}/download") as resp:
                    got = 0
                    async for chunk in resp.content.iter_chunked(1 << 20):
                        got += len(chunk)
                async with http.get(f"{gw.cdn_url}/{file_id}/download",
                                    headers={"Range": "bytes=1000-1999"}) as resp:
                    assert resp.status == 206 and await resp.read() == big[1000:2000]
            peak_download = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            with (worker.folder / "source.bin").open("wb") as out:
                out.write(big)
            form = aiohttp.FormData()
            form.add_field("file", (worker.folder / "source.bin").open("rb"), filename="sent.bin")
            status, body = await call("POST", gw.cdn_url + "/upload", data=form)
            peak_upload = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert got == len(big) and status == 200 and body["size_bytes"] == len(big)
    assert (worker.folder / "sent.bin").read_bytes() == big
    assert peak_download < 8 << 20, f"a 48 MiB download held {peak_download >> 20} MiB"
    assert peak_upload < 8 << 20, f"a 48 MiB upload held {peak_upload >> 20} MiB"


async def test_the_request_log_is_off_by_default_bounded_and_keeps_no_header_nor_unauthorised_request(worker):
    async with GatewayServer(worker.url, keys=[KEY]) as gw:
        for _ in range(20):
            await call("GET", gw.api_url + "/runs")
        assert gw.requests.entries() == []
    async with GatewayServer(worker.url, keys=[KEY], request_log=5) as gw:
        for _ in range(300):
            await call("GET", gw.api_url + "/runs", "flo_not_a_key")
        assert gw.requests.entries() == []
        for _ in range(8):
            await call("GET", gw.api_url + "/runs", params={"search": "x"})
        entries = gw.requests.entries()
    assert len(entries) == 5 and {e.status for e in entries} == {200}
    assert KEY not in repr(entries) and "Authorization" not in repr(entries)
    assert not hasattr(entries[0], "headers")


async def test_a_worker_that_stays_down_fails_its_runs_naming_it_within_the_limit(worker):
    async with GatewayServer(worker.url, keys=[KEY], down_limit_s=1.0, watch_s=0.2) as gw:
        run_id = await create(gw)
        await worker.stop()
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        assert run["status"] == "queued"  # a blip is ridden out: as last seen
        for _ in range(50):
            await asyncio.sleep(0.1)
            _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
            if run["status"] != "queued":
                break
    assert run["status"] == "failed"
    assert worker.url in run["error"]["message"] and "unreachable" in run["error"]["message"]


async def test_a_worker_that_forgets_a_prompt_fails_the_run_naming_the_worker(worker):
    async with GatewayServer(worker.url, keys=[KEY]) as gw:
        run_id = await create(gw)
        worker.running.clear()  # a restarted ComfyUI: neither queued nor in history
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
    assert run["status"] == "failed"
    assert worker.url in run["error"]["message"] and "restarted" in run["error"]["message"]


async def test_live_progress_names_the_node_and_its_step_while_the_worker_reports_one(worker):
    async with GatewayServer(worker.url, keys=[KEY]) as gw:
        run_id = await create(gw)
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        assert run["status"] == "processing" and "progress" not in run  # nothing reported: no field
        for _ in range(50):
            if worker.sockets:
                break
            await asyncio.sleep(0.1)
        await worker.send("progress", {"value": 7, "max": 20, "prompt_id": "p1", "node": "3"})
        await asyncio.sleep(0.3)
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        assert run["progress"] == {"node": "KSampler", "value": 7, "max": 20}
        await worker.send("execution_success", {"prompt_id": "p1"})
        await asyncio.sleep(0.3)
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}")
        assert "progress" not in run


async def test_presigned_links_carry_the_public_cdn_address_behind_a_reverse_proxy(worker):
    async with GatewayServer(worker.url, keys=[KEY], public_cdn_url="https://cdn.example.org/") as gw:
        run_id = await create(gw)
        worker.finish("p1", ("out_00001_.png", b"png"))
        _, run = await call("GET", f"{gw.api_url}/runs/{run_id}", params={"expand": "outputs.presigned_url"})
    assert run["outputs"][0]["presigned_url"].startswith("https://cdn.example.org/p/file_")


def test_a_stale_copy_of_a_run_never_undoes_a_cancel_nor_reopens_a_finished_run(tmp_path):
    """The watch and a request may hold copies of one run at once: the later save of the older
    copy must not lose a cancel asked for meanwhile, nor move a finished run back."""
    from floyo_pack.floyo_client import Phase
    from floyo_pack.floyo_server.gateway_runs import GatewayRun
    from floyo_pack.floyo_server.gateway_store import GatewayStore

    store = GatewayStore(tmp_path)
    store.save_run(GatewayRun(id="run_a", name="a", owner=KEY, prompt_id="p1"))
    stale = store.run("run_a", KEY)
    cancelled = store.run("run_a", KEY)
    cancelled.cancel_requested = True
    store.save_run(cancelled)
    stale.phase = Phase.RUNNING
    store.save_run(stale)
    assert store.run("run_a", KEY).cancel_requested and store.run("run_a", KEY).phase is Phase.RUNNING
    done = store.run("run_a", KEY)
    done.finish(Phase.CANCELLED)
    store.save_run(done)
    stale.phase = Phase.QUEUED
    store.save_run(stale)
    assert store.run("run_a", KEY).phase is Phase.CANCELLED
    assert store.run("run_a", OTHER) is None
