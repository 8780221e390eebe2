"""A workflow the worker's ComfyUI release refuses because the sender runs another release (a 0.33
client's SaveVideo sends ``format.codec``; a 0.3.75 worker asks for ``codec``) fails naming both
releases: the worker's from its ``/system_stats``, the sender's from the User-Agent the pack sends.
The real pair of ComfyUIs: tests/e2e/test_version_skew_e2e.py."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from floyo_scripted import GatewayServer

KEY = "flo_test_key"
WORKFLOW = {"7": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1}},
            "8": {"class_type": "CreateVideo", "inputs": {"images": ["7", 0], "fps": 16}},
            "9": {"class_type": "SaveVideo", "inputs": {"video": ["8", 0], "filename_prefix": "v",
                                                        "format": "auto", "format.codec": "auto"}}}
# ComfyUI 0.3.75's answer to that SaveVideo
REFUSED = {"error": {"type": "prompt_outputs_failed_validation", "details": "", "extra_info": {},
                     "message": "Prompt outputs failed validation"},
           "node_errors": {"9": {"errors": [{"type": "required_input_missing",
                                             "message": "Required input is missing", "details": "codec",
                                             "extra_info": {"input_name": "codec"}}],
                                 "dependent_outputs": ["9"], "class_type": "SaveVideo"}}}


async def refused_run(user_agent: str, stats: dict | None) -> dict:
    app = web.Application()
    app.router.add_post("/prompt", lambda _r: web.json_response(REFUSED, status=400))
    if stats is not None:
        app.router.add_get("/system_stats", lambda _r: web.json_response(stats))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    headers = {"Authorization": f"Bearer {KEY}", "User-Agent": user_agent}
    try:
        async with GatewayServer(url, keys=[KEY]) as gw, aiohttp.ClientSession(headers=headers) as http:
            async with http.post(gw.api_url + "/runs", json={"workflow": WORKFLOW, "name": "t"}) as resp:
                run_id = (await resp.json())["id"]
            async with http.get(f"{gw.api_url}/runs/{run_id}") as resp:
                return await resp.json()
    finally:
        await runner.cleanup()


async def test_a_workflow_refused_for_a_release_skew_names_the_worker_and_client_releases():
    pack = "floyo-comfyui/0.1.0 (ComfyUI custom nodes; aiohttp/3.14.5) ComfyUI/0.33.0"
    run = await refused_run(pack, {"system": {"comfyui_version": "0.3.75", "os": "posix"}})
    message = run["error"]["message"]
    assert run["status"] == "failed" and "node 9 (SaveVideo): Required input is missing: codec" in message
    assert "the worker runs ComfyUI 0.3.75 and the ComfyUI that sent this workflow is 0.33.0" in message
    assert "run the same ComfyUI release on both" in message


async def test_a_refusal_names_what_is_known_and_never_guesses_the_other_release():
    run = await refused_run("curl/8.0", {"system": {"comfyui_version": "0.3.75"}})
    assert run["error"]["message"].endswith("(the worker runs ComfyUI 0.3.75)")
    same = await refused_run("floyo-comfyui/0.1.0 ComfyUI/0.3.75", {"system": {"comfyui_version": "0.3.75"}})
    assert "the same release as the ComfyUI that sent this workflow" in same["error"]["message"]
    unknown = await refused_run("floyo-comfyui/0.1.0 ComfyUI/0.33.0", None)  # no /system_stats
    assert "ComfyUI 0" not in unknown["error"]["message"] and "codec" in unknown["error"]["message"]
