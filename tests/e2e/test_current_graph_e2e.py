"""Current graph in a real ComfyUI: a graph the pack must not split is refused when it is queued,
with the reason shown, and nothing of it runs (no Floyo run, no local execution of the remote
part): two current-graph Floyo nodes, and a Floyo node whose local branch needs remote compute."""

from __future__ import annotations

import pytest

from .support.graphs import save

pytestmark = pytest.mark.e2e
REMOTE = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 0}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "3": save("2", prefix="must_not_run_here"),
}


def floyo_node(**inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {"source": "current graph", "workflow": "",
                                                       "reuse": "always run", **inputs}}


def refused(comfy, floyo_server, graph: dict) -> str:
    before = len(floyo_server.requests.creates())
    status, body = comfy.post("/prompt", {"prompt": graph, "client_id": "refusal-test"})
    assert status == 400, body
    messages = " ".join(e["details"] for n in body["node_errors"].values() for e in n["errors"])
    assert len(floyo_server.requests.creates()) == before, "a refused prompt must not reach Floyo"
    assert not list(comfy.output_dir.rglob("must_not_run_here*")), "the remote part ran locally"
    return messages


def test_two_current_graph_nodes_are_refused_when_queued_and_nothing_runs(comfy, floyo):
    graph = {**REMOTE, "10": floyo_node(), "11": save("10"), "12": floyo_node(run_name="second"),
             "13": save("12")}
    message = refused(comfy, floyo, graph)
    assert "Only one FloyoRemoteRun per graph can use 'current graph'" in message and "10, 12" in message


def test_a_local_branch_that_needs_the_remote_compute_is_refused_naming_the_nodes(comfy, floyo):
    graph = {**REMOTE, "10": floyo_node(overrides=["12", 0]), "11": save("10"),
             "12": {"class_type": "FloyoOverrideImage", "inputs": {"target": "x", "input": "image",
                                                                   "image": ["2", 0]}}}
    message = refused(comfy, floyo, graph)
    assert "2 (ImageInvert)" in message and "would also run on this machine" in message
