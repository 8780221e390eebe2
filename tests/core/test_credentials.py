"""Secrets never leave: every string of the resolved workflow is checked for credentials before
sending, and a refusal names the node and input, never the value. The resolved workflow's hash is
stable across key order and changes with any value."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client.credentials import find_secrets, refuse_secrets, workflow_hash
from floyo_pack.floyo_client.workflow import WorkflowError

SHAPES = {
    "flo": "flo_" + "A1b2C3d4E5f6G7h8J9k0",
    "openai": "sk-" + "proj-abcdefghijklmnopqrstuvwx",
    "hf": "hf_" + "abcdefghijklmnopqrstuvwxyz12",
    "github": "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "slack": "xoxb-" + "1234567890-abcdefghij",
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "pem": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
}


def _wf(text: object, name: str = "text") -> dict:
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {name: text, "clip": ["1", 1]}}}


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_every_key_shape_inside_a_prompt_text_is_found_and_named_by_node_and_input(kind):
    value = f"a cat, by the way my key is {SHAPES[kind]} thanks"
    with pytest.raises(WorkflowError) as e:
        refuse_secrets(_wf(value))
    message = str(e.value)
    assert "node 6 (CLIPTextEncode) input 'text'" in message and "allow_secrets" in message
    assert SHAPES[kind] not in message and SHAPES[kind][:12] not in message


@pytest.mark.parametrize("name", ["api_key", "apiKey", "hf_token", "token", "client_secret", "password",
                                  "secret_key", "aws_access_key"])
def test_any_value_of_an_input_named_like_a_credential_is_found(name):
    found = find_secrets(_wf("plainvalue123", name=name))
    assert [(f.node_id, f.input) for f in found] == [("6", name)]


def test_strings_nested_in_lists_and_objects_are_checked():
    found = find_secrets(_wf({"headers": ["x", {"auth": "Bearer " + SHAPES["openai"]}]}, name="config"))
    assert [(f.node_id, f.input) for f in found] == [("6", "config")]


@pytest.mark.parametrize("name,value", [("text", "a sk-8 style photo, ghp lighting, flo_ of water"),
                                        ("tokenizer", "t5-base"), ("max_tokens", 512),
                                        ("api_key", ""), ("text", "AKIA is a name")])
def test_ordinary_prompts_and_names_are_not_credentials(name, value):
    assert find_secrets(_wf(value, name=name)) == []


def test_links_are_not_strings_to_check():
    assert find_secrets({"6": {"class_type": "X", "inputs": {"token": ["5", 0]}}}) == []


def test_workflow_hash_ignores_key_order_and_changes_with_any_value():
    a = _wf("a cat")
    reordered = {"6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "a cat"}},
                 "1": a["1"]}
    assert workflow_hash(a) == workflow_hash(reordered)
    assert workflow_hash(a) != workflow_hash(_wf("a dog"))
