"""Every lookup into ComfyUI's own modules, in one place and done lazily.

ComfyUI's modules are imported inside functions so that importing the pack never requires a
running ComfyUI (the server may not exist yet when nodes load). Must not hold Floyo logic.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def comfyui_version() -> str | None:
    """The running ComfyUI's release (its ``comfyui_version`` module), or None outside ComfyUI."""
    try:
        import comfyui_version
    except ImportError:
        return None
    return str(getattr(comfyui_version, "__version__", "")) or None


def user_dir() -> Path:
    import folder_paths

    return Path(folder_paths.get_user_directory())


def key_file() -> Path:
    """Where the write-only key route stores the API key (docs/architecture.md, "Public contract")."""
    return user_dir() / "floyo" / "api_key"


def user_settings() -> dict[str, Any]:
    """The frontend's settings, as ComfyUI keeps them for its default user
    (``<user dir>/default/comfy.settings.json``, written by its /settings routes); {} when none.
    Read at use: a setting changed in the panel counts for the next prompt."""
    import json

    try:
        data = json.loads((user_dir() / "default" / "comfy.settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):  # none yet, unreadable, or not inside ComfyUI
        return {}
    return data if isinstance(data, dict) else {}


_journals: dict[Path, Any] = {}


def journal() -> Any:
    """The run journal in ``<user dir>/floyo/runs.sqlite3`` (docs/architecture.md, "Public contract")."""
    from ..floyo_client import Journal

    path = user_dir() / "floyo" / "runs.sqlite3"
    if path not in _journals:
        _journals[path] = Journal(path)
    return _journals[path]


def local_input_file(name: str) -> Path | None:
    """The file a LoadImage value like ``photo.png`` or ``sub/x.png [input]`` names in ComfyUI's
    own folders, if it exists there and stays inside them (no ``..`` escapes)."""
    import folder_paths

    bare, base = folder_paths.annotated_filepath(name)
    root = Path(base or folder_paths.get_input_directory()).resolve()
    path = (root / bare).resolve()
    return path if path.is_file() and path.is_relative_to(root) else None


def output_dir() -> Path:
    import folder_paths

    return Path(folder_paths.get_output_directory())


def interrupted() -> bool:
    """ComfyUI's global Cancel flag; reading it does not reset it."""
    import comfy.model_management

    return bool(comfy.model_management.processing_interrupted())


def interrupt_exception() -> Exception:
    """The exception that makes ComfyUI show "interrupted" instead of an error."""
    import comfy.model_management

    comfy.model_management.interrupt_current_processing(False)  # consumed, like ComfyUI does
    return comfy.model_management.InterruptProcessingException()


def _server() -> Any | None:
    try:
        import server

        return server.PromptServer.instance
    except (ImportError, AttributeError):
        return None


def send_event(event: str, data: dict[str, Any]) -> None:
    """Broadcast a websocket event; thread-safe (PromptServer.send_sync)."""
    srv = _server()
    if srv is not None:
        srv.send_sync(event, data)


def progress_bar(node_id: str, value: int, total: int) -> None:
    """The node's progress bar in the UI. Not through comfy.utils.ProgressBar: its hook raises on
    ComfyUI's interrupt flag, and a Floyo node must answer an interrupt by cancelling its run."""
    srv = _server()
    try:
        from comfy_execution.progress import get_progress_state
    except ImportError:  # ComfyUI before the progress registry: the "progress" event alone
        pass
    else:
        get_progress_state().update_progress(node_id, value, total)
    if srv is not None:
        srv.send_sync("progress", {"value": value, "max": total, "prompt_id": current_prompt_id(),
                                   "node": node_id}, getattr(srv, "client_id", None))


def current_prompt_id() -> str | None:
    try:
        from comfy_execution.utils import get_executing_context
    except ImportError:
        return getattr(_server(), "last_prompt_id", None)
    context = get_executing_context()
    return getattr(context, "prompt_id", None) if context else getattr(_server(), "last_prompt_id", None)


def node_class(class_type: str) -> Any | None:
    import nodes  # ComfyUI's module: absolute import on purpose (ours is imported relatively)

    return nodes.NODE_CLASS_MAPPINGS.get(class_type)


def is_output_node(class_type: str) -> bool:
    cls = node_class(class_type)
    return bool(getattr(cls, "OUTPUT_NODE", False)) if cls is not None else False


def add_prompt_handler(handler: Any) -> bool:
    """Add ``handler`` to the server's /prompt handlers unless it is there already; True when added."""
    srv = _server()
    if srv is None or not hasattr(srv, "add_on_prompt_handler"):
        return False
    if handler in getattr(srv, "on_prompt_handlers", ()):
        return False
    srv.add_on_prompt_handler(handler)
    return True


def add_middleware(middleware: Any) -> bool:
    """Add ``middleware`` to the server's app unless it is there or the app has started (its
    middleware list is frozen then); True when added."""
    app = getattr(_server(), "app", None)
    middlewares = getattr(app, "middlewares", None)
    if middlewares is None or middleware in middlewares or getattr(middlewares, "frozen", True):
        return False
    middlewares.append(middleware)
    return True


def routes() -> Any | None:
    srv = _server()
    return getattr(srv, "routes", None) if srv is not None else None


def add_routes(first_path: str, add: Any) -> bool:
    """Call ``add(table)`` with the server's route table unless there is no server (unit tests) or
    the table holds ``first_path`` already (the table says so: no flag here); True when added."""
    table = routes()
    if table is None or any(getattr(route, "path", None) == first_path for route in table):
        return False
    add(table)
    return True
