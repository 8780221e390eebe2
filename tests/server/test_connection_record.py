"""The server records the most connections it saw open at once, per origin
(``Realism.most_connections``), so a test can hold a client to a bound on connections."""

from __future__ import annotations

import asyncio

import aiohttp
from floyo_scripted import Realism

from .conftest import AUTH

BALANCE = "/team/balance"


async def _get(session, url):
    async with session.get(url, headers=AUTH) as resp:
        assert resp.status == 200
        await resp.read()


async def test_requests_on_one_keep_alive_connection_count_as_one(server, http):
    for _ in range(3):
        await _get(http, server.api_url + BALANCE)
    assert server.realism.most_connections == {"api": 1}


async def test_connections_open_at_once_are_counted_and_closed_ones_are_not(server):
    server.realism = Realism(latency_s=0.1)  # holds each answer so the requests overlap
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(_get(session, server.api_url + BALANCE) for _ in range(2)))
    await asyncio.sleep(0.05)  # the two are closed now
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(_get(session, server.api_url + BALANCE) for _ in range(3)))
    assert server.realism.most_connections == {"api": 3}
