"""The e2e suite runs over a network that behaves like the internet by default: the real ComfyUI
talks HTTPS to the local Floyo server (trusting its test CA through FLOYO_CA_BUNDLE), and every
answer it reads comes chunked, in pieces, gzip-encoded where a CDN would, after some latency."""

from __future__ import annotations

import pytest
from floyo_scripted import OutputSpec, Step
from PIL import Image

from .support.graphs import remote_run, save
from .support.results import saved_images
from .support.scripted import e2e_realism

pytestmark = pytest.mark.e2e


def test_default_profile_is_https_with_split_chunked_gzip_answers(comfy, floyo):
    assert floyo.api_url.startswith("https://") and floyo.cdn_url.startswith("https://")
    assert floyo.realism == e2e_realism() and floyo.realism.shapes
    floyo.update(steps=[Step("queued", polls=1), Step("processing", polls=1), Step("done")],
                 outputs=[OutputSpec(size=(96, 80)), OutputSpec(size=(96, 80), seed=3)])
    entry = comfy.run({"1": remote_run(), "2": save("1")})
    assert entry["status"]["status_str"] == "success", entry["status"]
    files = saved_images(comfy, entry, "2")
    assert len(files) == 2 and all(Image.open(f).size == (96, 80) for f in files)
    sent = [s for s in floyo.realism.sent if s.status == 200]
    api = [s for s in sent if s.origin == "api"]
    downloads = [s for s in sent if s.origin == "cdn"]
    assert len(api) >= 4 and len(downloads) == 2, sent  # create, polls; two outputs
    assert all(s.scheme == "https" and s.chunked and s.fate == "whole" for s in sent), sent
    assert all(s.pieces >= 3 for s in sent), "every answer reached ComfyUI in several pieces"
    assert all(s.encoding == "gzip" for s in api) and all(s.encoding is None for s in downloads)
    assert {r.origin for r in floyo.requests} == {"api", "cdn"}
