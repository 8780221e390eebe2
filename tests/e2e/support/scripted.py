"""The scripted Floyo server as the e2e tests use it: the key it accepts, the network profile every
test starts with, run scripts and output sets a test puts in its scenario, and a run created on it
from outside ComfyUI. Starting the server is the ``floyo_server`` fixture's job, not this module's.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from typing import Any

from floyo_scripted import Step

from .graphs import REMOTE

FLOYO_KEY = "flo_test_key"


def e2e_realism() -> Any:
    """The network profile every e2e test starts with: ``Realism.internet()`` (bodies in chunked,
    gzip pieces a millisecond apart, 2-12 ms latency), so ComfyUI reads answers as the internet
    sends them. A test turns it up or off with ``floyo.realism = Realism(...)``;
    ``FLOYO_E2E_REALISM=off`` turns the default off (to tell a network effect from a bug)."""
    from floyo_scripted import Realism

    if os.environ.get("FLOYO_E2E_REALISM", "internet") == "off":
        return Realism()
    return Realism.internet()


# A run a browser test cancels mid-run: it must still be processing when the test clicks Cancel,
# however slowly a busy CI machine opens the pages before that (its processing once lasted 60 s,
# and a test that took 112 s met a run already done: CI). It outlasts every such test's own
# timeout (<= 180 s), and still ends by itself, so a test that failed before its Cancel does not
# leave the session's ComfyUI busy for the tests after it.
SLOW_RUN = [Step("queued", seconds=3), Step("processing", seconds=240), Step("done")]


def start_run_elsewhere(floyo) -> str:
    """A run created straight on Floyo (the web app, another machine): only its id is known here."""
    body = json.dumps({"workflow": REMOTE, "name": "started elsewhere"}).encode()
    req = urllib.request.Request(floyo.api_url + "/runs", data=body, method="POST", headers={
        "Authorization": f"Bearer {FLOYO_KEY}", "Content-Type": "application/json"})
    trust = ssl.create_default_context(cafile=floyo.ca_file)  # the e2e server speaks https
    with urllib.request.urlopen(req, timeout=10, context=trust) as r:
        return json.loads(r.read())["id"]


def two_outputs(floyo) -> None:
    """Two output files for every run: one per remote save node (a base + upscale pair's two)."""
    from floyo_scripted import OutputSpec

    floyo.server.scenario.outputs = [OutputSpec(size=(96, 80)), OutputSpec(size=(96, 80), seed=1)]
