"""Where outputs came from: the sidecar beside a run's saved files, and the entry ComfyUI's own
save nodes write into their PNG metadata downstream of a Floyo node.

A run's files under ``output/floyo/<run id>/`` are the bytes Floyo sent and are never rewritten
(the user paid for them): provenance goes into one small JSON file beside them (``SIDECAR``, a
name no output can take: names.py), with the run id, the hash of the workflow sent (the journal's
``resolved_hash``), when it was created and saved, its FloTime and partner cost, and each file's
name and sha256. Never the API key, an API URL or a presigned link. Writes only the sidecar (in
one replace, so a reader never sees half of it); the journal is written through ``Journal``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .journal import Journal, RunRecord
from .names import SIDECAR
from .saved_files import SavedFile

log = logging.getLogger(__name__)
PNG_KEY = "floyo"  # the PNG text chunk ComfyUI's SaveImage writes from extra_pnginfo["floyo"]


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))


def sidecar(run_id: str, record: RunRecord | None, files: Sequence[SavedFile]) -> dict[str, Any]:
    """The sidecar's content for ``run_id``: what the journal says of it, and the saved files."""
    return {"run_id": run_id, "workflow_hash": record.resolved_hash if record else None,
            "created_at": _when(record.created_at if record else None), "saved_at": _when(time.time()),
            "flotime_ms": record.flotime_ms if record else None,
            "partner_cost_usd": record.partner_cost_usd if record else None,
            "files": [{"name": Path(f.path).name, "size": f.size, "sha256": f.sha256} for f in files]}


def write_sidecar(folder: Path, content: dict[str, Any]) -> Path:
    path = folder / SIDECAR
    temp = folder / f".{SIDECAR}.{os.getpid()}.tmp"
    temp.write_text(json.dumps(content, indent=1))
    os.replace(temp, path)
    return path


def record_saved(journal: Journal, run_id: str, files: Sequence[SavedFile | str]) -> None:
    """A run's files are on disk: journal them as saved, then write the sidecar beside them. A
    sidecar that cannot be written is logged, never raised: the files and the journal stand."""
    journal.saved(run_id, files)
    known = [f for f in files if isinstance(f, SavedFile)]
    if not known:
        return
    try:
        write_sidecar(Path(known[0].path).parent, sidecar(run_id, journal.get(run_id), known))
    except OSError as e:
        log.warning("Floyo: could not write %s for run %s: %s", SIDECAR, run_id, e)


def png_entry(run_id: str, workflow_hash: str | None, node_id: str | None) -> dict[str, Any]:
    """One run's line in the ``floyo`` PNG text chunk (run id, workflow hash, the local node)."""
    return {"run_id": run_id, "workflow_hash": workflow_hash, "node_id": node_id}


def stamp(extra_pnginfo: Any, entry: dict[str, Any]) -> bool:
    """Add ``entry`` to the prompt's ``extra_pnginfo`` (the dict ComfyUI hands every node of the
    prompt, and its save nodes write as PNG text), once; False when the prompt has none."""
    if not isinstance(extra_pnginfo, dict):
        return False
    block = extra_pnginfo.get(PNG_KEY)
    if not isinstance(block, dict) or not isinstance(block.get("runs"), list):
        block = extra_pnginfo[PNG_KEY] = {"runs": []}
    if entry not in block["runs"]:
        block["runs"].append(entry)
    return True
