"""The runs tab's and the nodes' reads beyond the journal list: the live runs (so a node's status
line and Cancel follow its run after a reload, in a second browser, or after a restart that
resumed it) and the workflow a run kept (``GET /floyo/runs/<id>/workflow``).

Read-only routes: they change nothing, never return the API key (a kept workflow was scrubbed
before it was stored, floyo_client/kept.py), an owner or an absolute path.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from ...floyo_client import RUN_ID_RE, unpack
from .. import comfy
from ..run.active_runs import REGISTRY


def live_runs() -> list[dict[str, Any]]:
    """Every run waited on now, with its elapsed seconds, its status as last journaled (a resumed
    run's watcher reports to the journal only), and whether this ComfyUI created it (its journal
    has the row: a Fetch Outputs node may watch a run made on another machine)."""
    journal, now = comfy.journal(), time.time()
    shown = []
    for active in REGISTRY.snapshot():
        record = journal.get(active["run_id"]) if active.get("run_id") else None
        status = record.status if record is not None and record.status and active["status"] == "starting" \
            else active["status"]
        shown.append({**active, "status": status, "elapsed_s": round(now - float(active["started"]), 1),
                      "created_here": record is not None})
    return shown


async def active_runs(request: web.Request) -> web.Response:
    # every open page asks every 2 s: the journal reads run off the server's event loop
    return web.json_response({"active": await asyncio.to_thread(live_runs)})


async def run_workflow(request: web.Request) -> web.Response:
    """What a run sent, exactly, and the UI workflow it came from (None when it was queued without
    one, e.g. through the API), for "Open what ran" and "Run again"."""
    run_id = request.match_info["run_id"]
    if not RUN_ID_RE.fullmatch(run_id):
        return web.json_response({"error": "run_id must look like run_ followed by letters and digits."},
                                 status=400)
    journal = comfy.journal()
    kept = journal.kept_workflow(run_id)
    sent = unpack(kept[0]) if kept else None
    if sent is None:
        why = ("is not in this ComfyUI's Floyo journal" if kept is None else
               "has no kept workflow (it ran before the pack kept them, or its workflow was too large)")
        return web.json_response({"error": f"{run_id} {why}."}, status=404)
    record = journal.get(run_id)
    return web.json_response({"run_id": run_id, "workflow": sent, "ui_workflow": unpack(kept[1]),
                              "workflow_hash": record.resolved_hash if record else None,
                              "node_id": record.node_id if record else None})


def add_to(table: Any) -> None:
    table.get("/floyo/active")(active_runs)
    table.get("/floyo/runs/{run_id}/workflow")(run_workflow)
