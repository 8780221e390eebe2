"""Workflow handling decides what is sent and paid for: embedded text is checked before anything
leaves, the current graph is split so the remote part is exactly what Floyo needs, and overrides
either apply or say which targets exist."""

from __future__ import annotations

import json

import pytest
from floyo_pack.floyo_client.workflow import (
    Override,
    WorkflowError,
    apply_overrides,
    parse_embedded,
    partition,
)

OUTPUTS = {"SaveImage", "PreviewImage", "FloyoRemoteRun"}


def is_output(class_type: str) -> bool:
    return class_type in OUTPUTS


def is_floyo(class_type: str) -> bool:
    return class_type.startswith("Floyo")


def node(class_type: str, title: str | None = None, **inputs) -> dict:
    n = {"class_type": class_type, "inputs": inputs}
    if title:
        n["_meta"] = {"title": title}
    return n


GRAPH = {
    "1": node("CheckpointLoaderSimple", ckpt_name="remote.safetensors"),
    "2": node("CLIPTextEncode", "Prompt", text="fox", clip=["1", 1]),
    "3": node("KSampler", seed=1, model=["1", 0], positive=["2", 0]),
    "4": node("VAEDecode", samples=["3", 0], vae=["1", 2]),
    "5": node("SaveImage", images=["4", 0], filename_prefix="r"),
    "6": node("LoadImage", image="local.png"),
    "7": node("FloyoRemoteRun", source="current graph", workflow="", overrides=["8", 0]),
    "8": node("FloyoOverrideImage", target="Photo", input="image", image=["6", 0]),
    "9": node("ImageInvert", image=["7", 0]),
    "10": node("SaveImage", images=["9", 0], filename_prefix="l"),
}


def test_partition_sends_exactly_the_remote_branch_and_keeps_the_floyo_branch_local():
    part = partition(GRAPH, "7", is_output, is_floyo)
    assert sorted(part.remote, key=int) == ["1", "2", "3", "4", "5"]
    assert sorted(part.local, key=int) == ["6", "7", "8", "9", "10"]
    assert part.remote["2"]["_meta"] == {"title": "Prompt"}


def test_a_loader_needed_by_both_sides_is_in_both():
    graph = {**GRAPH, "11": node("ImageScale", image=["6", 0]), "12": node("SaveImage", images=["11", 0])}
    graph["8"] = node("FloyoOverrideImage", target="Photo", input="image", image=["6", 0])
    part = partition(graph, "7", is_output, is_floyo)
    assert "6" in part.remote and "6" in part.local and "12" in part.remote and "12" not in part.local


def test_remote_part_is_a_clean_copy_without_executor_keys():
    graph = json.loads(json.dumps(GRAPH))
    graph["3"]["is_changed"] = ["x"]
    part = partition(graph, "7", is_output, is_floyo)
    assert "is_changed" not in part.remote["3"]
    part.remote["3"]["inputs"]["seed"] = 99
    assert graph["3"]["inputs"]["seed"] == 1


def test_a_graph_with_no_remote_output_node_is_a_clear_error():
    graph = {k: v for k, v in GRAPH.items() if k != "5"}
    with pytest.raises(WorkflowError, match="no output node"):
        partition(graph, "7", is_output, is_floyo)


def test_outputs_fed_by_another_floyo_node_are_not_sent():
    graph = {**GRAPH, "20": node("FloyoRemoteRun", source="embedded", workflow="{}"),
             "21": node("SaveImage", images=["20", 0])}
    assert "21" not in partition(graph, "7", is_output, is_floyo).remote


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("   ", "empty"), ("{not json", "not valid JSON"),
    (json.dumps({"nodes": [], "links": []}), "UI-format"), ("[1, 2]", "JSON object of nodes"),
    (json.dumps({"1": {"inputs": {}}}), "no class_type"),
])
def test_embedded_text_problems_are_caught_before_anything_is_sent(text, message):
    with pytest.raises(WorkflowError, match=message) as caught:
        parse_embedded(text)
    assert "Export (API)" in str(caught.value) or "not an object" in str(caught.value)


def test_overrides_find_nodes_by_title_or_id_and_leave_the_original_alone():
    result = apply_overrides(GRAPH, [Override("Prompt", "text", "cat"), Override("3", "seed", 7)])
    assert result["2"]["inputs"]["text"] == "cat" and result["3"]["inputs"]["seed"] == 7
    assert GRAPH["2"]["inputs"]["text"] == "fox"


def test_unknown_targets_and_inputs_list_what_exists():
    with pytest.raises(WorkflowError) as caught:
        apply_overrides(GRAPH, [Override("Promt", "text", "x")])
    assert "'Prompt'" in str(caught.value) and "3 (KSampler)" in str(caught.value)
    with pytest.raises(WorkflowError) as caught:
        apply_overrides(GRAPH, [Override("Prompt", "txt", "x")])
    assert "clip, text" in str(caught.value)


def test_a_title_used_twice_asks_for_the_id():
    graph = {**GRAPH, "30": node("CLIPTextEncode", "Prompt", text="y")}
    with pytest.raises(WorkflowError, match="Several remote nodes"):
        apply_overrides(graph, [Override("Prompt", "text", "x")])
