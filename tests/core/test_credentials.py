"""Secrets never leave: every string of the resolved workflow is checked for credentials before
sending, and a refusal names the node and input, never the value. The resolved workflow's hash is
stable across key order and changes with any value."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client.credentials import find_secrets, refuse_secrets
from floyo_pack.floyo_client.workflow import WorkflowError, workflow_hash

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


# Issue 21, item 11: each of these used to be sent to Floyo.
MORE_SHAPES = {
    "upper-case Floyo key": "FLO_" + "A1B2C3D4E5F6G7H8J9K0",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "google": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "jwt": ("eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
            + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    "bearer": "Bearer " + "abcdefghij0123456789",
}


@pytest.mark.parametrize("kind", sorted(MORE_SHAPES))
def test_stripe_google_jwt_bearer_and_upper_case_floyo_keys_in_a_prompt_are_refused(kind):
    with pytest.raises(WorkflowError) as e:
        refuse_secrets(_wf(f"a cat; header {MORE_SHAPES[kind]} thanks"))
    message = str(e.value)
    assert "node 6 (CLIPTextEncode) input 'text'" in message
    assert MORE_SHAPES[kind] not in message and MORE_SHAPES[kind][7:19] not in message


HARMLESS = [("key", "prompt"), ("key", "width"), ("sort_key", "created_at"), ("key", "model_v2.safetensors"),
            ("key", "a cat in the rain"), ("noise_seed", "123456789012345678"),
            ("ckpt_name", "sd_xl_base_1.0"),
            ("keyframes", "0,10,20"), ("token_count", "77"), ("auth", True), ("use_auth", False),
            ("text", "a bearer of good news, flo_ow of water, AIza is a name")]


@pytest.mark.parametrize("name", ["apiToken", "authToken", "auth", "authorization", "credentials",
                                  "private_key", "userPassword"])
def test_camel_case_and_auth_credential_names_are_split_into_words_and_refused(name):
    found = find_secrets(_wf("plainvalue123", name=name))
    assert [(f.node_id, f.input) for f in found] == [("6", name)]
    assert [(n, v) for n, v in HARMLESS if find_secrets(_wf(v, name=n))] == []  # no false positives


def test_a_bare_key_input_is_refused_only_when_its_value_looks_generated():
    """A "key" input is also a dictionary or lookup key ("prompt", "width"): only a generated-looking
    value (16+ key characters, letters and digits, no spaces or dots) counts as a credential."""
    found = find_secrets(_wf("3f9a2c7d1e8b4a6f0c5d9e2b7a1f4c8d", name="key"))
    assert [(f.input, f.kind) for f in found] == [("key", "a generated-looking value of an input named key")]
    assert [(n, v) for n, v in HARMLESS if n == "key" and find_secrets(_wf(v, name=n))] == []


def test_a_key_in_a_title_or_used_as_an_input_name_is_refused_without_echoing_it():
    key = "flo_" + "Z9y8X7w6V5u4T3s2R1q0"
    workflow = _wf("a cat")
    workflow["6"]["_meta"] = {"title": f"Prompt ({key})"}
    workflow["1"]["inputs"][key] = "x"
    with pytest.raises(WorkflowError) as e:
        refuse_secrets(workflow)
    message = str(e.value)
    assert "node 6 (CLIPTextEncode) input '_meta (title)'" in message
    assert "node 1 (CheckpointLoaderSimple) input \"an input's name\"" in message
    assert key not in message and key[4:16] not in message
