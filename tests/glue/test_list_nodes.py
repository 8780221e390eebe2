"""Fan-out list makers: FloyoSeedList and FloyoTextList give ComfyUI lists (OUTPUT_IS_LIST on
both registrations), so the next node runs once per element."""

from __future__ import annotations

import pytest
from floyo_pack.nodes.comfy_server.registration import SPECS as REGISTERED
from floyo_pack.nodes.node_types.list_makers import SPECS
from floyo_pack.nodes.node_types.spec import Ctx, v1_class

CTX = Ctx(node_id="1", prompt=None)
BY_ID = {spec.node_id: spec for spec in SPECS}


async def test_seed_list_counts_up_from_start():
    assert await BY_ID["FloyoSeedList"].run(CTX, count=3, start=41) == ([41, 42, 43],)


async def test_text_list_is_one_prompt_per_line_blank_lines_skipped():
    text = "a red fox\n\n  a lighthouse  \n"
    assert await BY_ID["FloyoTextList"].run(CTX, text=text) == (["a red fox", "a lighthouse"],)


async def test_an_empty_text_list_is_refused_with_the_next_step():
    with pytest.raises(ValueError, match="one prompt per line"):
        await BY_ID["FloyoTextList"].run(CTX, text="\n \n")


def test_both_are_registered_and_their_outputs_are_comfyui_lists():
    assert {"FloyoSeedList", "FloyoTextList"} <= {s.node_id for s in REGISTERED}
    seeds, texts = v1_class(BY_ID["FloyoSeedList"]), v1_class(BY_ID["FloyoTextList"])
    assert seeds.OUTPUT_IS_LIST == (True,) and seeds.RETURN_TYPES == ("INT",)
    assert seeds.RETURN_NAMES == ("seeds",)
    assert texts.OUTPUT_IS_LIST == (True,) and texts.RETURN_NAMES == ("texts",)
    assert v1_class(REGISTERED[0]).OUTPUT_IS_LIST == (False,) * 7  # FloyoRemoteRun stays per element
