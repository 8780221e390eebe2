"""Floyo's endpoints as methods: create, get and cancel runs, file metadata, CDN upload.

``create_run`` is at most once: Floyo has no idempotency key, so once its body may have left,
the request is never sent again (docs/architecture.md, "A create is sent at most once").
Every call goes through ``Transport``.
Must not sleep between polls or decide what a status means for the user (see runner.py).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any
from urllib.parse import quote

import aiohttp

from .errors import (
    Conflict,
    FloyoError,
    NotFound,
    ProtocolError,
    RunListUnavailable,
    RunMayExist,
    ServerError,
)
from .models import (
    EXPAND_FILE_URL,
    EXPAND_RUN_OUTPUT_URLS,
    FILE_ID_RE,
    FILE_URL_EXPIRY_RANGE_S,
    RUN_ID_RE,
    RUN_URL_EXPIRY_RANGE_S,
    Run,
    RunOutput,
    listed_items,
)
from .outcome import CancelOutcome, CancelResult
from .transport import Request, SentNetworkError, StopCheck, Transport, never_stop

DEFAULT_URL_TTL_S = 3600


def new_marker() -> str:
    """A unique tag for a run's name, so a run whose create got no answer can be found by hand."""
    return "flyc-" + secrets.token_hex(5)


def clamp(value: float, bounds: tuple[int, int]) -> int:
    return int(min(max(value, bounds[0]), bounds[1]))


def _run_path(run_id: str) -> str:
    if not RUN_ID_RE.fullmatch(run_id):
        raise NotFound(f"{run_id!r} is not a Floyo run id (they look like run_ followed by letters "
                       "and digits).")
    return "/runs/" + quote(run_id, safe="")


# Same bytes are uploaded once per process and per destination (key digest, CDN, path).
_uploads: dict[tuple[str, str, str, str], RunOutput] = {}
_uploads_lock = threading.Lock()


class FloyoClient:
    """The API operations of one key, over one Transport."""

    def __init__(self, transport: Transport):
        self.transport = transport
        self.api = transport.config.api_url
        self.cdn = transport.config.cdn_url

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> FloyoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def create_run(self, workflow: dict[str, Any], *, name: str, marker: str,
                         stop: StopCheck = never_stop) -> Run:
        """POST /runs, at most once. Raises RunMayExist when the outcome is unknown."""
        unknown = (f"The Floyo run may have been created but no answer came back, so it was not "
                   f"resent (that could charge twice). Look in Floyo for a run named {name!r} "
                   f"(marker {marker}).")
        try:
            reply = await self.transport.call(Request("POST", self.api + "/runs", idempotent=False,
                                                      json={"workflow": workflow, "name": name},
                                                      timeout_s=120), stop=stop)
        except (SentNetworkError, ProtocolError) as e:  # sent, but the answer was lost or unreadable
            raise RunMayExist(f"{unknown} Cause: {e}", marker=marker) from None
        except ServerError as e:
            raise ServerError(f"{e} The create was not retried; if a run named {name!r} shows up in "
                              "Floyo, it is this one.", status=e.status) from None
        try:
            return Run.from_json(reply.body, status="queued")
        except ValueError as e:
            raise RunMayExist(f"{unknown} Floyo's answer had no run id ({e}).", marker=marker) from None

    async def get_run(self, run_id: str, *, urls: bool = False, url_ttl_s: float = DEFAULT_URL_TTL_S,
                      stop: StopCheck = never_stop, attempts: int | None = None) -> Run:
        """GET /runs/{id}; with ``urls`` each output gets a presigned URL valid ``url_ttl_s``.
        ``attempts`` 1: no retries here (a caller that rides out outages retries itself)."""
        params = {}
        if urls:  # presigned_url_expires_in is a validation error without expand (docs/floyo-api.md)
            params = {"expand": EXPAND_RUN_OUTPUT_URLS,
                      "presigned_url_expires_in": str(clamp(url_ttl_s, RUN_URL_EXPIRY_RANGE_S))}
        reply = await self.transport.call(Request("GET", self.api + _run_path(run_id), params=params,
                                                  run_id=run_id, attempts=attempts), stop=stop)
        try:
            return Run.from_json(reply.body)
        except ValueError as e:
            raise ProtocolError(f"Floyo's answer for run {run_id} could not be read ({e}).",
                                run_id=run_id) from None

    async def find_run(self, marker: str, *, stop: StopCheck = never_stop) -> Run | None:
        """The run whose name carries ``marker``, from the run list (``GET /runs?search=``), or
        None when no listed run carries it. Raises RunListUnavailable when Floyo has no run list
        (404/405: the list is unconfirmed, docs/floyo-api.md, "Run list")."""
        try:
            reply = await self.transport.call(Request("GET", self.api + "/runs",
                                                      params={"search": marker, "limit": "20"}), stop=stop)
        except FloyoError as e:
            if e.status in (404, 405):
                raise RunListUnavailable(f"Floyo has no run list to look for marker {marker} in "
                                         f"(HTTP {e.status}).", status=e.status) from None
            raise
        for item in listed_items(reply.body):
            if isinstance(item, dict) and marker in str(item.get("name") or ""):
                try:
                    return Run.from_json(item)
                except ValueError:
                    continue
        return None

    async def cancel_run(self, run_id: str, *, stop: StopCheck = never_stop,
                         timeout_s: float = 10.0) -> CancelOutcome:
        """POST /runs/{id}/cancel: cancelled, already finished (with its status), or not found.
        Urgent (never queued behind polls), and done within ``timeout_s`` in all: a 429 whose wait
        would pass it raises RateLimited at once."""
        try:
            await self.transport.call(Request("POST", self.api + _run_path(run_id) + "/cancel",
                                              run_id=run_id, timeout_s=timeout_s, urgent=True,
                                              deadline_s=timeout_s), stop=stop)
        except Conflict as e:
            return CancelOutcome(CancelResult.ALREADY_FINISHED, status=e.current_status)
        except NotFound:
            return CancelOutcome(CancelResult.NOT_FOUND)
        return CancelOutcome(CancelResult.CANCELLED)

    async def get_file(self, file_id: str, *, url: bool = False, url_ttl_s: float = DEFAULT_URL_TTL_S,
                       stop: StopCheck = never_stop) -> RunOutput:
        """GET /files/{id}, optionally with a presigned URL."""
        if not FILE_ID_RE.fullmatch(file_id):
            raise NotFound(f"{file_id!r} is not a Floyo file id (they look like file_ followed by "
                           "letters and digits).")
        params = {}
        if url:
            params = {"expand": EXPAND_FILE_URL,
                      "presigned_url_expires_in": str(clamp(url_ttl_s, FILE_URL_EXPIRY_RANGE_S))}
        reply = await self.transport.call(Request("GET", f"{self.api}/files/{quote(file_id, safe='')}",
                                                  params=params), stop=stop)
        output = RunOutput.from_json(reply.body)
        if output is None:
            raise ProtocolError(f"Floyo's answer for file {file_id} could not be read.")
        return output

    async def upload(self, data: bytes, filename: str, *, path: str = "/comfyui",
                     stop: StopCheck = never_stop) -> RunOutput:
        """Upload an input file to the CDN once per process; returns it with its ``input_path``."""
        key = (hashlib.sha256(self.transport.config.api_key.encode()).hexdigest(), self.cdn, path,
               hashlib.sha256(data).hexdigest())
        with _uploads_lock:
            if key in _uploads:
                return _uploads[key]

        def form() -> aiohttp.FormData:
            fields = aiohttp.FormData()
            fields.add_field("file", data, filename=filename, content_type="application/octet-stream")
            fields.add_field("path", path)
            fields.add_field("on_conflict", "rename")  # a name clash never fails (docs/floyo-api.md)
            return fields

        reply = await self.transport.call(Request("POST", self.cdn + "/upload", form=form, timeout_s=300),
                                          stop=stop)
        uploaded = RunOutput.from_json(reply.body)
        if uploaded is None or not uploaded.input_path:
            raise ProtocolError("Floyo's CDN accepted the upload but returned no input_path.")
        with _uploads_lock:
            _uploads[key] = uploaded
        return uploaded
