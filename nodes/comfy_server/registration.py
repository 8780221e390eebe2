"""Turns the node specs into ComfyUI classes (V3 or V1) and wires routes and the prompt hook."""

from __future__ import annotations

import logging

from ...floyo_client import identify_host
from .. import comfy
from ..current_graph import hosted, prompt_hook
from ..node_types.list_makers import SPECS as LIST_SPECS
from ..node_types.override_nodes import SPECS as OVERRIDE_SPECS
from ..node_types.preflight import SPEC as PREFLIGHT_SPEC
from ..node_types.remote_run import SPEC as REMOTE_RUN_SPEC
from ..node_types.run_lookup import FETCH_SPEC, STATUS_SPEC
from ..node_types.select_output import SPEC as SELECT_SPEC
from ..node_types.spec import NodeSpec, v1_class, v3_class
from . import http_routes, resume, shutdown, spend_routes, workflow_routes

log = logging.getLogger(__name__)
SPECS: tuple[NodeSpec, ...] = (REMOTE_RUN_SPEC, PREFLIGHT_SPEC, STATUS_SPEC, FETCH_SPEC, SELECT_SPEC,
                               *OVERRIDE_SPECS, *LIST_SPECS)


def wire_server() -> bool:
    """Hook the pack into ComfyUI's server: routes, the /prompt hook, the shutdown handler, and the
    resume of runs left in flight. Safe to call again (V3 calls it from the entrypoint and again
    from ``on_load`` on a ComfyUI that has it): each step asks the thing it changes (the server's
    route table and prompt handlers, the signal handlers, the journal's owners) whether it is done
    already, so there is no run-once flag to keep in step. True, and one debug line (startup stays
    quiet: tests/e2e/test_nodes_e2e.py), when it wired."""
    if version := comfy.comfyui_version():  # named in requests: the gateway reports release skew
        identify_host(f"ComfyUI/{version}")
    wired = [http_routes.register(), comfy.add_prompt_handler(prompt_hook.rewrite), shutdown.install(),
             comfy.add_middleware(hosted.fetch_at_queue_time), workflow_routes.register(),
             spend_routes.register()]
    try:
        resume.sweep_downloads()
    except (OSError, ImportError) as e:  # no output folder yet (not inside ComfyUI): nothing left
        log.debug("Floyo: no partial downloads to sweep: %s", e)
    try:
        resume.start()
    except (OSError, ImportError) as e:  # no user dir yet (not inside ComfyUI): nothing to resume
        log.warning("Floyo: run journal unavailable: %s", e)
    if any(wired):
        log.debug("Floyo: wired into ComfyUI's server (routes %s, prompt hook %s, shutdown handler %s, "
                  "queue-time fetch %s, workflow routes %s, spend routes %s)",
                  *("added" if w else "unchanged" for w in wired))
    return any(wired)


async def v3_extension():
    from comfy_api.latest import ComfyExtension

    classes = [v3_class(spec) for spec in SPECS]

    class FloyoExtension(ComfyExtension):
        async def on_load(self) -> None:
            wire_server()

        async def get_node_list(self) -> list:
            return classes

    wire_server()  # ComfyUI 0.3.75 never calls on_load; later ones do, and find it done
    return FloyoExtension()


def v1_mappings() -> tuple[dict[str, type], dict[str, str]]:
    wire_server()
    return ({s.node_id: v1_class(s) for s in SPECS}, {s.node_id: s.display_name for s in SPECS})
