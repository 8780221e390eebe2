"""Current-graph offload at prompt submission (ComfyUI's on-prompt hook).

Splits the queued prompt around the ``FloyoRemoteRun`` node in 'current graph' mode: the remote
part is written into the node's ``workflow`` input and removed from the local prompt, so ComfyUI
never validates or runs what only Floyo needs (a checkpoint that exists only remotely, say).

What the hook decides reaches the node only as a ``sealed.Split`` or ``sealed.Refusal`` in
``workflow``, sealed under a key that lives only in this process, so the node sends only what
this hook produced: never stale widget text, never pasted text that imitates a seal, never a
graph the hook did not see. A graph it must not split (two current-graph nodes, nothing remote
to run, a node both sides would run) is refused at queue time: the prompt is cut down to the
Floyo nodes, carrying the reason, and their queue-time check fails with it, so nothing runs
locally. A prompt whose estimate crosses a budget or the balance is refused the same way
(spend_checks.py). ComfyUI swallows exceptions from this hook, so it never raises. Must not send
anything to Floyo.
"""

from __future__ import annotations

import logging
from typing import Any

from ...floyo_client import (
    Partition,
    Prompt,
    WorkflowError,
    check_api_format,
    is_link,
    partition,
    refuse_local_reruns,
)
from .. import comfy
from ..run.provenance import ensure_slot
from . import ui_graph
from .contract import CURRENT_GRAPH, REMOTE_RUN, SPLIT_NODES, is_floyo
from .fanout_cap import planned_refusal, planned_runs
from .hosted import seal_hosted
from .queue_checks import check_workflow, embedded_nodes, embedded_problem, key_problem
from .sealed import Refusal, Split, seal, unseal
from .spend_checks import spend_check

log = logging.getLogger(__name__)
NOT_PREPARED = ("In 'current graph' mode the remote part is cut out of the graph when the prompt is "
                "queued, and that did not happen for this prompt (the node's workflow text was not "
                "prepared by Floyo when it was queued), so nothing was sent to Floyo. Queue the graph "
                "again from ComfyUI, or switch the node to 'embedded' and paste an API-format workflow.")


def current_graph_nodes(prompt: Prompt) -> list[str]:
    return [i for i, n in prompt.items() if isinstance(n, dict) and n.get("class_type") in SPLIT_NODES
            and n.get("inputs", {}).get("source") == CURRENT_GRAPH]


def sealed_workflow(text: object) -> Prompt:
    """The remote part this hook produced for this prompt; WorkflowError names why not."""
    message = unseal(text)
    if isinstance(message, Refusal):
        raise WorkflowError(message.message)
    if not isinstance(message, Split):
        raise WorkflowError(NOT_PREPARED)
    return check_api_format(message.workflow)


def queue_check(workflow: object) -> bool | str:
    """ComfyUI's queue-time check of the node's ``workflow`` input: a refusal the hook sealed."""
    message = unseal(workflow)
    return message.message if isinstance(message, Refusal) else True


def split_for_node(prompt: Prompt, node_id: str) -> Partition:
    """The partition for ``node_id``; refuses two current-graph Floyo nodes (the same remote part
    sent and paid twice) and a local branch that would run remote work here too."""
    nodes = current_graph_nodes(prompt)
    if len(nodes) > 1:
        raise WorkflowError(f"Only one FloyoRemoteRun per graph can use 'current graph' (found nodes "
                            f"{', '.join(nodes)}). Nothing was queued. Switch the others to 'embedded'.")
    part = partition(prompt, node_id, ui_graph.is_output(prompt, comfy.is_output_node), is_floyo)
    refuse_local_reruns(prompt, part, node_id)
    return part


def _refuse(json_data: dict[str, Any], nodes: list[str], message: str) -> dict[str, Any]:
    """Cut the prompt down to the current-graph nodes, each carrying ``message`` for its queue-time
    check: ComfyUI then rejects the whole prompt and runs nothing of it here."""
    prompt = json_data["prompt"]
    kept = {}
    for node_id in nodes:
        inputs = {k: v for k, v in prompt[node_id].get("inputs", {}).items() if not is_link(v)}
        kept[node_id] = {**prompt[node_id], "inputs": {**inputs, "workflow": seal(Refusal(message))}}
    json_data["prompt"] = kept
    if "partial_execution_targets" in json_data:
        json_data["partial_execution_targets"] = list(nodes)
    log.warning("Floyo: prompt refused: %s", message)
    return json_data


def _embedded_refusal(json_data: dict[str, Any], prompt: Prompt) -> dict[str, Any] | None:
    """The prompt cut down to the first embedded Floyo node that fails its queue-time checks
    (queue_checks.py), or None when all pass."""
    for node_id in embedded_nodes(prompt):
        try:
            problem = embedded_problem(prompt, node_id)
        except Exception:  # noqa: BLE001 - a bug in a check must not stop a good prompt
            log.exception("Floyo: could not check node %s at queue time", node_id)
            continue
        if problem:
            return _refuse(json_data, [node_id], problem)
    return None


def rewrite(json_data: dict[str, Any]) -> dict[str, Any]:
    """Return the /prompt body with the remote part moved, sealed, into the Floyo node."""
    prompt = json_data.get("prompt")
    if not isinstance(prompt, dict):
        return json_data
    ensure_slot(json_data)  # where a run's provenance reaches the save nodes (nodes/run/provenance.py)
    if (too_many := planned_refusal(prompt)) is not None:  # FLOYO_MAX_FANOUT, known lists
        return _refuse(json_data, *too_many)
    refused = _embedded_refusal(json_data, prompt)
    if refused is not None:
        return refused
    if (hosted_refusal := seal_hosted(prompt)) is not None:  # source 'floyo workflow' (hosted.py)
        return _refuse(json_data, [hosted_refusal[0]], hosted_refusal[1])
    nodes = current_graph_nodes(prompt)
    if not nodes:
        return _over_budget(json_data, prompt, {}) or json_data
    try:
        prompt = ui_graph.complete(json_data, prompt, nodes[0])  # types not installed here
        part = split_for_node(prompt, nodes[0])
        if prompt[nodes[0]]["class_type"] == REMOTE_RUN:  # Preflight reports instead of refusing
            check_workflow(prompt, nodes[0], part.remote)  # the queue-time checks, on the split
            if (missing := key_problem()) is not None:
                raise WorkflowError(missing)
    except WorkflowError as e:
        return _refuse(json_data, nodes, str(e))
    except Exception as e:  # noqa: BLE001 - ComfyUI would swallow it and run the graph unsplit
        log.exception("Floyo: could not split the current graph")
        return _refuse(json_data, nodes, f"Floyo could not split the current graph ({e}). Nothing was "
                                         "queued; please report this with the workflow.")
    local = dict(part.local)
    floyo = {**local[nodes[0]], "inputs": {**local[nodes[0]]["inputs"], "workflow": seal(Split(part.remote))}}
    local[nodes[0]] = floyo
    targets = json_data.get("partial_execution_targets")
    if isinstance(targets, list):
        json_data["partial_execution_targets"] = [t for t in targets if t in local] or [nodes[0]]
    json_data["prompt"] = local
    log.info("Floyo: node %s sends %d node(s) to Floyo; %d stay local", nodes[0], len(part.remote),
             len(local))
    return _over_budget(json_data, prompt, {nodes[0]: part.remote}) or json_data


def _over_budget(json_data: dict[str, Any], prompt: Prompt,
                 remotes: dict[str, Prompt | None]) -> dict[str, Any] | None:
    """The prompt cut down to its Floyo nodes when its estimate crosses a budget or the balance
    (spend_checks.py), else None. A failing check never stops a good prompt."""
    try:
        problem = spend_check(prompt, remotes)[1]
    except Exception:  # noqa: BLE001 - a bug in the estimate must not refuse (or run) the graph unsplit
        log.exception("Floyo: could not check the prompt's spend at queue time")
        return None
    paying = [i for i in planned_runs(prompt) if i in json_data["prompt"]]
    return _refuse(json_data, paying, problem) if problem and paying else None
