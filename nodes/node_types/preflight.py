"""``FloyoPreflight``: what Floyo Remote Run would send, and what it would cost, without sending it.

Takes the same inputs as ``FloyoRemoteRun`` and returns the exact workflow the run would send
(the current-graph split, overrides applied, files still to upload shown as pending paths) and a
report: the nodes not installed here (built from the UI workflow in current-graph mode), the
uploads, any credentials found, whether an identical saved run would be reused, and warnings.
Must not open a connection to Floyo: it sends nothing and costs nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ...floyo_client import Override, Prompt, apply_overrides, find_secrets, tag, workflow_hash
from .. import comfy
from ..current_graph.contract import CURRENT_GRAPH, PREFLIGHT
from ..current_graph.prompt_hook import queue_check
from ..current_graph.queue_checks import key_problem
from ..current_graph.spend_checks import report_lines
from ..current_graph.ui_graph import not_installed
from ..inputs.loader_files import local_files
from ..inputs.override_values import Upload
from .runtime import RUN_INPUTS, workflow_for
from .spec import CATEGORY, Ctx, NodeSpec, Out

PENDING = "<pending upload: {}>"


def pending_overrides(overrides: Any, uploads: list[str]) -> list[Override]:
    """The overrides with every IMAGE, VIDEO and AUDIO replaced by its pending upload name."""
    resolved = []
    for o in overrides or ():
        value = o.value
        if isinstance(value, Upload):
            name = value.pending_name()
            uploads.append(f"{name} ({value.kind} override of {o.target}.{o.input})")
            value = PENDING.format(name)
        resolved.append(Override(o.target, o.input, value))
    return resolved


def pending_files(workflow: Prompt, uploads: list[str]) -> Prompt:
    """The workflow with every local loader file replaced by its pending upload name."""
    found = list(local_files(workflow))
    for node_id, key, path in found:
        uploads.append(f"{path} (node {node_id} input {key!r})")
    return apply_overrides(workflow, [Override(n, k, PENDING.format(p.name)) for n, k, p in found]) \
        if found else workflow


def reuse_line(workflow: Prompt, uploads: list[str]) -> str:
    if uploads:  # the real upload paths are known only once uploaded
        return "Reuse: decided after the uploads (their Floyo paths are part of the workflow)."
    try:
        config = _config()
        api = comfy.journal().reusable(workflow_hash(workflow), config.api_url, config.team)
    except Exception:  # noqa: BLE001 - no journal here: the report says so instead
        api = None
    if api:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(api.get("updated_at") or 0))
        return f"Reuse: identical to {api['run_id']} from {when}; with reuse on, no FloTime is spent."
    return "Reuse: no identical saved run; running it spends FloTime."


def _config() -> Any:
    from ...floyo_client import load_config

    return load_config(comfy.key_file())


def built_line(workflow: Prompt, source: str) -> list[str]:
    """The sent nodes this ComfyUI lacks: in current-graph mode built from the UI workflow."""
    missing = not_installed(workflow)
    if not missing:
        return []
    how = "built from the saved UI workflow (type, widget values by name)" if source == CURRENT_GRAPH \
        else "sent as written"
    return [f"Not installed here, {how}: {len(missing)} ({', '.join(missing)})"]


def report(workflow: Prompt, uploads: list[str], allow_secrets: bool, source: str = "",
           spend: list[str] | None = None) -> str:
    secrets = find_secrets(workflow)
    lines = ["Floyo Preflight: nothing was sent to Floyo.",
             f"Nodes sent: {len(workflow)} ({', '.join(workflow)})", *built_line(workflow, source),
             f"Uploads: {len(uploads)}", *(f"  - {u}" for u in uploads)]
    if secrets:
        verdict = "sent anyway (allow_secrets is on)" if allow_secrets else "the run would be refused"
        lines += [f"Secrets: {len(secrets)} found; {verdict}", *(f"  - {f.describe()}" for f in secrets)]
    else:
        lines.append("Secrets: none found")
    warnings = [w for w in (key_problem(),) if w]
    lines.append(reuse_line(workflow, uploads) if not warnings else "Reuse: unknown without a key.")
    lines += spend or []  # the estimate and the budget check (current_graph/spend_checks.py)
    lines += [f"Warning: {w}" for w in warnings]
    return "\n".join(lines)


async def preflight(ctx: Ctx, source: str, workflow: str, overrides: Any = None,
                    allow_secrets: bool = False, **_: Any) -> tuple:
    remote = workflow_for(ctx, source, workflow)
    uploads: list[str] = []
    resolved = pending_overrides(overrides, uploads)
    final = apply_overrides(remote, resolved) if resolved else remote
    final = tag(pending_files(final, uploads))[0]  # the routing tags, exactly as Remote Run sends them
    spend = report_lines(ctx.node_id, remote, overrides)
    return (json.dumps(final, indent=2, sort_keys=True), report(final, uploads, allow_secrets, source, spend))


SPEC = NodeSpec(
    node_id=PREFLIGHT, display_name="Floyo Preflight",
    description=("Shows exactly what Floyo Remote Run would send (the current-graph split, overrides "
                 "applied, uploads as pending paths) and a report of uploads, secrets and warnings. "
                 "Sends nothing and spends no FloTime."),
    inputs=RUN_INPUTS,
    outputs=(Out("workflow", "STRING", "The API-format workflow Floyo Remote Run would send, as JSON"),
             Out("report", "STRING", "What would be uploaded, credentials found, reuse, and warnings")),
    run=preflight, output_node=True, category=CATEGORY, check_workflow=queue_check)
