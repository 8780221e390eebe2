"""Gateway mode's two origins: the Floyo API (runs, files) and the CDN (upload, downloads).

Handlers parse the request, call the ``Gateway`` and render Floyo's JSON shapes. Auth, the
per-key limiter, the request log, presigned links and file downloads are the scripted server's
own pieces (``middleware``, ``api``, ``cdn``), reused as they are. No worker HTTP here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from ..floyo_client.models import EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S, VOCABULARIES, Phase
from .cdn import OTHER_URL, bearer_download, presigned_download
from .gateway import Gateway
from .gateway_runs import GatewayRun
from .middleware import KEY, STORE, json_error, make_app, record_of
from .origin import FINISHED_MESSAGES, Invalid, get_file, parse_create, parse_expand, team_balance
from .records import FileRecord, clean_name
from .state import Store
from .worker import WorkerUnavailable

log = logging.getLogger(__name__)

GATEWAY: web.AppKey[Gateway] = web.AppKey("floyo_gateway", Gateway)
_WORDS = {**VOCABULARIES["docs"], Phase.UNKNOWN: "processing"}
_CONFLICT_MESSAGE = "A file with the same name already exists at the requested path."


def _bad_gateway(exc: WorkerUnavailable) -> web.Response:
    log.warning("%s", exc)
    return json_error(502, "Bad Gateway", "The ComfyUI worker behind this gateway is unreachable")


def client_comfyui(user_agent: str) -> str | None:
    """The sender's ComfyUI release from its User-Agent (the pack adds ``ComfyUI/<version>``)."""
    found = re.search(r"\bComfyUI/([0-9][0-9A-Za-z.+-]{0,30})", user_agent)
    return found.group(1) if found else None


def render_run(store: Store, run: GatewayRun, outputs: list[FileRecord], expires_in: int | None) -> dict:
    """A run as ``GET /runs/{id}`` shows it (the scripted server's shape)."""
    urls = [store.presigned_url(f, expires_in) if expires_in is not None else None for f in outputs]
    body: dict[str, Any] = {"id": run.id, "object": "run", "name": run.name, "status": _WORDS[run.phase],
                            "requested_at": run.requested_at, "created_at": run.requested_at,
                            "outputs": [f.to_json(url) for f, url in zip(outputs, urls, strict=True)]}
    if run.phase.terminal:
        body["finished_at"] = run.finished_at
        if run.flotime_ms is not None:
            body["flotime_ms"] = run.flotime_ms
    if run.phase is Phase.FAILED and run.error is not None:
        body["error"] = run.error.to_json()
    return body


async def create_run(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    record_of(request).body_size = len(raw)
    try:
        workflow, name = parse_create(raw, None)
    except Invalid as exc:
        return json_error(400, "Validation error", str(exc.args[0]))
    try:
        run = await request.app[GATEWAY].create(workflow, name, request.get(KEY),
                                                client_comfyui(request.headers.get("User-Agent", "")))
    except WorkerUnavailable as exc:
        log.warning("%s", exc)
        return json_error(500, "Internal Server Error", "Failed to create run")
    return web.json_response({"id": run.id, "object": "run", "name": run.name})


async def get_run(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    try:
        expires_in = parse_expand(request.query, EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return json_error(400, "Validation error", str(exc))
    run = gateway.runs.get(request.match_info["run_id"])
    if run is None:
        return json_error(404, "Run not found")
    try:
        await gateway.refresh(run)
        outputs = await gateway.outputs(run) if run.phase is Phase.SUCCEEDED else []
    except WorkerUnavailable as exc:
        return _bad_gateway(exc)
    return web.json_response(render_run(gateway.store, run, outputs, expires_in))


async def list_runs(request: web.Request) -> web.StreamResponse:
    """``GET /runs?search=&limit=``: the key's runs whose name contains ``search``, newest first,
    as last seen (a lost create is found by its marker, then polled as usual)."""
    gateway, search = request.app[GATEWAY], (request.query.get("search") or "").lower()
    try:
        limit = max(1, min(int(request.query.get("limit", "10")), 100))
    except ValueError:
        return json_error(400, "Validation error", "limit must be an integer")
    runs = [r for r in reversed(list(gateway.runs.values()))
            if r.key == request.get(KEY) and search in r.name.lower()]
    page = [render_run(gateway.store, run, [], None) for run in runs[:limit]]
    return web.json_response({"object": "list", "data": page, "has_more": len(runs) > limit})


async def cancel_run(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    run = gateway.runs.get(request.match_info["run_id"])
    if run is None:
        return json_error(404, "Run not found")
    try:
        accepted = await gateway.cancel(run)
    except WorkerUnavailable as exc:
        return _bad_gateway(exc)
    if accepted:
        return web.json_response({"id": run.id, "object": "run", "message": "Run cancelled"})
    return web.json_response({"id": run.id, "status": _WORDS[run.phase], "object": "run",
                              "error": "Run is already finished",
                              "message": FINISHED_MESSAGES.get(run.phase, "Run is already finished")},
                             status=409)


def _folder(path: str) -> str:
    return "/".join(part for part in path.replace("\\", "/").split("/") if part not in ("", ".", ".."))


async def upload(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    part = form.get("file")
    if not isinstance(part, web.FileField):
        return json_error(400, "Upload Failed", "multipart field 'file' is required")
    on_conflict = str(form.get("on_conflict") or "fail")
    if on_conflict not in ("fail", "rename"):
        return json_error(400, "Upload Failed", "on_conflict must be 'fail' or 'rename'")
    name = clean_name(str(form.get("filename") or part.filename or "upload.bin"))
    try:
        folder = _folder(str(form.get("path") or ""))
        record = await request.app[GATEWAY].upload(part.file.read(), name, folder,
                                                   rename=on_conflict == "rename")
    except WorkerUnavailable as exc:
        return _bad_gateway(exc)
    if record is None:
        stem, dot, ext = name.rpartition(".")
        suggestion = f"{stem} (1).{ext}" if dot and stem else f"{name} (1)"
        return json_error(409, "Upload Failed", _CONFLICT_MESSAGE, suggestion=suggestion)
    log.info("uploaded %s to the worker as %s", record.id, record.input_path)
    return web.json_response(record.to_json())


def make_gateway_apps(store: Store, gateway: Gateway, keys: set[str]) -> tuple[web.Application, ...]:
    """The API origin and the CDN origin of gateway mode."""
    api = make_app(store, "api", keys)
    api.router.add_post("/runs", create_run)
    api.router.add_get("/runs", list_runs)
    api.router.add_get("/runs/{run_id}", get_run)
    api.router.add_post("/runs/{run_id}/cancel", cancel_run)
    api.router.add_get("/files/{file_id}", get_file)
    api.router.add_get("/team/balance", team_balance)
    cdn = make_app(store, "cdn", keys)
    cdn[OTHER_URL] = [""]  # the redirect knob stays off in gateway mode
    cdn.router.add_post("/upload", upload)
    cdn.router.add_get("/p/{file_id}/{file_name}", presigned_download, name="public:presigned")
    cdn.router.add_get("/{file_id}/download", bearer_download)
    for app in (api, cdn):
        app[GATEWAY] = gateway
        app[STORE] = store
    return api, cdn
