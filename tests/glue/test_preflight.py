"""Floyo Preflight returns exactly the workflow Floyo Remote Run would send (overrides applied,
files still to upload shown as pending paths) and a report of uploads, credentials (never their
values) and warnings, and it opens no connection to Floyo."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch
from floyo_pack.floyo_client import client as client_module
from floyo_pack.floyo_client.workflow import Override
from floyo_pack.nodes import comfy
from floyo_pack.nodes.inputs.override_values import ImageUpload
from floyo_pack.nodes.node_types import preflight
from floyo_pack.nodes.node_types.spec import Ctx

KEY_SHAPED = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789"
REMOTE = {"5": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}},
          "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}, "_meta": {"title": "Prompt"}},
          "7": {"class_type": "LoadImage", "inputs": {"image": "#inputs/on_floyo.png"},
                "_meta": {"title": "Ref"}},
          "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "r"}}}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG fake")
    monkeypatch.setattr(comfy, "local_input_file", lambda name: photo if name == "photo.png" else None)
    monkeypatch.setattr(comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.delenv("FLOYO_API_KEY", raising=False)

    def refuse(*a, **kw):
        raise AssertionError("Preflight opened a Floyo client")

    monkeypatch.setattr(client_module.FloyoClient, "__init__", refuse)


def run(**inputs) -> tuple[dict, str]:
    text, report = asyncio.run(preflight.preflight(Ctx("3", None), "embedded", json.dumps(REMOTE), **inputs))
    return json.loads(text), report


def test_the_workflow_is_what_would_be_sent_with_overrides_and_pending_uploads():
    image = ImageUpload(torch.zeros(1, 4, 4, 3))
    sent, report = run(overrides=(Override("Prompt", "text", "a dog"), Override("Ref", "image", image)))
    assert sent["6"]["inputs"]["text"] == "a dog"
    assert sent["5"]["inputs"]["image"] == "<pending upload: photo.png>"
    assert sent["7"]["inputs"]["image"].startswith("<pending upload: comfyui_")
    assert sent["9"]["inputs"]["filename_prefix"] == "floyo-9/r_floyo-9"  # the routing tag, as sent
    assert "Uploads: 2" in report and "photo.png" in report and "nothing was sent" in report


def test_the_report_names_credentials_by_node_and_input_and_warns_of_a_missing_key():
    sent, report = run(overrides=(Override("Prompt", "text", f"x {KEY_SHAPED}"),))
    assert "Secrets: 1 found; the run would be refused" in report
    assert "node 6 (CLIPTextEncode) input 'text'" in report and KEY_SHAPED not in report
    assert "Warning:" in report and "FLOYO_API_KEY" in report
    _, allowed = run(overrides=(Override("Prompt", "text", f"x {KEY_SHAPED}"),), allow_secrets=True)
    assert "sent anyway (allow_secrets is on)" in allowed


def test_preflight_takes_the_same_inputs_as_remote_run():
    from floyo_pack.nodes.node_types.remote_run import SPEC

    assert preflight.SPEC.inputs == SPEC.inputs and preflight.SPEC.display_name == "Floyo Preflight"
    assert "sends nothing" in preflight.SPEC.description.lower()


def test_the_paying_node_says_it_spends_flotime_and_preflight_that_it_spends_none():
    from floyo_pack.nodes.node_types.remote_run import SPEC

    assert "spends FloTime" in SPEC.description
    assert "no FloTime" in preflight.SPEC.description
