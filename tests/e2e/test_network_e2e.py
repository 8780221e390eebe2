"""Where the user sees it, through the real ComfyUI over HTTPS and the realism layer: a create
answer arriving in slow pieces is watched to the end (not "may have been created"); six seconds
of Cloudflare pages and resets while polling do not cancel the run and the node's status says
"reconnecting…"; another node failing while a create is in flight (ComfyUI then cancels the
pending node) still ends with the run cancelled on Floyo and journaled."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
import uuid

import aiohttp
import pytest
from floyo_scripted import Fault, Step
from floyo_scripted.realism import Outage

from .support.graphs import remote_run, save
from .support.results import node_error
from .support.scripted import e2e_realism
from .support.waits import wait_for_new_run

pytestmark = pytest.mark.e2e


class Listener:
    """ComfyUI's websocket for one client id: the floyo.run events and the nodes' progress texts."""

    def __init__(self, comfy) -> None:
        self.client_id = "net-" + uuid.uuid4().hex[:8]
        self.url = comfy.url.replace("http://", "ws://") + f"/ws?clientId={self.client_id}"
        self.events: list[dict] = []
        self.texts: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(self.url) as ws:
            self._ready.set()
            while not self._stop.is_set():
                try:
                    msg = await ws.receive(timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("type") == "floyo.run":
                        self.events.append(data["data"])
                elif msg.type == aiohttp.WSMsgType.BINARY and struct.unpack(">I", msg.data[:4])[0] == 3:
                    self.texts.append(msg.data[4:].decode("utf-8", "replace"))  # node id + text
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return

    def __enter__(self) -> Listener:
        self._thread.start()
        assert self._ready.wait(10), "ComfyUI's websocket did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_a_create_answer_in_slow_pieces_is_watched_to_the_end(comfy, floyo):
    floyo.realism = e2e_realism()
    floyo.realism.pieces, floyo.realism.piece_delay_s = 5, 0.4  # the create's answer takes ~2 s
    entry = comfy.run({"1": remote_run(), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    run = floyo.last_run
    assert len(floyo.requests.creates()) == 1 and run.cancels == 0
    create = floyo.realism.sent_for("api", "^/runs$")[0]
    assert create.pieces >= 5 and create.fate == "whole"
    assert comfy.get(f"/floyo/runs/{run.id}")[1]["state"] == "saved"


@pytest.mark.timeout(120)
def test_six_seconds_of_52x_pages_and_resets_while_polling_do_not_cancel_and_say_reconnecting(comfy, floyo):
    floyo.update(steps=[Step("processing", seconds=10), Step("done")])
    polls = r"^/runs/run_"
    # the first poll meets a reset; the third try (1.5-3 s in, after backoff) a Cloudflare page
    floyo.realism.outages = [Outage(seconds=1.5, kind="reset", method="GET", path=polls),
                             Outage(seconds=4.5, kind="page", status=522, method="GET", path=polls)]
    with Listener(comfy) as ws:
        entry = comfy.wait(comfy.queue({"1": remote_run(), "2": save("1")}, client_id=ws.client_id))
        time.sleep(0.5)  # the last events are on their way
    assert entry["status"]["status_str"] == "success", entry["status"]
    run = floyo.last_run
    assert run.cancels == 0 and floyo.requests.cancel_requests() == []
    fates = {s.fate for s in floyo.realism.sent_for("api", polls)}
    assert {"page", "outage_reset", "whole"} <= fates, fates
    outage = [e for e in ws.events if e.get("run_id") == run.id and e.get("reconnecting_s") is not None]
    assert outage and max(e["reconnecting_s"] for e in outage) >= 5, ws.events
    assert any("reconnecting…" in (e.get("message") or "") for e in outage)
    assert not ws.texts, "one status line (built from the events): no ComfyUI progress text beside it"


@pytest.mark.timeout(120)
def test_another_node_failing_during_an_in_flight_create_ends_with_the_run_cancelled_and_journaled(
        comfy, floyo):
    """Floyo creates node 1's run at once but its answer takes ~4 s to arrive (five pieces a second
    apart); node 3 (a fetch of a run that does not exist) fails after 1.5 s, so ComfyUI ends the
    prompt and cancels node 1 while the create's answer is still on its way."""
    floyo.update(steps=[Step("processing")])
    floyo.realism.pieces, floyo.realism.piece_delay_s = 5, 1.0
    floyo.scenario.faults.append(Fault("GET", r"^/runs/run_missing0", status=404, body=None, delay_s=1.5))
    known = set(floyo.runs)
    fetch = {"class_type": "FloyoFetchOutputs", "inputs": {"run_id": "run_missing0"}}
    entry = comfy.wait(comfy.queue({"1": remote_run(), "2": save("1"), "3": fetch, "4": save("3")}))
    assert "run_missing0" in node_error(entry)["exception_message"]
    run = wait_for_new_run(floyo, known)
    assert len(floyo.requests.creates()) == 1
    assert run.cancels == 1 and run.phase.value == "cancelled", "nobody watches it: it was cancelled"
    record = comfy.get(f"/floyo/runs/{run.id}")[1]
    assert record["state"] == "cancelled" and "cancelled the node" in record["detail"]
