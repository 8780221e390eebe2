"""Gateway mode's files: presigned links, downloads streamed from the worker's ``/view`` (Range
passed through), uploads streamed to its input folder, and file metadata (``GET /files/{id}``).

A file's bytes are never held: a download is copied chunk by chunk from the worker to the client,
an upload is spooled to a temporary file in the state folder and streamed on. Another key's file
is answered 404, as an unknown one. Presigned links need no key and refuse one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from ..floyo_client import EXPAND_FILE_URL, FILE_URL_EXPIRY_RANGE_S
from .access import Signer
from .gateway import Gateway
from .gateway_runs import StoredFile
from .origin import Invalid, parse_expand, validation_error
from .wire import clean_name, json_error
from .worker import WorkerUnavailable

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
_PASSED_ON = ("Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified")
_CONFLICT_MESSAGE = "A file with the same name already exists at the requested path."


@dataclass
class Links:
    """Presigned links of one gateway: signed with its kept secret, on its CDN origin."""

    signer: Signer
    cdn_url: str = ""
    wall_clock: Callable[[], float] = field(default=time.time)

    def presigned_url(self, stored: StoredFile, expires_in: int) -> str:
        expires = math.floor(self.wall_clock()) + expires_in
        sig = self.signer.sign(stored.id, stored.file_name, expires)
        return f"{self.cdn_url}/p/{stored.id}/{quote(stored.file_name)}?expires={expires}&sig={sig}"

    def problem(self, file_id: str, file_name: str, query: Any) -> str | None:
        return self.signer.problem(file_id, file_name, query, self.wall_clock())


GATEWAY: web.AppKey[Gateway] = web.AppKey("floyo_gateway", Gateway)
LINKS: web.AppKey[Links] = web.AppKey("floyo_links", Links)
# request-scoped: who the caller is (``owner_of`` its key), set by auth; web.RequestKey exists
# from aiohttp 3.14
_RequestKey: Any = getattr(web, "RequestKey", None)
OWNER: Any = _RequestKey("floyo_owner", str) if _RequestKey else "floyo_owner"
SPOOL: web.AppKey[Path] = web.AppKey("floyo_spool", Path)


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def stream_file(request: web.Request, stored: StoredFile) -> web.StreamResponse:
    """The file's bytes (or the range asked for), copied from the worker as they arrive."""
    passed = {h: request.headers[h] for h in ("Range", "If-Range") if h in request.headers}
    passed["Accept-Encoding"] = "identity"  # the bytes as stored: sizes and ranges must match
    worker = request.app[GATEWAY].worker
    response: web.StreamResponse | None = None
    try:
        async with worker.open_view(stored.filename, stored.subfolder, stored.kind, passed) as source:
            if source.status not in (200, 206, 416):
                log.warning("worker answered /view for %s with HTTP %d", stored.id, source.status)
                return json_error(404 if source.status == 404 else 502, "File not available on the worker")
            headers = {h: source.headers[h] for h in _PASSED_ON if h in source.headers}
            headers["Content-Type"] = stored.mime_type
            headers["Content-Disposition"] = _disposition(stored.file_name)
            response = web.StreamResponse(status=source.status, headers=headers)
            await response.prepare(request)
            async for chunk in source.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
    except WorkerUnavailable as exc:
        log.warning("%s", exc)
        if response is not None and response.prepared:  # cut short: the client sees a short body
            if request.transport is not None:
                request.transport.close()
            return response
        return json_error(502, "Bad Gateway", "The ComfyUI worker behind this gateway is unreachable")


async def bearer_download(request: web.Request) -> web.StreamResponse:
    stored = request.app[GATEWAY].store.file(request.match_info["file_id"], request[OWNER])
    if stored is None:
        return json_error(404, "File not found")
    return await stream_file(request, stored)


async def presigned_download(request: web.Request) -> web.StreamResponse:
    if "Authorization" in request.headers:
        log.warning("presigned URL fetched with an Authorization header")
        return json_error(403, "Forbidden", "Presigned URLs must be fetched without an Authorization header")
    file_id, file_name = request.match_info["file_id"], request.match_info["file_name"]
    problem = request.app[LINKS].problem(file_id, file_name, request.query)
    if problem is not None:
        return json_error(403, "Forbidden", problem)
    stored = request.app[GATEWAY].store.file(file_id, None)
    if stored is None:
        return json_error(404, "File not found")
    return await stream_file(request, stored)


async def get_file(request: web.Request) -> web.StreamResponse:
    try:
        expires_in = parse_expand(request.query, EXPAND_FILE_URL, FILE_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return validation_error(str(exc))
    stored = request.app[GATEWAY].store.file(request.match_info["file_id"], request[OWNER])
    if stored is None:
        return json_error(404, "File not found")
    url = request.app[LINKS].presigned_url(stored, expires_in) if expires_in is not None else None
    return web.json_response(stored.to_json(url))


def _folder(path: str) -> str:
    return "/".join(part for part in path.replace("\\", "/").split("/") if part not in ("", ".", ".."))


async def _spool(part: BodyPartReader, folder: Path) -> Path:
    """The part's bytes in a private temporary file, written as they arrive."""
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)  # noqa: SIM115
    with handle:
        while chunk := await part.read_chunk(CHUNK):
            handle.write(chunk)
    return Path(handle.name)


async def _read_form(request: web.Request, spool: Path) -> tuple[Path | None, dict[str, str]]:
    fields: dict[str, str] = {}
    path = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file" and path is None:
            fields.setdefault("filename", part.filename or "upload.bin")
            path = await _spool(part, spool)
        elif part.name in ("path", "on_conflict", "filename"):
            fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:1024]
    return path, fields


async def upload(request: web.Request) -> web.StreamResponse:
    if not request.content_type.startswith("multipart/"):
        return json_error(400, "Upload Failed", "multipart field 'file' is required")
    path, fields = await _read_form(request, request.app[SPOOL])
    try:
        if path is None:
            return json_error(400, "Upload Failed", "multipart field 'file' is required")
        on_conflict = fields.get("on_conflict") or "fail"
        if on_conflict not in ("fail", "rename"):
            return json_error(400, "Upload Failed", "on_conflict must be 'fail' or 'rename'")
        name = clean_name(fields.get("filename") or "upload.bin")
        stored = await request.app[GATEWAY].upload(path, name, _folder(fields.get("path") or ""),
                                                   request[OWNER], rename=on_conflict == "rename")
    except WorkerUnavailable as exc:
        log.warning("%s", exc)
        return json_error(502, "Bad Gateway", "The ComfyUI worker behind this gateway is unreachable")
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
    if stored is None:
        stem, dot, ext = name.rpartition(".")
        suggestion = f"{stem} (1).{ext}" if dot and stem else f"{name} (1)"
        return json_error(409, "Upload Failed", _CONFLICT_MESSAGE, suggestion=suggestion)
    log.info("uploaded %s to the worker as %s", stored.id, stored.input_path)
    return web.json_response(stored.to_json())
