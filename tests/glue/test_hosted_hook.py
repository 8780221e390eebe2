"""Source 'floyo workflow' at queue time, with ComfyUI faked: the hook seals the graph the
middleware fetched into the node exactly as it would a split (the same text for an unchanged
workflow, so ComfyUI's cache holds), runs the embedded checks on it (an override that cannot
apply, a credential), and refuses what it cannot send: a fetch that failed, a prompt whose fetch
never happened, a linked floyo_workflow. Nothing is fetched here: the middleware did that."""

from __future__ import annotations

import json

import pytest
from floyo_pack.floyo_client import Hosted
from floyo_pack.nodes.current_graph import hosted, prompt_hook
from floyo_pack.nodes.node_types.runtime import workflow_for

GRAPH = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}, "_meta": {"title": "Prompt"}},
         "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "r"}}}
FOUND = Hosted("wf_cat1", "Cats", "4", GRAPH)


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setattr(prompt_hook.comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.setenv("FLOYO_API_KEY", "flo_test_key_for_hosted_hook")


def node(ref: object = "Cats", **inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {"source": "floyo workflow", "workflow": "",
                                                       "floyo_workflow": ref, **inputs}}


def queued(prompt: dict, fetched: dict | None) -> dict:
    token = hosted.FETCHED.set(fetched)
    try:
        return prompt_hook.rewrite({"prompt": json.loads(json.dumps(prompt))})["prompt"]
    finally:
        hosted.FETCHED.reset(token)


def test_the_fetched_graph_is_sealed_into_the_node_the_same_way_each_time():
    prompt = {"1": node(), "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
    first, again = queued(prompt, {"Cats": FOUND}), queued(prompt, {"Cats": FOUND})
    text = first["1"]["inputs"]["workflow"]
    assert set(first) == {"1", "2"} and prompt_hook.queue_check(text) is True
    assert text == again["1"]["inputs"]["workflow"], "an unchanged workflow: the same input (ComfyUI's cache)"
    assert workflow_for(None, "floyo workflow", text) == GRAPH


def test_the_embedded_checks_run_on_the_fetched_graph():
    bad = {"21": {"class_type": "FloyoOverrideText", "inputs": {"target": "Promt", "input": "text",
                                                                "value": "x"}},
           "1": node(overrides=["21", 0])}
    assert "'Promt'" in prompt_hook.queue_check(queued(bad, {"Cats": FOUND})["1"]["inputs"]["workflow"])
    secret = Hosted("wf_s1", "S", "1", {"6": {"class_type": "X", "inputs": {"api_key": "sk-" + "a" * 30}}})
    refused = prompt_hook.queue_check(queued({"1": node()}, {"Cats": secret})["1"]["inputs"]["workflow"])
    assert "api_key" in refused and "a" * 30 not in refused


@pytest.mark.parametrize(("ref", "fetched", "expected"), [
    ("Cats", {"Cats": "Floyo has no workflow wf_x: it was deleted"}, "Floyo has no workflow wf_x"),
    ("Cats", None, "that did not happen for this prompt"),
    (["5", 0], {}, "must be typed on the node, not linked"),
])
def test_what_cannot_be_sent_is_refused_at_queue_time(ref, fetched, expected):
    body = queued({"1": node(ref), "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}, fetched)
    assert set(body) == {"1"} and expected in prompt_hook.queue_check(body["1"]["inputs"]["workflow"])


def test_a_node_given_unsealed_text_never_sends_it():
    with pytest.raises(Exception, match="that did not happen for this prompt"):
        workflow_for(None, "floyo workflow", json.dumps(GRAPH))
