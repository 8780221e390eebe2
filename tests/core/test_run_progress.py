"""A gateway's live progress (docs/floyo-api.md, "Live progress"): ``progress: {node, value, max}``
on a running run becomes the node's "KSampler 7/20"; absent or malformed, it is ignored, as on Floyo
today, which never sends it (issue #25, item 5)."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import Run


def run_with(**extra) -> Run:
    return Run.from_json({"id": "run_abc123", "status": "processing", **extra})


def test_a_running_runs_progress_reads_as_the_node_and_its_step():
    assert run_with(progress={"node": "KSampler", "value": 7, "max": 20}).progress_text == "KSampler 7/20"
    assert run_with(progress={"node": "  Up\nscale ", "value": 0, "max": 1}).progress_text == "Up scale 0/1"
    assert run_with(progress={"value": 3, "max": 4}).progress_text == "3/4"  # no node name: the step alone


@pytest.mark.parametrize("progress", [
    None, "7/20", [], {"node": "K"}, {"node": "K", "value": "7", "max": 20},
    {"node": "K", "value": 21, "max": 20}, {"node": "K", "value": 1, "max": 0},
    {"node": {"x": 1}, "value": -1, "max": 2}])
def test_absent_or_malformed_progress_is_ignored(progress):
    body = {} if progress is None else {"progress": progress}
    assert run_with(**body).progress_text is None
