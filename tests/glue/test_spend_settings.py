"""The spend guard's settings: a budget or the fan-out cap set in ComfyUI's settings panel counts
for the next prompt, and a variable set where ComfyUI starts wins over it (whoever starts ComfyUI
often pays for it). A setting of 0 is no setting: a budget off, the cap at its default."""

from __future__ import annotations

import json

from floyo_pack.floyo_client import Budgets, max_fanout
from floyo_pack.nodes import comfy
from floyo_pack.nodes.current_graph.spend_settings import spend_env


def panel(values: dict) -> None:
    path = comfy.user_dir() / "default" / "comfy.settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


def test_a_budget_set_in_the_settings_panel_counts_and_the_environment_wins_over_it():
    assert spend_env({}) == {} and Budgets.from_env(spend_env({})) == Budgets()
    panel({"Floyo.Budget.PromptFloTimeS": 120, "Floyo.Budget.DayUSD": 2.5, "Floyo.MaxFanout": 40,
           "Floyo.Budget.DayFloTimeS": 0, "Comfy.Other": 7})
    assert Budgets.from_env(spend_env({})) == Budgets(prompt_flotime_s=120, day_usd=2.5)
    assert max_fanout(spend_env({})) == 40
    env = {"FLOYO_BUDGET_PROMPT_FLOTIME_S": "60", "FLOYO_MAX_FANOUT": "10"}
    assert Budgets.from_env(spend_env(env)).prompt_flotime_s == 60 and max_fanout(spend_env(env)) == 10


def test_an_unreadable_settings_file_is_no_setting():
    path = comfy.user_dir() / "default" / "comfy.settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert spend_env({}) == {} and max_fanout(spend_env({})) == 20
