"""Fail before paying: when a prompt is queued, a Floyo node without a key, with bad JSON or a
UI-format workflow (embedded), an override whose target or input is missing, a credential in what
would be sent, or a malformed run id is refused there (the prompt cut down to that node, whose
queue-time check fails with the reason); the same checks run on the current-graph split."""

from __future__ import annotations

import json

import pytest
from floyo_pack.nodes.current_graph import prompt_hook
from floyo_pack.nodes.node_types import run_lookup

KEY_SHAPED = "sk-" + "proj-abcdefghijklmnopqrstuvwx"
REMOTE = {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}, "_meta": {"title": "Prompt"}},
          "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "r"}}}


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setattr(prompt_hook.comfy, "is_output_node", lambda c: c in {"SaveImage", "FloyoRemoteRun"})
    monkeypatch.setattr(prompt_hook.comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.setenv("FLOYO_API_KEY", "flo_test_key_for_queue_checks")


def embedded(workflow: object = None, **inputs) -> dict:
    text = workflow if isinstance(workflow, str) else json.dumps(workflow or REMOTE)
    return {"class_type": "FloyoRemoteRun", "inputs": {"source": "embedded", "workflow": text, **inputs}}


def override(target: str, name: str, value: object, previous: str | None = None) -> dict:
    inputs = {"target": target, "input": name, "value": value}
    if previous:
        inputs["overrides"] = [previous, 0]
    return {"class_type": "FloyoOverrideText", "inputs": inputs}


def refusal(prompt: dict, node: str = "1") -> str | bool:
    """The queue-time answer for ``node`` after the hook: True, or the message refusing it."""
    body = prompt_hook.rewrite({"prompt": json.loads(json.dumps(prompt)), "client_id": "c"})
    if node not in body["prompt"]:
        return "cut"
    if set(body["prompt"]) != {node}:
        return True  # not cut down: ComfyUI validates it as queued
    return prompt_hook.queue_check(body["prompt"][node]["inputs"]["workflow"])


GOOD = {"1": embedded(), "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}


def test_a_good_embedded_prompt_is_queued_as_it_is():
    body = prompt_hook.rewrite({"prompt": json.loads(json.dumps(GOOD)), "client_id": "c"})
    assert body["prompt"] == GOOD


@pytest.mark.parametrize("text,words", [("{not json", "not valid JSON"),
                                        (json.dumps({"nodes": [], "links": []}), "UI-format"),
                                        ("", "empty")])
def test_bad_json_and_ui_format_are_refused_at_queue_time(text, words):
    assert words in refusal({**GOOD, "1": embedded(text)})


def test_a_missing_key_is_refused_at_queue_time(monkeypatch):
    monkeypatch.delenv("FLOYO_API_KEY")
    assert "FLOYO_API_KEY" in refusal(GOOD)


def test_an_override_target_or_input_not_found_is_refused_naming_the_valid_ones():
    bad_target = {**GOOD, "1": embedded(overrides=["21", 0]), "21": override("Promt", "text", "x")}
    assert "'Promt'" in refusal(bad_target) and "'Prompt'" in refusal(bad_target)
    bad_input = {**GOOD, "1": embedded(overrides=["22", 0]), "21": override("Prompt", "text", "x"),
                 "22": override("Prompt", "txt", "y", previous="21")}
    assert "no input 'txt'" in refusal(bad_input)


def test_a_credential_in_the_workflow_or_an_override_is_refused_naming_node_and_input_not_the_value():
    leaked = json.loads(json.dumps(REMOTE))
    leaked["6"]["inputs"]["text"] = f"a cat {KEY_SHAPED}"
    message = refusal({**GOOD, "1": embedded(leaked)})
    assert "node 6 (CLIPTextEncode) input 'text'" in message and KEY_SHAPED not in message
    via_override = {**GOOD, "1": embedded(overrides=["21", 0]), "21": override("Prompt", "text", KEY_SHAPED)}
    message = refusal(via_override)
    assert "node 6" in message and KEY_SHAPED not in message


def test_allow_secrets_lets_the_credential_through():
    via_override = {**GOOD, "1": embedded(overrides=["21", 0], allow_secrets=True),
                    "21": override("Prompt", "text", KEY_SHAPED)}
    assert refusal(via_override) is True


def test_current_graph_runs_the_same_checks_on_the_split():
    graph = {**json.loads(json.dumps(REMOTE)), "10": {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "current graph", "workflow": "", "overrides": ["21", 0]}},
        "11": {"class_type": "SaveImage", "inputs": {"images": ["10", 0]}},
        "21": override("Prompt", "text", KEY_SHAPED)}
    assert "node 6" in refusal(graph, "10")
    graph["21"] = override("Nope", "text", "fine")
    assert "'Nope'" in refusal(graph, "10")


def test_malformed_run_id_or_missing_key_refuses_fetch_and_status_at_queue_time(monkeypatch):
    assert "not a Floyo run id" in run_lookup.queue_check_run_id("12345")
    assert run_lookup.queue_check_run_id("run_abc123") is True
    monkeypatch.delenv("FLOYO_API_KEY")
    assert "FLOYO_API_KEY" in run_lookup.queue_check_run_id("run_abc123")
