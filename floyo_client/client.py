"""Floyo's endpoints as methods: create, get and cancel runs, file metadata, one CDN upload, the
team's balance.

``create_run`` is at most once: Floyo has no idempotency key, so once its body may have left,
the request is never sent again (docs/architecture.md, "A create is sent at most once").
Every call goes through ``Transport``.
Must not sleep between polls or decide what a status means for the user (see runner.py).
"""

from __future__ import annotations

import secrets
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
from .request import Request
from .spend import Balance
from .transport import SentNetworkError, StopCheck, Transport, never_stop

DEFAULT_URL_TTL_S = 3600
SEARCH_LIMIT = 20  # runs a marker search may list; a lost create's marker matches one
# A list answer may take this much per run asked for: a run's outputs with their links. More
# is no answer to what was asked (a list that ignores its filter) or costs more than a poll.
LIST_BYTES_PER_RUN = 256 * 1024


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


class FloyoClient:
    """The API operations of one key, over one Transport."""

    def __init__(self, transport: Transport):
        self.transport = transport
        self.api = transport.config.api_url
        self.cdn = transport.config.cdn_url
        self.state = transport.state  # the key's limiter, run slots, list polls, uploads (keystate.py)

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
            run = Run.from_json(reply.body)
        except ValueError as e:
            raise ProtocolError(f"Floyo's answer for run {run_id} could not be read ({e}).",
                                run_id=run_id) from None
        if run.id != run_id:  # taken as is, run A's files would be saved (and replaced) as run B's
            raise ProtocolError(f"Floyo answered the request for run {run_id} with run {run.id}; the "
                                "answer was not used.", run_id=run_id)
        return run

    async def find_run(self, marker: str, *, stop: StopCheck = never_stop) -> Run | None:
        """The run whose name carries ``marker``, from the run list (``GET /runs?search=``), or
        None when the search found none. Raises RunListUnavailable when Floyo has no run list
        (404/405: the list is unconfirmed, docs/floyo-api.md, "Run list") or when the answer
        ignored the search: then a missing run proves nothing."""
        try:
            reply = await self.transport.call(Request(
                "GET", self.api + "/runs", params={"search": marker, "limit": str(SEARCH_LIMIT)},
                max_bytes=SEARCH_LIMIT * LIST_BYTES_PER_RUN), stop=stop)
        except FloyoError as e:
            if e.status in (404, 405):
                raise RunListUnavailable(f"Floyo has no run list to look for marker {marker} in "
                                         f"(HTTP {e.status}).", status=e.status) from None
            raise
        items = listed_items(reply.body)
        named = [i for i in items if isinstance(i, dict) and marker in str(i.get("name") or "")]
        for item in named:  # the marker is random: a run carrying it is this create's, whatever came with it
            try:
                return Run.from_json(item)
            except ValueError:
                continue
        if len(named) < len(items) or len(items) > SEARCH_LIMIT:
            raise RunListUnavailable(f"Floyo's run list answered a search for marker {marker} with "
                                     f"{len(items) - len(named)} run(s) that do not carry it: it ignores the "
                                     "search, so it cannot tell whether the run exists.")
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

    async def team_balance(self, *, stop: StopCheck = never_stop) -> Balance | None:
        """GET /team/balance (unconfirmed, docs/floyo-api.md 2.8): None when this key may not read
        it or Floyo has no such route (401/403/404/405), or the answer has no balance in it."""
        try:
            reply = await self.transport.call(Request("GET", self.api + "/team/balance", attempts=1,
                                                      timeout_s=10.0, deadline_s=10.0), stop=stop)
        except FloyoError as e:
            if e.status in (401, 403, 404, 405):
                return None
            raise
        return Balance.from_json(reply.body)

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

    async def send_upload(self, data: bytes, name: str, *, path: str, on_conflict: str,
                          stop: StopCheck = never_stop) -> RunOutput:
        """POST <cdn>/upload once; returns the file with its ``input_path``. With ``on_conflict``
        "fail" a name already taken in ``path`` raises Conflict (409). Callers go through
        uploads.upload_once, which sends the same bytes to a team's files only once."""

        def form() -> aiohttp.FormData:
            fields = aiohttp.FormData()
            fields.add_field("file", data, filename=name, content_type="application/octet-stream")
            fields.add_field("path", path)
            fields.add_field("on_conflict", on_conflict)
            return fields

        reply = await self.transport.call(Request("POST", self.cdn + "/upload", form=form, timeout_s=300),
                                          stop=stop)
        uploaded = RunOutput.from_json(reply.body)
        if uploaded is None or not uploaded.input_path:
            raise ProtocolError("Floyo's CDN accepted the upload but returned no input_path.")
        return uploaded
