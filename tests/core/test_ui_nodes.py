"""A node type that exists only on the remote side is sent as the API node its UI data determines
(type, widget values by name, links as the frontend resolved them, control-after-generate words
skipped), and a node whose UI data does not determine it is refused, naming the type and the
ways out, never guessed."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client.ui_nodes import build_missing, find_ui_node, uninstalled_sinks
from floyo_pack.floyo_client.workflow import WorkflowError


def widget(name: str, link: int | None = None, kind: str = "INT") -> dict:
    return {"name": name, "type": kind, "link": link, "widget": {"name": name}}


# What frontend 1.32.9 sends for a node whose type it does not know: the links it resolved, and
# each widget value under the placeholder name "UNKNOWN" (the last one wins).
SENT = {"inputs": {"UNKNOWN": "bright", "image": ["4", 0], "strength": ["7", 0]}, "_meta": {}}
TINT = {"id": 9, "type": "RemoteOnlyTint", "title": "Tint it", "mode": 0,
        "inputs": [{"name": "image", "type": "IMAGE", "link": 3}, widget("seed"),
                   widget("strength", link=8, kind="FLOAT"), widget("style", kind="COMBO")],
        "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [5]}],
        "widgets_values": [1234, "randomize", 0.5, "bright"]}


def body(*nodes: dict, subgraphs: list | None = None) -> dict:
    workflow = {"nodes": list(nodes), "links": [], "definitions": {"subgraphs": subgraphs or []}}
    return {"prompt": {}, "extra_data": {"extra_pnginfo": {"workflow": workflow}}}


def test_a_node_saved_with_named_widget_inputs_is_built_from_its_type_widgets_and_resolved_links():
    prompt = {"9": SENT, "4": {"class_type": "EmptyImage", "inputs": {}}}
    built, done = build_missing(prompt, body(TINT))
    assert built["9"] == {"class_type": "RemoteOnlyTint", "_meta": {"title": "Tint it"},
                          "inputs": {"image": ["4", 0], "seed": 1234, "strength": ["7", 0],
                                     "style": "bright"}}
    assert [(b.node_id, b.class_type) for b in done] == [("9", "RemoteOnlyTint")]
    assert built["4"] is prompt["4"] and "class_type" not in prompt["9"]  # the input is not changed


def test_widget_names_the_frontend_dropped_from_the_saved_workflow_come_from_the_prompt_entry():
    # frontend 1.32.9 serializes a prompt's workflow without unlinked widget slots; the pack's
    # frontend puts the names the loaded node still has on its prompt entry
    compressed = {**TINT, "inputs": [TINT["inputs"][0], TINT["inputs"][2]]}
    with pytest.raises(WorkflowError, match="RemoteOnlyTint"):
        build_missing({"9": SENT}, body(compressed))
    entry = {**SENT, "floyo_widget_inputs": ["seed", "strength", "style"]}
    built, _ = build_missing({"9": entry}, body(compressed))
    assert built["9"]["inputs"] == {"image": ["4", 0], "seed": 1234, "strength": ["7", 0], "style": "bright"}
    assert "floyo_widget_inputs" not in built["9"]


def test_a_node_inside_nested_subgraphs_is_found_by_its_execution_id():
    inner = {"id": "sg-inner", "nodes": [TINT]}
    outer = {"id": "sg-outer", "nodes": [{"id": 3, "type": "sg-inner"}]}
    workflow = body({"id": 5, "type": "sg-outer"}, subgraphs=[outer, inner])
    assert find_ui_node(workflow["extra_data"]["extra_pnginfo"]["workflow"], "5:3:9") is TINT
    built, _ = build_missing({"5:3:9": SENT}, workflow)
    assert built["5:3:9"]["class_type"] == "RemoteOnlyTint"


def test_widget_values_the_ui_saved_without_names_are_refused_naming_the_type_and_the_ways_out():
    # DWPreprocessor as Comfy-Org's Wan 2.2 Animate template saved it: 7 values, 1 named widget
    dw = {"id": 100, "type": "DWPreprocessor", "mode": 0,
          "inputs": [{"name": "image", "type": "IMAGE", "link": 422}, widget("resolution", link=360)],
          "widgets_values": ["disable", "disable", "enable", 512, "yolox_l.onnx",
                             "dw-ll_ucoco_384_bs5.torchscript.pt", "disable"]}
    sent = {"inputs": {"UNKNOWN": "disable", "image": ["212", 0], "resolution": ["158", 0]}, "_meta": {}}
    with pytest.raises(WorkflowError) as refused:
        build_missing({"100": sent, "9": SENT}, body(dw, TINT))
    message = str(refused.value)
    assert "DWPreprocessor" in message and "node 100" in message and "RemoteOnlyTint" not in message
    assert "install" in message and "'embedded'" in message and "exported from Floyo" in message


@pytest.mark.parametrize("values", [
    [1234, "randomize", 0.5, "bright", "image"],  # an upload button's value: UI-only, or an input?
    [1234, 0.5, "bright", "fixed"],                # a control word after a combo, not after a number
    [1234, 0.5],                                   # fewer values than named widgets
])
def test_values_that_do_not_line_up_with_the_named_widgets_are_ambiguous(values):
    with pytest.raises(WorkflowError, match="RemoteOnlyTint"):
        build_missing({"9": SENT}, body({**TINT, "widgets_values": values}))


def test_a_node_without_class_type_and_no_ui_workflow_in_the_prompt_is_refused_not_guessed():
    with pytest.raises(WorkflowError, match="node 9 .*no UI workflow"):
        build_missing({"9": SENT}, {"prompt": {}})


def test_widget_values_saved_by_name_map_by_name_and_object_valued_ui_state_is_skipped():
    combine = {"id": 9, "type": "VHS_VideoCombine", "inputs": [widget("frame_rate"), widget("format")],
               "widgets_values": {"frame_rate": 8, "format": "video/h264-mp4",
                                  "videopreview": {"hidden": False}}}
    built, _ = build_missing({"9": {"inputs": {"UNKNOWN": 8}}}, body(combine))
    assert built["9"]["inputs"] == {"frame_rate": 8, "format": "video/h264-mp4"}
    with pytest.raises(WorkflowError, match="VHS_VideoCombine"):
        build_missing({"9": {"inputs": {}}}, body({**combine, "widgets_values": {
            "frame_rate": 8, "format": "video/h264-mp4", "pingpong": False}}))


def test_a_complete_prompt_is_returned_as_it_is():
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {}}}
    assert build_missing(prompt, {}) == (prompt, [])


def test_uninstalled_types_that_nothing_consumes_are_the_remote_output_nodes():
    prompt = {"1": {"class_type": "RemoteOnlyLoader", "inputs": {}},
              "2": {"class_type": "RemoteOnlyVideoSave", "inputs": {"images": ["1", 0]}},
              "3": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    installed = {"PreviewImage"}.__contains__
    assert uninstalled_sinks(prompt, installed) == {"RemoteOnlyVideoSave"}
