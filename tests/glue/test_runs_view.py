"""What the runs tab needs it is told, so web/ keeps no vocabulary of its own: each run's Floyo
phase, whether it can be fetched, each saved output's kind (by Floyo's MIME type where the name
says nothing), and each floyo.run event says whether the node's run has ended."""

from __future__ import annotations

from pathlib import Path

from floyo_pack.floyo_client import JournalState, Phase, RunRecord, RunUpdate, SavedFile
from floyo_pack.nodes.comfy_server.runs_view import public_run
from floyo_pack.nodes.run import progress
from floyo_pack.nodes.run.active_runs import REGISTRY

OUT = Path("/home/u/ComfyUI/output")


def record(state: JournalState, status: str | None, **kw) -> RunRecord:
    return RunRecord(marker="flyc-1", state=state, created_at=1.0, updated_at=1.0, run_id="run_a",
                     status=status, **kw)


def test_each_output_comes_with_its_kind_by_floyos_mime_type_where_the_name_says_nothing():
    shot, clip = str(OUT / "floyo/run_a/shot_floyo-2_00001_"), str(OUT / "floyo/run_a/clip.mp4")
    files = (SavedFile(shot, 10, "0" * 64, name="shot_floyo-2_00001_", mime_type="image/png"),
             SavedFile(clip, 10, "1" * 64, name="clip.mp4"))
    shown = public_run(record(JournalState.SAVED, "completed", paths=(shot, clip), files=files), OUT)
    assert shown["outputs"] == [{"path": "floyo/run_a/shot_floyo-2_00001_", "kind": "image"},
                                {"path": "floyo/run_a/clip.mp4", "kind": "video"}]
    assert shown["phase"] == "succeeded" and shown["fetchable"] is True


def test_a_run_can_be_fetched_when_no_node_waits_on_it_and_it_may_have_outputs():
    assert public_run(record(JournalState.SAVED, "completed"), OUT, live=True)["fetchable"] is False
    assert public_run(record(JournalState.UNKNOWN, None), OUT)["fetchable"] is True
    assert public_run(record(JournalState.RUNNING, "processing"), OUT)["fetchable"] is False
    assert public_run(record(JournalState.RUNNING, "completed"), OUT)["fetchable"] is True
    assert public_run(record(JournalState.FAILED, "failed"), OUT)["fetchable"] is False
    assert public_run(record(JournalState.CANCELLED, "cancelled"), OUT)["phase"] == "cancelled"


def test_every_floyo_run_event_says_whether_the_nodes_run_has_ended(monkeypatch):
    sent = []
    monkeypatch.setattr(progress.comfy, "send_event", lambda event, data: sent.append(data))
    active = REGISTRY.start("7", "prompt-1")
    try:
        for phase, status in ((Phase.RUNNING, "processing"), (Phase.SUCCEEDED, "completed"),
                              (Phase.FAILED, "failed")):
            payload = progress.event_payload(active, RunUpdate("run_a", status, phase, 1.0, 1.0))
            sent.append(payload)
        for word in ("downloading", "saved", "reused", "cancelled"):
            progress.announce(active, word)
    finally:
        REGISTRY.finish(active)
    assert [(d["status"], d["ended"]) for d in sent] == [
        ("processing", False), ("completed", False), ("failed", True), ("downloading", False),
        ("saved", True), ("reused", True), ("cancelled", True)]
