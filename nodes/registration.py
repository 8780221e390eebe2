"""Turns the node specs into ComfyUI classes (V3 or V1) and wires routes and the prompt hook."""

from __future__ import annotations

import logging

from . import comfy, prompt_hook, resume, routes, shutdown
from .lists import SPECS as LIST_SPECS
from .lookup import FETCH_SPEC, STATUS_SPEC
from .overrides import SPECS as OVERRIDE_SPECS
from .preflight import SPEC as PREFLIGHT_SPEC
from .remote_run import SPEC as REMOTE_RUN_SPEC
from .select import SPEC as SELECT_SPEC
from .spec import NodeSpec, v1_class, v3_class

log = logging.getLogger(__name__)
SPECS: tuple[NodeSpec, ...] = (REMOTE_RUN_SPEC, PREFLIGHT_SPEC, STATUS_SPEC, FETCH_SPEC, SELECT_SPEC,
                               *OVERRIDE_SPECS, *LIST_SPECS)
_hooked = False


def _wire_server() -> None:
    global _hooked
    routes.register()
    shutdown.install()
    try:
        resume.start()
    except (OSError, ImportError) as e:  # no user dir yet (not inside ComfyUI): nothing to resume
        log.warning("Floyo: run journal unavailable: %s", e)
    if not _hooked:
        _hooked = comfy.add_prompt_handler(prompt_hook.rewrite)


async def v3_extension():
    from comfy_api.latest import ComfyExtension

    classes = [v3_class(spec) for spec in SPECS]

    class FloyoExtension(ComfyExtension):
        async def on_load(self) -> None:
            _wire_server()

        async def get_node_list(self) -> list:
            return classes

    _wire_server()
    return FloyoExtension()


def v1_mappings() -> tuple[dict[str, type], dict[str, str]]:
    _wire_server()
    return ({s.node_id: v1_class(s) for s in SPECS}, {s.node_id: s.display_name for s in SPECS})
