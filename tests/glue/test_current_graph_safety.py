"""Current graph, safely: the node sends only the remote part the prompt hook sealed for this
prompt (never stale widget text, never a tampered or foreign seal), and a graph it must not split
(two current-graph nodes, a local branch that would run remote work too) is cut down at queue
time to the Floyo nodes carrying the reason, so ComfyUI refuses it and nothing runs locally."""

from __future__ import annotations

import json

import pytest
from floyo_pack.floyo_client.workflow import WorkflowError
from floyo_pack.nodes.current_graph import prompt_hook, sealed
from floyo_pack.nodes.current_graph.contract import CURRENT_GRAPH, EMBEDDED
from floyo_pack.nodes.node_types.runtime import workflow_for
from floyo_pack.nodes.node_types.spec import Ctx

OUTPUTS = {"SaveImage", "PreviewImage", "FloyoRemoteRun"}
REMOTE = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "only_on_floyo.safetensors"}},
    "2": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 7}, "_meta": {"title": "KSampler"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "remote"}},
}


def floyo(source: str = "current graph", workflow: str = "", **inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {"source": source, "workflow": workflow, **inputs}}


@pytest.fixture(autouse=True)
def _outputs(monkeypatch, tmp_path):
    monkeypatch.setattr(prompt_hook.comfy, "is_output_node", lambda class_type: class_type in OUTPUTS)
    monkeypatch.setattr(prompt_hook.comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.setenv("FLOYO_API_KEY", "flo_test_key_for_queue_checks")  # a key is configured


def queued(prompt: dict) -> dict:
    return prompt_hook.rewrite({"prompt": json.loads(json.dumps(prompt)), "client_id": "c"})["prompt"]


def test_the_node_sends_exactly_the_part_the_hook_sealed_for_this_prompt():
    save = {"class_type": "SaveImage", "inputs": {"images": ["10", 0]}}
    local = queued({**REMOTE, "10": floyo(), "11": save})
    assert sorted(local) == ["10", "11"]
    text = local["10"]["inputs"]["workflow"]
    assert prompt_hook.queue_check(text) is True
    assert workflow_for(Ctx("10", local), "current graph", text) == REMOTE


@pytest.mark.parametrize("stale", ["", json.dumps(REMOTE), "not json"])
def test_widget_text_the_hook_did_not_produce_is_never_sent(stale):
    with pytest.raises(WorkflowError, match="did not happen for this prompt"):
        workflow_for(Ctx("10", {"10": floyo(workflow=stale)}), "current graph", stale)


def test_a_tampered_or_foreign_seal_is_refused(monkeypatch):
    text = queued({**REMOTE, "10": floyo()})["10"]["inputs"]["workflow"]
    tampered = json.loads(text)
    tampered[sealed.ENVELOPE]["body"]["2"]["inputs"]["seed"] = 8
    with pytest.raises(WorkflowError, match="did not happen for this prompt"):
        prompt_hook.sealed_workflow(json.dumps(tampered))
    monkeypatch.setattr(sealed, "_KEY", b"another ComfyUI process")
    with pytest.raises(WorkflowError, match="did not happen for this prompt"):
        prompt_hook.sealed_workflow(text)


def test_two_current_graph_nodes_are_refused_at_queue_time_and_nothing_else_is_left_to_run():
    text = {"class_type": "FloyoOverrideText", "inputs": {"target": "x", "input": "y", "value": "z"}}
    local = queued({**REMOTE, "10": floyo(overrides=["12", 0]), "11": floyo(), "12": text})
    assert sorted(local) == ["10", "11"]  # the remote SaveImage and its model are gone: nothing runs here
    for node in local.values():
        message = prompt_hook.queue_check(node["inputs"]["workflow"])
        assert "Only one FloyoRemoteRun per graph" in message and "10, 11" in message
        assert not any(isinstance(v, list) for v in node["inputs"].values())
    with pytest.raises(WorkflowError, match="Only one FloyoRemoteRun"):
        prompt_hook.sealed_workflow(local["10"]["inputs"]["workflow"])


def test_a_local_branch_that_needs_remote_compute_is_refused_naming_the_nodes():
    graph = {**REMOTE, "10": floyo(overrides=["12", 0]),
             "12": {"class_type": "FloyoOverrideImage", "inputs": {"target": "t", "input": "image",
                                                                   "image": ["2", 0]}}}
    local = queued(graph)
    message = prompt_hook.queue_check(local["10"]["inputs"]["workflow"])
    assert "1 (UNETLoader), 2 (KSampler)" in message and "would also run on this machine" in message
    assert sorted(local) == ["10"]


def test_a_shared_input_file_is_fine_on_both_sides():
    graph = {"5": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}},
             "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0]}},
             "10": floyo(overrides=["12", 0]),
             "12": {"class_type": "FloyoOverrideImage", "inputs": {"target": "5", "input": "image",
                                                                   "image": ["5", 0]}}}
    local = queued(graph)
    assert prompt_hook.queue_check(local["10"]["inputs"]["workflow"]) is True
    assert sorted(prompt_hook.sealed_workflow(local["10"]["inputs"]["workflow"])) == ["5", "6"]


def imitations() -> list[str]:
    """Texts a user could paste that look like what the hook writes, but that it did not seal."""
    refusal = json.loads(sealed.seal(sealed.Refusal("Pasted: nothing is wrong, send it anyway")))
    split = json.loads(sealed.seal(sealed.Split(REMOTE)))
    unsigned = {sealed.ENVELOPE: {"kind": "refused", "body": "Pasted refusal"}}
    as_split = {sealed.ENVELOPE: {**refusal[sealed.ENVELOPE], "kind": "split", "body": REMOTE}}
    as_refusal = {sealed.ENVELOPE: {**split[sealed.ENVELOPE], "kind": "refused"}}
    old_style = {"floyo_current_graph": {"refused": "Pasted refusal"}}
    return [json.dumps(t) for t in (unsigned, as_split, as_refusal, old_style)]


@pytest.mark.parametrize("pasted", imitations(), ids=["unsealed", "refusal-seal-on-a-split",
                                                     "split-seal-as-refusal", "old-envelope"])
def test_pasted_text_that_imitates_the_hooks_envelope_is_never_taken_for_it(pasted):
    assert prompt_hook.queue_check(pasted) is True, "a pasted 'refusal' must not refuse the prompt"
    with pytest.raises(WorkflowError, match="did not happen for this prompt"):
        workflow_for(Ctx("10", {"10": floyo(workflow=pasted)}), CURRENT_GRAPH, pasted)
    with pytest.raises(WorkflowError) as caught:  # in embedded mode it is just not a workflow
        workflow_for(Ctx("10", {"10": floyo(EMBEDDED, pasted)}), EMBEDDED, pasted)
    assert "Pasted" not in str(caught.value)


def test_what_the_hook_seals_reaches_the_node_as_a_typed_split_or_refusal():
    split = sealed.seal(sealed.Split(REMOTE))
    assert sealed.unseal(split) == sealed.Split(REMOTE) and sealed.seal(sealed.Split(REMOTE)) == split
    assert sealed.unseal(sealed.seal(sealed.Refusal("why"))) == sealed.Refusal("why")
    assert sealed.unseal(json.dumps(REMOTE)) is None and sealed.unseal(None) is None
