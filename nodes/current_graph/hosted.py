"""Source 'floyo workflow': the workflow a node names is fetched from Floyo when the prompt is
queued, checked there like an embedded one, and sealed into the node's ``workflow`` input.

ComfyUI's on-prompt hook is synchronous and runs on the server's loop, so the fetch cannot
happen in it without blocking the server. A middleware on ``POST /prompt`` therefore fetches
first, on the loop (``prefetch``, bounded by the core's deadline), and hands the results to the
hook through a context variable; the hook (``seal_hosted``) then refuses the prompt with the
reason, or seals the graph like a current-graph split (sealed.py). Sealing is deterministic, so
an unchanged workflow gives the node the same input and ComfyUI's cache still holds; the node
never fetches again when it runs. Must not send a run, or log a graph.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from typing import Any

from aiohttp import web

from ...floyo_client import (
    ConfigError,
    FloyoError,
    Hosted,
    Prompt,
    WorkflowError,
    is_link,
    load_config,
    open_client,
    resolve_hosted,
)
from .. import comfy
from .contract import FLOYO_WORKFLOW, PREFLIGHT, SPLIT_NODES
from .queue_checks import check_workflow, key_problem
from .sealed import Refusal, Split, seal, unseal

log = logging.getLogger(__name__)
PROMPT_PATHS = ("/prompt", "/api/prompt")
PREFETCH_DEADLINE_S = 30.0  # all of a prompt's workflows; each request has the core's own, shorter
FETCHED: contextvars.ContextVar[dict[str, Hosted | str] | None] = contextvars.ContextVar(
    "floyo_fetched_workflows", default=None)
NOT_FETCHED = ("In 'floyo workflow' mode the workflow is fetched from Floyo when the prompt is queued, and "
               "that did not happen for this prompt, so nothing was sent. Queue it again from ComfyUI "
               "(POST /prompt); if this persists, restart ComfyUI.")


def hosted_nodes(prompt: Prompt) -> list[str]:
    return [i for i, n in prompt.items() if isinstance(n, dict) and n.get("class_type") in SPLIT_NODES
            and n.get("inputs", {}).get("source") == FLOYO_WORKFLOW]


def _refs(prompt: Prompt) -> set[str]:
    refs = (prompt[i].get("inputs", {}).get("floyo_workflow") for i in hosted_nodes(prompt))
    return {r for r in refs if isinstance(r, str)}


async def _fetch_all(refs: set[str]) -> dict[str, Hosted | str]:
    """Each named workflow, or why it could not be had (a message safe to show)."""
    try:
        config = load_config(comfy.key_file())
    except ConfigError as e:
        return dict.fromkeys(refs, str(e))
    found: dict[str, Hosted | str] = {}
    async with open_client(config) as client:
        for ref in sorted(refs):
            try:
                found[ref] = await resolve_hosted(client, ref, config.team)
            except (WorkflowError, FloyoError) as e:
                found[ref] = str(e)
    return found


async def prefetch(body: object) -> dict[str, Hosted | str] | None:
    """The workflows a /prompt body's 'floyo workflow' nodes name; None when it has none."""
    prompt = body.get("prompt") if isinstance(body, dict) else None
    refs = _refs(prompt) if isinstance(prompt, dict) else set()
    if not refs:
        return None
    try:
        return await asyncio.wait_for(_fetch_all(refs), PREFETCH_DEADLINE_S)
    except asyncio.TimeoutError:
        return dict.fromkeys(refs, f"Floyo did not answer within {PREFETCH_DEADLINE_S:.0f} s while the "
                                   "workflow was fetched; nothing was sent. Try again in a minute.")


@web.middleware
async def fetch_at_queue_time(request: web.Request, handler: Any) -> web.StreamResponse:
    """Fetch a queued prompt's Floyo workflows before ComfyUI's /prompt handler (and its hook) runs."""
    if request.method != "POST" or request.path not in PROMPT_PATHS:
        return await handler(request)
    try:  # the body is kept: the handler reads it again; most prompts name no Floyo workflow
        raw = await request.read()
        fetched = await prefetch(json.loads(raw)) if FLOYO_WORKFLOW.encode() in raw else None
    except ValueError:
        fetched = None  # not JSON: ComfyUI's handler answers that
    except Exception:  # noqa: BLE001 - a bug here must not stop ComfyUI's queue; the hook refuses
        log.exception("Floyo: could not fetch the prompt's Floyo workflows")
        fetched = None
    token = FETCHED.set(fetched)
    try:
        return await handler(request)
    finally:
        FETCHED.reset(token)


def _graph_for(prompt: Prompt, node_id: str, fetched: dict[str, Hosted | str] | None) -> Prompt:
    """The fetched graph of ``node_id``, checked as an embedded one at queue time; WorkflowError."""
    ref = prompt[node_id].get("inputs", {}).get("floyo_workflow")
    if is_link(ref):
        raise WorkflowError("floyo_workflow must be typed on the node, not linked: the workflow is "
                            "fetched when the prompt is queued, before any node runs.")
    found = (fetched or {}).get(ref) if isinstance(ref, str) else None
    if isinstance(found, str):
        raise WorkflowError(found)
    if found is None:
        raise WorkflowError(NOT_FETCHED)
    if prompt[node_id].get("class_type") != PREFLIGHT:  # Preflight reports instead of refusing
        check_workflow(prompt, node_id, found.graph)
        if (missing := key_problem()) is not None:
            raise WorkflowError(missing)
    log.info("Floyo: node %s runs Floyo workflow %s (%s, version %s)", node_id, found.id, found.name,
             found.version or "unknown")
    return found.graph


def seal_hosted(prompt: Prompt) -> tuple[str, str] | None:
    """Seal each 'floyo workflow' node's fetched graph into its ``workflow`` input, in place; the
    first ``(node id, reason)`` that refuses the prompt, or None."""
    fetched = FETCHED.get()
    for node_id in hosted_nodes(prompt):
        try:
            graph = _graph_for(prompt, node_id, fetched)
        except WorkflowError as e:
            return node_id, str(e)
        node = prompt[node_id]
        prompt[node_id] = {**node, "inputs": {**node.get("inputs", {}), "workflow": seal(Split(graph))}}
    return None


def hosted_graph(text: object) -> Prompt:
    """What the hook sealed for a 'floyo workflow' node in this prompt; WorkflowError names why not."""
    message = unseal(text)
    if isinstance(message, Refusal):
        raise WorkflowError(message.message)
    if not isinstance(message, Split):
        raise WorkflowError(NOT_FETCHED)
    return message.workflow
