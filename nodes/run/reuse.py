"""Reuse of identical results, the ComfyUI side: decode the saved (or fetched again) outputs.

The core decides what may be reused and keeps the journal (``reuse_identical``,
floyo_client/reuse.py: same resolved workflow, same team, files still the ones paid for, else
fetched again by run id, else forgotten). This module only decodes the files it hands back,
exactly as a fresh run's. Must never create a run.
"""

from __future__ import annotations

import time
from typing import Any

from ...floyo_client import FloyoClient, Hooks, Prompt, RunRecord, reuse_identical
from .collect import Collected, collect, collect_saved

REUSE = ("identical results", "always run")


def reused_status(record: RunRecord) -> str:
    """What the node shows: "reused run_… from <date>, no FloTime spent"."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.updated_at or 0))
    return f"reused {record.run_id} from {when}, no FloTime spent"


async def reuse_saved(client: FloyoClient, journal: Any, workflow: Prompt, size_policy: str,
                      hooks: Hooks) -> tuple[RunRecord, Collected] | None:
    """The saved outputs of an identical earlier run (fetched again if the files are gone), or
    None when there is none or Floyo no longer has it."""
    return await reuse_identical(
        client, journal, workflow, hooks,
        from_disk=lambda record: collect_saved(record.outputs(), list(record.paths), size_policy),
        fetched=lambda handle, run, on_saved: collect(handle, run, size_policy, on_saved=on_saved))
