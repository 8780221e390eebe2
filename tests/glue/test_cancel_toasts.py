"""A remote cancel's outcome is one typed value from the client to the toast: the node's
``floyo.run`` event carries ``CancelResult``'s value, and web/floyo.js has exactly one toast per
value, so renaming or adding an outcome breaks this test instead of a toast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from floyo_pack.floyo_client import CancelOutcome, CancelResult, Interrupted
from floyo_pack.nodes import comfy
from floyo_pack.nodes.node_types.runtime import run_guarded
from floyo_pack.nodes.node_types.spec import Ctx

JS = Path(__file__).resolve().parents[2] / "web" / "floyo" / "node_status.js"


def toast_table() -> dict[str, tuple[str, str]]:
    """The CANCEL_TOASTS table of web/floyo/node_status.js: outcome value -> (severity, text)."""
    block = re.search(r"const CANCEL_TOASTS = \{(.*?)\};", JS.read_text(encoding="utf-8"), re.S)
    assert block, "web/floyo/node_status.js has no CANCEL_TOASTS table"
    entries = re.findall(r'(?:"([^"]+)"|(\w+)):\s*\["(\w+)",\s*"([^"]+)"\]', block.group(1))
    return {quoted or bare: (severity, text) for quoted, bare, severity, text in entries}


def test_every_cancel_outcome_has_one_toast_and_the_toast_table_knows_no_other():
    table = toast_table()
    assert set(table) == {r.value for r in CancelResult}
    assert all(severity in ("success", "info", "warn", "error") and text for severity, text in table.values())


class Interrupt(Exception):
    """Stands in for ComfyUI's InterruptProcessingException."""


@pytest.mark.parametrize("result", list(CancelResult))
async def test_a_stopped_nodes_event_carries_its_errors_typed_outcome(monkeypatch, result):
    events: list[dict] = []
    monkeypatch.setattr(comfy, "send_event", lambda name, data: events.append(data))
    monkeypatch.setattr(comfy, "current_prompt_id", lambda: "prompt-toast")
    monkeypatch.setattr(comfy, "interrupt_exception", Interrupt)

    async def body(active):
        raise Interrupted("Floyo run run_x was stopped by the user.", outcome=CancelOutcome(result))

    with pytest.raises(Interrupt):
        await run_guarded(Ctx(node_id="9", prompt=None), body)
    (event,) = events
    assert event["status"] == "cancelled" and event["cancel"] == result.value
    assert event["cancel"] in toast_table()
