"""Input files sent to Floyo once per team: named by their content, remembered across restarts.

An upload's ``input_path`` goes into the workflow sent, so it is part of the hash reuse looks for:
the same bytes must always give the same path, or a restarted ComfyUI pays again for a graph it
already ran. So a file is uploaded as ``comfyui_<sha256 of its bytes><ext>`` with
``on_conflict=fail``, and the path Floyo gave it is remembered in this process (the key's
``KeyState``) and in the journal (per team, CDN and folder). The next time the same bytes are
needed, the remembered path is used and nothing is sent. A 409 means the team already holds a file
of that name, which, the name being the hash, holds these very bytes (uploaded from another
machine, or by a try whose answer was lost): its path is the folder of another remembered upload
plus the name. Only when no upload into that folder was ever remembered is a renamed copy sent,
with one log line. Must not decide what is uploaded (the glue does) nor log the key.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import PurePath

from .client import FloyoClient
from .errors import Conflict
from .journal import Journal
from .keystate import UploadKey, Uploads
from .models import RunOutput
from .transport import StopCheck, never_stop

log = logging.getLogger(__name__)
DEFAULT_FOLDER = "/comfyui"
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


def upload_name(data: bytes, filename: str) -> str:
    """The name ``data`` is uploaded as: its sha256 and ``filename``'s extension (lower case)."""
    suffix = PurePath(filename).suffix.lower()
    return f"comfyui_{hashlib.sha256(data).hexdigest()}{suffix if _SUFFIX.match(suffix) else ''}"


def _sibling_path(journal: Journal | None, known: Uploads, key: UploadKey, name: str) -> str | None:
    """Where a file called ``name`` lives in the folder, learned from an earlier upload there."""
    row = journal.known_upload(*key[:3]) if journal is not None else None
    other = row["input_path"] if row else None
    if other is None:
        other = known.path_in_folder(key)
    if not other:
        return None
    folder, sep, _ = other.rpartition("/")
    return f"{folder}{sep}{name}"


def _remembered(journal: Journal | None, known: Uploads, key: UploadKey, name: str) -> RunOutput | None:
    if (uploaded := known.get(key)) is not None:
        return uploaded
    row = journal.known_upload(*key) if journal is not None else None
    if row is None:
        return None
    return RunOutput(id=row["file_id"] or "", file_name=name, input_path=row["input_path"])


async def upload_once(client: FloyoClient, data: bytes, filename: str, *, journal: Journal | None = None,
                      folder: str = DEFAULT_FOLDER, stop: StopCheck = never_stop) -> RunOutput:
    """The team's file holding ``data``: uploaded now only if it was never uploaded before."""
    name = upload_name(data, filename)
    key = (client.transport.config.team, client.cdn, folder, hashlib.sha256(data).hexdigest())
    uploaded = _remembered(journal, client.state.uploads, key, name)
    if uploaded is None:
        try:
            uploaded = await client.send_upload(data, name, path=folder, on_conflict="fail", stop=stop)
        except Conflict:
            uploaded = await _already_there(client, data, name, journal, key, stop)
        if journal is not None:
            journal.remember_upload(*key, uploaded.input_path, uploaded.id or None)
    client.state.uploads.put(key, uploaded)
    return uploaded


async def _already_there(client: FloyoClient, data: bytes, name: str, journal: Journal | None,
                         key: UploadKey, stop: StopCheck) -> RunOutput:
    path = _sibling_path(journal, client.state.uploads, key, name)
    if path is not None:
        return RunOutput(id="", file_name=name, input_path=path)
    log.warning("Floyo: %s is already in the team's files, but this ComfyUI never learned where "
                "Floyo puts uploads in %s; uploading a renamed copy once (it is remembered from now on).",
                name, key[2])
    return await client.send_upload(data, name, path=key[2], on_conflict="rename", stop=stop)
