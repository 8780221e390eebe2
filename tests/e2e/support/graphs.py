"""API-format graphs the e2e tests queue: the remote workflow every run sends by default, a
FloyoRemoteRun node around it or around any workflow, and local save nodes. Builders only: they
return dicts and neither queue nor wait.
"""

from __future__ import annotations

import json
import time
import uuid

REMOTE = {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                         "color": 0}},
          "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "remote"}}}


def remote_run(**inputs) -> dict:
    """A FloyoRemoteRun node; a unique run name keeps ComfyUI's cache from answering for it, and
    'always run' the journal (reuse of identical results is proven in test_reuse_e2e.py)."""
    base = {"source": "embedded", "workflow": json.dumps(REMOTE), "run_name": f"e2e {uuid.uuid4().hex[:6]}",
            "reuse": "always run"}
    return {"class_type": "FloyoRemoteRun", "inputs": {**base, **inputs}}


def save(src: str, index: int = 0, prefix: str = "local") -> dict:
    return {"class_type": "SaveImage", "inputs": {"images": [src, index], "filename_prefix": prefix}}


def remote_run_of(workflow: dict, **inputs) -> dict:
    return {"class_type": "FloyoRemoteRun", "inputs": {
        "source": "embedded", "workflow": json.dumps(workflow), "run_name": f"gw {uuid.uuid4().hex[:6]}",
        "reuse": "always run", **inputs}}


def fresh_remote() -> str:
    """REMOTE as JSON with a prefix never sent before: the UI's default 'identical results' finds
    no saved run to reuse, so the browser's prompt makes a real run."""
    return json.dumps({**REMOTE, "2": {**REMOTE["2"], "inputs": {**REMOTE["2"]["inputs"],
                                                                 "filename_prefix": f"ui_{time.time_ns()}"}}})


def shaped(steps: int, seed: int) -> dict:
    """A remote graph of a shape of its own (``steps``) with a seed: the spend estimate matches
    earlier runs of the same shape whatever the seed (the scripted server runs any node type)."""
    return {"3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": 7.0}},
            **REMOTE, "2": {**REMOTE["2"], "inputs": {**REMOTE["2"]["inputs"], "filename_prefix": "spend"}}}
