"""The scripted server's handlers that only read its store: file metadata and team balance.

No run logic; the knobs (``expired_links``, the balance) are the scenario's.
"""

from __future__ import annotations

from aiohttp import web
from floyo_pack.floyo_client.models import EXPAND_FILE_URL, FILE_URL_EXPIRY_RANGE_S
from floyo_pack.floyo_server.origin import Invalid, parse_expand, validation_error
from floyo_pack.floyo_server.wire import iso_now, json_error

from .middleware import STORE
from .records import FileRecord
from .state import Store


def output_url(store: Store, record: FileRecord, expires_in: int | None, expired: bool) -> str | None:
    if expires_in is None:
        return None
    return store.expired_url(record) if expired else store.presigned_url(record, expires_in)


async def get_file(request: web.Request) -> web.StreamResponse:
    store = request.app[STORE]
    try:
        expires_in = parse_expand(request.query, EXPAND_FILE_URL, FILE_URL_EXPIRY_RANGE_S)
    except Invalid as exc:
        return validation_error(str(exc))
    record = store.files.get(request.match_info["file_id"])
    if record is None:
        return json_error(404, "File not found")
    expired = expires_in is not None and store.take("expired_links")
    return web.json_response(record.to_json(output_url(store, record, expires_in, expired)))


async def team_balance(request: web.Request) -> web.StreamResponse:
    sc = request.app[STORE].scenario
    return web.json_response({"available_flotime_ms": sc.balance_flotime_ms,
                              "partner_nodes_usd": sc.balance_partner_usd, "calculated_at": iso_now()})
