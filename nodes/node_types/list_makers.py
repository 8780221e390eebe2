"""List makers for fan-out: ``FloyoSeedList`` and ``FloyoTextList``.

Their outputs are ComfyUI lists (OUTPUT_IS_LIST): ComfyUI then calls the next node once per
element, so an Override Int fed a seed list makes one overrides value per seed and
``FloyoRemoteRun`` one run per element, concurrently (bounded per key, floyo_client/slots.py).
Every cap is checked in code (nodes/current_graph/fanout_cap.py), not only by the widget. Must not
talk to Floyo.
"""

from __future__ import annotations

from ..current_graph.contract import SEED_LIST, TEXT_LIST
from ..current_graph.fanout_cap import MAX_ITEMS, check_list_length
from .runtime import SEED_MAX, SEED_MIN
from .spec import CATEGORY, SEARCH_ALIASES, Ctx, In, NodeSpec, Out

ALIASES = (*SEARCH_ALIASES, "batch", "list", "fan-out", "variants")


async def seed_list(ctx: Ctx, count: int, start: int) -> tuple:
    # the widget's min/max hold only for a constant: a count linked from another node arrives as is
    check_list_length(count, f"Floyo Seed List (node {ctx.node_id})")
    if start < SEED_MIN or start + count - 1 > SEED_MAX:
        raise ValueError(f"Seeds from {start} for {count} runs leave the seed range {SEED_MIN} to "
                         f"{SEED_MAX}; change start or count.")
    return (list(range(start, start + count)),)


async def text_list(ctx: Ctx, text: str) -> tuple:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("Floyo Text List is empty: write one prompt per line.")
    check_list_length(len(lines), f"Floyo Text List (node {ctx.node_id})")
    return (lines,)


SPECS = (
    NodeSpec(
        node_id=SEED_LIST, display_name="Floyo Seed List",
        description=("Makes a list of seeds start, start+1, …: connected to Floyo Override Int, "
                     "Floyo Remote Run makes one run per seed, several at once (each run spends FloTime)."),
        inputs=(In("count", "INT", tooltip="How many seeds, so how many runs",
                   options={"default": 4, "min": 1, "max": MAX_ITEMS}),
                In("start", "INT", tooltip="The first seed; the next ones count up from it",
                   options={"default": 0, "min": SEED_MIN, "max": SEED_MAX})),
        outputs=(Out("seeds", "INT", "A list of seeds: the next node runs once per seed"),),
        run=seed_list, category=f"{CATEGORY}/overrides", search_aliases=(*ALIASES, "seeds"),
        output_is_list=True),
    NodeSpec(
        node_id=TEXT_LIST, display_name="Floyo Text List",
        description=("Makes a list of prompts, one per line (blank lines skipped): connected to Floyo "
                     "Override Text, Floyo Remote Run makes one run per prompt, several at once (each "
                     "run spends FloTime)."),
        inputs=(In("text", "STRING", tooltip="One prompt per line; each line becomes its own run",
                   options={"multiline": True, "default": ""}),),
        outputs=(Out("texts", "STRING", "A list of prompts: the next node runs once per prompt"),),
        run=text_list, category=f"{CATEGORY}/overrides", search_aliases=(*ALIASES, "prompts"),
        output_is_list=True),
)
