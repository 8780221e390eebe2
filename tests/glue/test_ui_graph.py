"""Current graph with node types installed only on the remote side: the prompt hook builds them
from the UI workflow the frontend sent and seals them into the remote part (a built node nothing
consumes is a remote output node); one that would have to run here, or whose UI data is
ambiguous, refuses the prompt at queue time with a Floyo error; Preflight lists them."""

from __future__ import annotations

import asyncio
import json

import pytest
from floyo_pack.nodes import comfy
from floyo_pack.nodes.current_graph import prompt_hook
from floyo_pack.nodes.node_types import preflight
from floyo_pack.nodes.node_types.runtime import workflow_for
from floyo_pack.nodes.node_types.spec import Ctx

INSTALLED = {"EmptyImage", "PreviewImage", "SaveImage", "FloyoRemoteRun", "FloyoPreflight"}
OUTPUTS = {"PreviewImage", "SaveImage", "FloyoRemoteRun", "FloyoPreflight"}


def widget(name: str, link: int | None = None) -> dict:
    return {"name": name, "type": "INT", "link": link, "widget": {"name": name}}


UI = {"nodes": [
    {"id": 2, "type": "RemoteOnlyTint", "inputs": [{"name": "image", "type": "IMAGE", "link": 1},
                                                   widget("seed"), widget("amount")],
     "widgets_values": [7, "randomize", 40]},
    {"id": 3, "type": "RemoteOnlyVideoSave", "inputs": [{"name": "images", "type": "IMAGE", "link": 2},
                                                        widget("fps")],
     "widgets_values": [24]}], "links": []}


def sent_by_frontend(node_id: str) -> dict:
    """A node the frontend doesn't know, as it sends it: links, and 'UNKNOWN' for its widget values."""
    links = {"2": {"image": ["1", 0]}, "3": {"images": ["2", 0]}}[node_id]
    return {"inputs": {"UNKNOWN": 24, **links}, "_meta": {}}


@pytest.fixture(autouse=True)
def _comfy(monkeypatch, tmp_path):
    monkeypatch.setattr(comfy, "node_class", lambda class_type: object() if class_type in INSTALLED else None)
    monkeypatch.setattr(comfy, "is_output_node", lambda class_type: class_type in OUTPUTS)
    monkeypatch.setattr(comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.setenv("FLOYO_API_KEY", "flo_test_key_for_queue_checks")


def queue(prompt: dict, ui: dict | None = UI) -> dict:
    body = {"prompt": json.loads(json.dumps(prompt)), "client_id": "c"}
    if ui is not None:
        body["extra_data"] = {"extra_pnginfo": {"workflow": ui}}
    return prompt_hook.rewrite(body)["prompt"]


def graph(floyo: str = "FloyoRemoteRun") -> dict:
    empty = {"width": 8, "height": 8, "batch_size": 1, "color": 0}
    return {"1": {"class_type": "EmptyImage", "inputs": empty},
            "2": sent_by_frontend("2"), "3": sent_by_frontend("3"),
            "10": {"class_type": floyo, "inputs": {"source": "current graph", "workflow": ""}},
            "11": {"class_type": "PreviewImage", "inputs": {"images": ["10", 0]}}}


def test_nodes_not_installed_here_are_built_from_the_ui_workflow_and_sent_with_their_class_type():
    local = queue(graph())
    assert sorted(local) == ["10", "11"]  # the remote part left the local prompt
    remote = workflow_for(Ctx("10", local), "current graph", local["10"]["inputs"]["workflow"])
    assert remote["2"] == {"class_type": "RemoteOnlyTint", "_meta": {"title": "RemoteOnlyTint"},
                           "inputs": {"image": ["1", 0], "seed": 7, "amount": 40}}
    # the uninstalled node nothing consumes is a remote output node: it and its inputs are sent
    assert remote["3"]["class_type"] == "RemoteOnlyVideoSave" and sorted(remote) == ["1", "2", "3"]


def refusal(local: dict) -> str:
    message = prompt_hook.queue_check(local["10"]["inputs"]["workflow"])
    assert isinstance(message, str), "the prompt should have been refused at queue time"
    return message


def test_an_ambiguous_node_refuses_the_prompt_at_queue_time_naming_its_type_and_the_ways_out():
    ui = json.loads(json.dumps(UI))
    ui["nodes"][0]["widgets_values"] = [7, "randomize", 40, "enable"]  # one value has no input name
    local = queue(graph(), ui)
    assert sorted(local) == ["10"]  # nothing else is left to run here
    message = refusal(local)
    assert "RemoteOnlyTint" in message and "install" in message and "'embedded'" in message
    assert "missing the class_type" not in message


def test_a_prompt_without_its_ui_workflow_is_refused_not_guessed():
    assert "no UI workflow" in refusal(queue(graph(), ui=None))


def test_a_node_not_installed_here_that_would_run_here_is_refused():
    prompt = graph()
    prompt["11"] = {"inputs": {"images": ["10", 0]}, "_meta": {}}  # after the Floyo node: runs here
    ui = {"nodes": [*UI["nodes"], {"id": 11, "type": "RemoteOnlyVideoSave", "inputs": [
        {"name": "images", "type": "IMAGE", "link": 9}, widget("fps")], "widgets_values": [24]}]}
    message = refusal(queue(prompt, ui))
    assert "RemoteOnlyVideoSave would run in this ComfyUI" in message and "not installed here" in message


def test_preflight_lists_the_nodes_built_from_the_ui_workflow():
    local = queue(graph("FloyoPreflight"))
    text = local["10"]["inputs"]["workflow"]
    _, report = asyncio.run(preflight.preflight(Ctx("10", local), "current graph", text))
    assert "Not installed here, built from the saved UI workflow" in report
    assert "2 (RemoteOnlyTint), 3 (RemoteOnlyVideoSave)" in report
