"""FLOYO_MAX_FANOUT (default 20) and the list makers' own caps hold in code, not only in a widget:
ComfyUI checks a widget's min/max only for a constant, so a ``count`` linked from another node
and a list made by any node reach the Floyo nodes unchecked. Each refusal comes before the first
create: at queue time when the list lengths are constants, else when the list maker runs, else
when Floyo Remote Run's elements start (the whole list admitted or none of it).

The runtime tests run the real FloyoRemoteRun against the scripted server on loopback, with its
elements started the way ComfyUI 0.3.75 starts them (``_async_map_node_over_list``: one task per
element, one loop turn each)."""

from __future__ import annotations

import asyncio
import json

import pytest
from floyo_pack.floyo_client import WorkflowError
from floyo_pack.nodes import comfy
from floyo_pack.nodes.current_graph import prompt_hook
from floyo_pack.nodes.node_types import remote_run
from floyo_pack.nodes.node_types.list_makers import SPECS
from floyo_pack.nodes.node_types.spec import Ctx
from floyo_scripted import Scenario, ScriptedServer, Step

LISTS = {spec.node_id: spec for spec in SPECS}
REMOTE = {"3": {"class_type": "KSampler", "inputs": {"seed": 1}, "_meta": {"title": "Sampler"}},
          "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat"}, "_meta": {"title": "Prompt"}},
          "9": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "r"}}}


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.delenv("FLOYO_MAX_FANOUT", raising=False)
    monkeypatch.setenv("FLOYO_API_KEY", "flo_test_key")
    monkeypatch.setattr(comfy, "user_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(comfy, "output_dir", lambda: tmp_path / "output")
    monkeypatch.setattr(comfy, "key_file", lambda: tmp_path / "no_key_file")
    monkeypatch.setattr(comfy, "is_output_node", lambda c: c in {"SaveImage", "FloyoRemoteRun"})
    monkeypatch.setattr(comfy, "interrupted", lambda: False)
    monkeypatch.setattr(comfy, "send_event", lambda name, data: None)


async def test_a_linked_count_above_the_caps_is_refused_by_the_list_maker_in_code(monkeypatch):
    """5,000 from a linked primitive made 5,000 runs: the widget's max of 1,000 never applied."""
    seeds, ctx = LISTS["FloyoSeedList"], Ctx(node_id="5", prompt=None)
    with pytest.raises(ValueError, match="at most 1000"):
        await seeds.run(ctx, count=5000, start=0)
    with pytest.raises(ValueError, match="FLOYO_MAX_FANOUT=20") as e:
        await seeds.run(ctx, count=21, start=0)
    assert "21 Floyo runs" in str(e.value) and "Floyo Seed List (node 5)" in str(e.value)
    with pytest.raises(ValueError, match="at least one"):
        await seeds.run(ctx, count=-3, start=0)
    with pytest.raises(ValueError, match="FLOYO_MAX_FANOUT=20"):
        await LISTS["FloyoTextList"].run(ctx, text="\n".join(f"prompt {i}" for i in range(21)))
    assert await seeds.run(ctx, count=20, start=0) == (list(range(20)),)
    monkeypatch.setenv("FLOYO_MAX_FANOUT", "50")
    assert len((await seeds.run(ctx, count=50, start=0))[0]) == 50


def _fanned(count: int, *, node: str = "1", seeds: str = "5", override: str = "4") -> dict:
    return {seeds: {"class_type": "FloyoSeedList", "inputs": {"count": count, "start": 0}},
            override: {"class_type": "FloyoOverrideInt",
                       "inputs": {"target": "Sampler", "input": "seed", "value": [seeds, 0]}},
            node: {"class_type": "FloyoRemoteRun",
                   "inputs": {"source": "embedded", "workflow": json.dumps(REMOTE),
                              "overrides": [override, 0]}}}


def _queue_answer(prompt: dict) -> str | bool:
    body = prompt_hook.rewrite({"prompt": json.loads(json.dumps(prompt)), "client_id": "c"})
    if body["prompt"].keys() == prompt.keys():
        return True  # not cut down: queued as it is
    (node,) = [i for i, n in body["prompt"].items() if n["class_type"] == "FloyoRemoteRun"][:1]
    return prompt_hook.queue_check(body["prompt"][node]["inputs"]["workflow"])


def test_a_constant_list_over_floyo_max_fanout_is_refused_at_queue_time(monkeypatch):
    assert _queue_answer(_fanned(20)) is True
    answer = _queue_answer(_fanned(30))
    assert "30 Floyo runs" in answer and "FLOYO_MAX_FANOUT=20" in answer and "node 1: 30" in answer
    two = {**_fanned(12), **_fanned(12, node="11", seeds="15", override="14")}  # the prompt's total
    assert "24 Floyo runs" in _queue_answer(two)
    monkeypatch.setenv("FLOYO_MAX_FANOUT", "30")
    assert _queue_answer(_fanned(30)) is True


@pytest.fixture
async def floyo(monkeypatch):
    async with ScriptedServer(Scenario(steps=[Step("done")])) as server:
        monkeypatch.setenv("FLOYO_API_URL", server.api_url)
        monkeypatch.setenv("FLOYO_CDN_URL", server.cdn_url)
        yield server


async def _list_into_remote_run(monkeypatch, length: int, node_id: str, prompt_id: str) -> list:
    """What ComfyUI does with a list of ``length`` into a FloyoRemoteRun: a task per element."""
    monkeypatch.setattr(comfy, "current_prompt_id", lambda: prompt_id)
    tasks = []
    for i in range(length):
        workflow = json.dumps({**REMOTE, "6": {**REMOTE["6"], "inputs": {"text": f"cat {i}"}}})
        tasks.append(asyncio.create_task(remote_run.execute(Ctx(node_id=node_id, prompt=None), "embedded",
                                                            workflow, reuse="always run")))
        await asyncio.sleep(0)
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_list_from_any_node_over_floyo_max_fanout_creates_no_run(floyo, monkeypatch):
    results = await _list_into_remote_run(monkeypatch, 25, "7", "prompt-over")
    assert floyo.requests.creates() == []
    assert all(isinstance(r, WorkflowError) and "FLOYO_MAX_FANOUT=20" in str(r) for r in results), results
    assert "Floyo Remote Run (node 7) fed a list of 25" in str(results[0])


async def test_the_cap_is_a_total_per_prompt_so_a_second_list_that_does_not_fit_creates_nothing(
        floyo, monkeypatch):
    monkeypatch.setenv("FLOYO_MAX_FANOUT", "4")
    first = await _list_into_remote_run(monkeypatch, 3, "7", "prompt-total")
    assert not [r for r in first if isinstance(r, BaseException)] and len(floyo.requests.creates()) == 3
    second = await _list_into_remote_run(monkeypatch, 2, "8", "prompt-total")
    assert len(floyo.requests.creates()) == 3
    assert all(isinstance(r, WorkflowError) and "5 Floyo runs" in str(r) for r in second), second
    other_prompt = await _list_into_remote_run(monkeypatch, 2, "8", "prompt-next")
    assert not [r for r in other_prompt if isinstance(r, BaseException)]
    assert len(floyo.requests.creates()) == 5
