"""The spend guard's settings: ``FLOYO_BUDGET_*`` and ``FLOYO_MAX_FANOUT``, from the environment
or from ComfyUI's settings panel (``Floyo.Budget.*``, ``Floyo.MaxFanout``; web/floyo/spend.js).

An environment variable that is set wins (it is where ComfyUI is started, often by whoever pays);
else the panel's value; else the default (a budget off, the fan-out cap 20). The result is an
environment-shaped mapping, so the core reads both the same way. Must not write a setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...floyo_client import BUDGET_ENVS, ENV_MAX_FANOUT
from .. import comfy

# setting id (web/floyo/spend.js) -> the environment variable it stands for
SETTING_ENVS = dict(zip(("Floyo.Budget.PromptFloTimeS", "Floyo.Budget.DayFloTimeS", "Floyo.Budget.PromptUSD",
                         "Floyo.Budget.DayUSD"), BUDGET_ENVS, strict=True))
SETTING_ENVS["Floyo.MaxFanout"] = ENV_MAX_FANOUT


def spend_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The spend settings as environment variables: the environment's, else the panel's. A
    setting of 0 or empty is no setting (a budget off, the fan-out cap at its default)."""
    env = os.environ if env is None else env
    chosen: dict[str, str] = {}
    settings = comfy.user_settings()
    for setting, name in SETTING_ENVS.items():
        value = settings.get(setting)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            chosen[name] = f"{value:g}"
        if env.get(name):
            chosen[name] = env[name]
    return chosen
