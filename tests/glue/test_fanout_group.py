"""A node fed a ComfyUI list runs one call per element; those calls act as one node: a stop seen
by any element (ComfyUI's interrupt flag, consumed by the first element that raises, or the Cancel
button, which reaches one element) stops every element, and every event carries n/N done."""

from __future__ import annotations

from floyo_pack.nodes import comfy
from floyo_pack.nodes.run import progress
from floyo_pack.nodes.run.active_runs import REGISTRY


def _elements(n: int, prompt_id: str = "prompt-fan", node_id: str = "7"):
    return [REGISTRY.start(node_id, prompt_id) for _ in range(n)]


def test_the_interrupt_seen_by_one_element_stops_all_after_the_flag_is_consumed(monkeypatch):
    flag = [False]
    monkeypatch.setattr(comfy, "interrupted", lambda: flag[0])
    elements = _elements(3)
    try:
        hooks = [progress.node_hooks(a) for a in elements]
        assert not any(h.should_stop() for h in hooks)
        flag[0] = True
        assert hooks[0].should_stop()
        flag[0] = False  # interrupt_exception() consumed it, as ComfyUI does
        assert all(h.should_stop() for h in hooks)
    finally:
        for a in elements:
            REGISTRY.finish(a)


def test_the_cancel_button_reaching_one_element_stops_all(monkeypatch):
    monkeypatch.setattr(comfy, "interrupted", lambda: False)
    elements = _elements(3)
    other = REGISTRY.start("8", "prompt-fan")  # another node of the same prompt is not stopped
    try:
        hooks = [progress.node_hooks(a) for a in elements]
        assert REGISTRY.request_cancel(node_id="7", prompt_id="prompt-fan") is not None
        assert hooks[0].should_stop() or hooks[2].should_stop()
        assert all(h.should_stop() for h in hooks)
        assert not progress.node_hooks(other).should_stop()
    finally:
        for a in (*elements, other):
            REGISTRY.finish(a)


def test_events_count_n_of_n_done_and_a_new_prompt_starts_a_new_count(monkeypatch):
    events = []
    monkeypatch.setattr(comfy, "send_event", lambda name, data: events.append(data))
    elements = _elements(3)
    progress.announce(elements[1], "saved", "1 output file(s) saved")
    progress.announce(elements[1], "saved", "said twice, counted once")
    REGISTRY.finish(elements[1])
    progress.announce(elements[0], "saved")
    assert [(e["list_done"], e["list_total"]) for e in events] == [(1, 3), (1, 3), (2, 3)]
    for a in (elements[0], elements[2]):
        REGISTRY.finish(a)
    single = REGISTRY.start("7", "prompt-fan")  # all left: the next call is a fresh node run
    try:
        progress.announce(single, "saved")
    finally:
        REGISTRY.finish(single)
    assert "list_total" not in events[-1]  # a single run keeps its plain status line
