"""Release skew between the user's ComfyUI and the worker: a client newer than the worker sends
node inputs the worker's release does not know, and the failure names both releases (the
gateway reads the worker's from its /system_stats and the client's from the pack's User-Agent).

Starts the oldest and the newest ComfyUI of the CI matrix itself, so it runs once, in the base
leg's pass of .ci/test, and only where both are built.
"""

from __future__ import annotations

import pytest
from floyo_scripted import matrix
from floyo_scripted.ui_format import widget_values

from .support.comfy import CI_DIR, COMFY_LEG
from .support.gateway import gateway_stack
from .support.graphs import remote_run_of
from .support.results import node_error

pytestmark = pytest.mark.e2e


def built_legs() -> list[matrix.Leg]:
    return [leg for leg in matrix.legs(CI_DIR) if leg.python.exists() and (leg.comfyui / "main.py").exists()]


@pytest.mark.timeout(240)
def test_a_newer_clients_save_video_refused_by_an_older_worker_names_both_releases(tmp_path_factory):
    legs = built_legs()
    if COMFY_LEG.name != matrix.legs(CI_DIR)[0].name:
        pytest.skip("starts both ComfyUIs itself: runs in the base leg's pass only")
    if len(legs) < 2:
        pytest.skip("one ComfyUI is built here: the others need their source (.ci/comfyui-matrix.txt)")
    oldest, newest = legs[0], legs[-1]
    with gateway_stack(tmp_path_factory, "skew", worker_leg=oldest, client_leg=newest) as stack:
        info = stack.client.get("/object_info")[1]["SaveVideo"]
        # SaveVideo as the newer client's UI saves and sends it (format, codec as its release names them)
        saved = {"id": 3, "type": "SaveVideo", "widgets_values": ["skew/v", "auto", "auto"]}
        save = widget_values(saved, info)
        remote = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 2}},
                  "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 4}},
                  "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], **save}}}
        message = node_error(stack.client.run({"1": remote_run_of(remote)}))["exception_message"]
    assert "SaveVideo" in message and "codec" in message, message
    assert (f"the worker runs ComfyUI {oldest.name} and the ComfyUI that sent this workflow is "
            f"{newest.name}") in message, message
