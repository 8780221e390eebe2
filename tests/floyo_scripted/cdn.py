"""The local server's CDN origin (upload, bearer download, presigned links) and the "other host".

Presigned links need no key, are HMAC-checked, expire, and are refused (403, recorded) when the
request carries any ``Authorization`` header: that is a leaked key. Byte-serving routes honour a
single ``Range: bytes=N-[M]`` (206 with Content-Range, ``If-Range`` against a strong ETag, 416
past the end) like S3 and CDNs do, unless ``scenario.range_requests`` is off (then no
Accept-Ranges and always 200). Download faults (stall, trickle, truncate, reset) and the
cross-origin redirect are applied here. Run state is not touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mimetypes
import re
import socket
import struct
from urllib.parse import quote

from aiohttp import web
from floyo_pack.floyo_server.wire import clean_name, new_id

from .middleware import STORE, json_error, make_app, record_of
from .recorder import UploadRecord
from .records import FileRecord
from .state import Store

log = logging.getLogger(__name__)

OTHER_URL: web.AppKey[list[str]] = web.AppKey("floyo_other_url", list)
_CONFLICT_MESSAGE = "A file with the same name already exists at the requested path."
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
TRICKLE_INTERVAL_S = 1.0  # the "trickle" fault sends one byte this often


def _content_disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _wanted(request: web.Request, size: int, etag: str) -> tuple[int, int] | None:
    """(first, last) byte of a single satisfiable range, or None for the whole file; raises 416."""
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match is None or request.headers.get("If-Range", etag) != etag:
        return None  # no range, a form we do not serve (RFC 9110 lets us send it all), or a changed file
    first, last = int(match[1]), int(match[2]) if match[2] else size - 1
    if first >= size:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return (first, min(last, size - 1)) if last >= first else None


async def serve_bytes(request: web.Request, record: FileRecord, where: str) -> web.StreamResponse:
    """The file's bytes (or the range asked for), unless a download fault for ``where`` is pending."""
    store = request.app[STORE]
    headers = {"Content-Type": record.mime_type,
               "Content-Disposition": _content_disposition(record.file_name)}
    data, status = record.data, 200
    if store.scenario.range_requests:
        etag = headers["ETag"] = f'"{record.id}-{len(record.data)}"'
        headers["Accept-Ranges"] = "bytes"
        try:
            wanted = _wanted(request, len(record.data), etag)
        except web.HTTPRequestRangeNotSatisfiable as e:
            return web.Response(status=416, headers=e.headers)
        if wanted is not None:
            first, last = wanted
            data, status = record.data[first:last + 1], 206
            headers["Content-Range"] = f"bytes {first}-{last}/{len(record.data)}"
    fault = store.take_first(store.scenario.download_faults, lambda f: where in f.where)
    if fault is None:
        return web.Response(status=status, body=data, headers=headers)
    record_of(request).note = f"download_{fault.kind}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(data)
    await response.prepare(request)
    cut = min(max(fault.after_bytes, 0), len(data))
    await response.write(data[:cut])
    if fault.kind in ("stall", "trickle"):
        with contextlib.suppress(ConnectionError):
            await _slowly(response, data[cut:], fault.kind, fault.stall_s)
        return response
    _close(request, reset=fault.kind == "reset")
    return response


async def _slowly(response: web.StreamResponse, rest: bytes, kind: str, stall_s: float) -> None:
    """The rest after a ``stall_s`` pause, or one byte a second ("trickle")."""
    if kind == "stall":
        await asyncio.sleep(stall_s)
        await response.write(rest)
    else:
        for i in range(len(rest)):
            await asyncio.sleep(TRICKLE_INTERVAL_S)
            await response.write(rest[i:i + 1])
    await response.write_eof()


def _close(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # SO_LINGER 0 turns close into a TCP RST: the client sees "connection reset by peer".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


def _redirect(request: web.Request, record: FileRecord) -> web.StreamResponse:
    other = request.app[OTHER_URL][0]
    location = f"{other}/blob/{record.id}/{quote(record.file_name)}"
    return web.Response(status=302, headers={"Location": location})


def _normal_folder(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part not in ("", ".", "..")]


def _free_name(store: Store, folder: list[str], name: str) -> tuple[str, str]:
    """The first free ``name``, ``name (1)``, ... in ``folder``, and its input path."""
    taken = {f.input_path for f in store.files.values()}
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    candidate, n = name, 0
    while "#inputs/" + "/".join([*folder, candidate]) in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    return candidate, "#inputs/" + "/".join([*folder, candidate])


async def upload(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    form = await request.post()
    part = form.get("file")
    if not isinstance(part, web.FileField):
        return json_error(400, "Upload Failed", "multipart field 'file' is required")
    data = part.file.read()
    folder = _normal_folder(str(form.get("path") or ""))
    on_conflict = str(form.get("on_conflict") or "fail")
    if on_conflict not in ("fail", "rename"):
        return json_error(400, "Upload Failed", "on_conflict must be 'fail' or 'rename'")
    requested = clean_name(str(form.get("filename") or part.filename or "upload.bin"))
    with store.lock:
        name, input_path = _free_name(store, folder, requested)
        if name != requested and on_conflict == "fail":
            return json_error(409, "Upload Failed", _CONFLICT_MESSAGE, suggestion=name)
        mime = mimetypes.guess_type(name)[0] or part.content_type or "application/octet-stream"
        record = store.add_file(FileRecord(id=new_id("file_"), file_name=name, mime_type=mime,
                                           data=data, input_path=input_path))
    store.recorder.add_upload(UploadRecord(
        file_id=record.id, path="/".join(folder), file_name=name, requested_name=requested,
        input_path=input_path, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        on_conflict=on_conflict, content_type=part.content_type))
    log.info("uploaded %s as %s (%d bytes)", record.id, input_path, len(data))
    return web.json_response(record.to_json())


async def bearer_download(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    record = store.files.get(request.match_info["file_id"])
    if record is None:
        return json_error(404, "File not found")
    if store.scenario.redirect_downloads:
        return _redirect(request, record)
    return await serve_bytes(request, record, "bearer")


async def presigned_download(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    if "Authorization" in request.headers:
        record_of(request).note = "authorization_on_presigned"
        log.warning("presigned URL fetched with an Authorization header")
        return json_error(403, "Forbidden", "Presigned URLs must be fetched without an Authorization header")
    file_id, file_name = request.match_info["file_id"], request.match_info["file_name"]
    problem = store.signer.problem(file_id, file_name, request.query, store.wall_clock())
    if problem is not None:
        return json_error(403, "Forbidden", problem)
    record = store.files.get(file_id)
    if record is None:
        return json_error(404, "File not found")
    if store.scenario.redirect_downloads:
        return _redirect(request, record)
    return await serve_bytes(request, record, "presigned")


async def other_blob(request: web.Request) -> web.StreamResponse:
    record = request.app[STORE].files.get(request.match_info["file_id"])
    if record is None:
        return json_error(404, "File not found")
    return await serve_bytes(request, record, "other")


def make_cdn_app(store: Store, keys: set[str], other_url: list[str]) -> web.Application:
    """The CDN origin (``cdn.floyo.ai`` stand-in); ``other_url`` is filled in once bound."""
    app = make_app(store, "cdn", keys)
    app[OTHER_URL] = other_url
    app.router.add_post("/upload", upload)
    app.router.add_get("/p/{file_id}/{file_name:.+}", presigned_download, name="public:presigned")
    app.router.add_get("/{file_id}/download", bearer_download)
    return app


def make_other_app(store: Store) -> web.Application:
    """A third origin that redirects land on: no auth, records every header, serves the bytes."""
    app = make_app(store, "other", set(), guarded=False)
    app.router.add_get("/blob/{file_id}/{file_name}", other_blob, name="public:blob")
    return app
