"""ComfyUI entry point of the Floyo pack: registers the nodes, routes and the web extension.

Registers with ComfyUI's V3 API (``comfy_entrypoint``) when it exists and falls back to V1
mappings otherwise — never both, because ComfyUI ignores ``comfy_entrypoint`` when
``NODE_CLASS_MAPPINGS`` is present. Outside ComfyUI (tests, the local server's command line)
importing this package registers nothing and needs no ComfyUI module.
"""

import importlib.util

WEB_DIRECTORY = "./web"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


if _has_module("comfy_api.latest"):

    async def comfy_entrypoint():
        from .nodes.comfy_server.registration import v3_extension

        return await v3_extension()

elif _has_module("folder_paths"):
    from .nodes.comfy_server.registration import v1_mappings

    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = v1_mappings()

__all__ = ["WEB_DIRECTORY"]
