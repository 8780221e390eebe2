"""Fail before paying, in the real ComfyUI: a prompt whose Floyo node would fail (bad JSON, a
UI-format workflow, a wrong override target, a credential, a malformed run id) is refused at
/prompt with HTTP 400 and node errors on the Floyo node, and the Floyo server hears nothing. A
credential that arrives through a link is refused when the node runs, still before any request;
allow_secrets sends it."""

from __future__ import annotations

import json

import pytest

from .support.graphs import REMOTE, remote_run, save
from .support.results import node_error

pytestmark = pytest.mark.e2e
KEY_SHAPED = "hf_" + "abcdefghijklmnopqrstuvwxyz12"
TITLED = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}, "_meta": {"title": "Prompt"}},
          "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "r"}}}


def refused_at_queue(comfy, floyo, graph: dict, node: str = "1") -> str:
    status, body = comfy.post("/prompt", {"prompt": graph})
    assert status == 400, body
    assert set(body["node_errors"]) == {node}, body["node_errors"]
    assert body["node_errors"][node]["class_type"].startswith("Floyo")
    assert floyo.requests.all() == [], "nothing may leave before the prompt is accepted"
    return " ".join(e["details"] for e in body["node_errors"][node]["errors"])


def text_override(value, target: str = "Prompt") -> dict:
    return {"class_type": "FloyoOverrideText", "inputs": {"target": target, "input": "text", "value": value}}


@pytest.mark.parametrize("text,words", [("{not json", "not valid JSON"),
                                        (json.dumps({"nodes": [], "links": []}), "UI-format")])
def test_bad_json_and_ui_format_are_refused_at_prompt(comfy, floyo, text, words):
    assert words in refused_at_queue(comfy, floyo, {"1": remote_run(workflow=text), "2": save("1")})


def test_a_wrong_override_target_is_refused_at_prompt(comfy, floyo):
    graph = {"1": remote_run(workflow=json.dumps(TITLED), overrides=["21", 0]),
             "21": text_override("x", target="Promt"), "2": save("1")}
    assert "'Promt'" in refused_at_queue(comfy, floyo, graph)


def test_a_credential_is_refused_at_prompt_naming_node_and_input_never_the_value(comfy, floyo):
    leaked = json.loads(json.dumps(TITLED))
    leaked["6"]["inputs"]["text"] = f"a cat {KEY_SHAPED}"
    details = refused_at_queue(comfy, floyo, {"1": remote_run(workflow=json.dumps(leaked)), "2": save("1")})
    assert "node 6 (CLIPTextEncode) input 'text'" in details and KEY_SHAPED not in details
    assert KEY_SHAPED not in comfy.log_text()


def test_credentials_the_old_checks_missed_are_refused_at_prompt_never_echoed(comfy, floyo):
    """An ``apiToken`` input, a ``Bearer`` token, and a JWT in a node's title were sent before."""
    jwt = ("eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
           + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
    bearer = "Bearer " + "abcdefghij0123456789"
    leaked = json.loads(json.dumps(TITLED))
    leaked["6"]["_meta"]["title"] = f"Prompt {jwt}"
    leaked["7"] = {"class_type": "HttpRequest", "inputs": {"apiToken": "plainvalue123", "header": bearer}}
    details = refused_at_queue(comfy, floyo, {"1": remote_run(workflow=json.dumps(leaked)), "2": save("1")})
    assert "node 6 (CLIPTextEncode) input '_meta (title)'" in details
    assert "node 7 (HttpRequest) input 'apiToken'" in details and "input 'header'" in details
    for value in (jwt, bearer, "plainvalue123", jwt[20:40]):
        assert value not in details and value not in comfy.log_text()


@pytest.mark.parametrize("node_type", ["FloyoFetchOutputs", "FloyoRunStatus"])
def test_a_malformed_run_id_is_refused_at_prompt(comfy, floyo, node_type):
    graph = {"1": {"class_type": node_type, "inputs": {"run_id": "12345"}}}
    if node_type == "FloyoRunStatus":
        graph["2"] = {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}
    else:
        graph["2"] = save("1")
    assert "not a Floyo run id" in refused_at_queue(comfy, floyo, graph)


def test_current_graph_refuses_a_credential_in_the_split_at_prompt(comfy, floyo):
    graph = {**json.loads(json.dumps(TITLED)), "10": {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "current graph", "workflow": "", "overrides": ["21", 0]}},
        "11": save("10"), "21": text_override(KEY_SHAPED)}
    assert "node 6" in refused_at_queue(comfy, floyo, graph, node="10")


def test_a_linked_credential_is_refused_when_the_node_runs_and_allow_secrets_sends_it(comfy, floyo):
    graph = {"30": {"class_type": "PrimitiveString", "inputs": {"value": f"x {KEY_SHAPED}"}},
             "21": text_override(["30", 0]),
             "1": remote_run(workflow=json.dumps(TITLED), overrides=["21", 0]), "2": save("1")}
    error = node_error(comfy.run(graph))
    assert "node 6 (CLIPTextEncode) input 'text'" in error["exception_message"]
    assert KEY_SHAPED not in error["exception_message"] and floyo.requests.creates() == []
    graph["1"]["inputs"]["allow_secrets"] = True
    entry = comfy.run(graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert KEY_SHAPED in floyo.last_run.workflow["6"]["inputs"]["text"], "sent as the user allowed"


def test_a_good_prompt_still_runs(comfy, floyo):
    entry = comfy.run({"1": remote_run(workflow=json.dumps(REMOTE)), "2": save("1")})
    assert entry["status"]["status_str"] == "success" and len(floyo.requests.creates()) == 1
