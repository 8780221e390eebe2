"""One ``GET /runs?ids=…`` for all of a key's runs being waited on, instead of one poll per run.

Floyo allows a key about 100 requests a minute. With 20 runs polled one by one that budget, not
the schedule, decides how soon each finish is noticed; listed together, every run is seen at the
pace of the fastest schedule. There is no background task: each ``RunHandle.wait`` still polls
on its own schedule, but when its turn comes it takes the newest round that began after its own
previous look, joins the round in flight, or sends a new round for every subscribed run.

Floyo's run list is unconfirmed (docs/floyo-api.md, "Run list"), so it is checked on every answer:
a 400/404/405/422, an answer holding runs not asked for or lacking some asked for (a list that
ignores ``ids``), or one larger than ``LIST_BYTES_PER_RUN`` per run asked for, marks the key's
list unusable until ComfyUI restarts (one log line; the verdict and the pollers are kept in the
key's ``KeyState``, keystate.py) and every handle polls its run alone, as before. Transient
failures reach every waiter of the round as their own poll's failure, so the outage riding in
``runner.py`` is unchanged. Used only while two or more runs of one key are waited on. Must not
create, cancel or download anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .client import LIST_BYTES_PER_RUN, clamp
from .errors import AnswerTooLarge, FloyoError, Interrupted
from .keystate import ListPolls
from .models import EXPAND_RUN_OUTPUT_URLS, RUN_URL_EXPIRY_RANGE_S, Phase, Run, listed_items
from .request import Request
from .transport import MAX_JSON_BYTES, StopCheck

log = logging.getLogger(__name__)
UNSUPPORTED = (400, 404, 405, 422)  # no run list, or one that does not take ``ids``
PAGE = 100  # the list's largest page
SLICE_S = 1.0


class Untrusted(Exception):
    """A list answer that is not the answer to what was asked."""


@dataclass
class Round:
    started: float
    ids: frozenset[str]
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    task: asyncio.Future | None = None  # the request, held so it is not collected mid-flight


class ListPoller:
    """The shared poll of one key's runs, on one event loop and one clock."""

    def __init__(self, clock: Callable[[], float], lists: ListPolls | None = None) -> None:
        self.clock = clock
        self.lists = lists or ListPolls()  # the key's: its verdict holds on every loop
        self.watched: set[str] = set()
        self._unusable = False  # remembered: a key's run list does not come back mid-session
        self.rounds = 0  # requests sent (what tests and benches count)
        self.ended: set[str] = set()  # watched runs a round saw ended: their handles look at once
        self._last: Round | None = None

    @property
    def unsupported(self) -> bool:
        """This key's list failed a check, here or on another loop of this process."""
        return self._unusable or self.lists.unusable

    def active(self) -> bool:
        return not self.unsupported and len(self.watched) >= 2

    def unwatch(self, run_id: str) -> None:
        self.watched.discard(run_id)
        self.ended.discard(run_id)

    async def look(self, client: Any, run_id: str, since: float, stop: StopCheck,
                   url_ttl_s: float) -> tuple[Run | None, float]:
        """The run as listed by a round that began after ``since`` (the start of the round this
        run last saw: never the same round twice), and that round's start; None: poll it alone."""
        while True:
            current = self._last
            if current is not None and not current.answer.done() and run_id not in current.ids:
                await _settled(current.answer, stop)  # one round at a time: a 404 is learnt once
                continue
            if self.unsupported:
                return None, since
            if current is None or current.started <= since or run_id not in current.ids:
                current = self._start(client, stop, url_ttl_s)
            try:
                listed = await _wait(current.answer, stop)
            except Interrupted:
                if stop():
                    raise
                continue  # the round's sender was stopped, not this run: send another
            if self.unsupported:
                return None, current.started
            return listed.get(run_id), current.started

    def _start(self, client: Any, stop: StopCheck, url_ttl_s: float) -> Round:
        current = Round(started=self.clock(), ids=frozenset(self.watched))
        self._last = current
        self.rounds += 1
        current.task = asyncio.ensure_future(self._send(client, current, stop, url_ttl_s))
        return current

    async def _send(self, client: Any, current: Round, stop: StopCheck, url_ttl_s: float) -> None:
        try:
            found: dict[str, Run] = {}
            ids = sorted(current.ids)
            for i in range(0, len(ids), PAGE):
                found.update(await _list(client, ids[i:i + PAGE], stop, url_ttl_s))
        except (Untrusted, AnswerTooLarge) as e:
            self._give_up(logging.WARNING, f"its answer {e}")
            found = {}
        except FloyoError as e:
            if e.status in UNSUPPORTED:
                self._give_up(logging.INFO, f"HTTP {e.status}")
                found = {}
            else:
                self._failed(current, e)
                return
        except asyncio.CancelledError:  # the loop is closing: the waiters go with it
            self._failed(current, Interrupted("The run list poll was stopped."))
            raise
        except Exception as e:  # noqa: BLE001 (any other failure must still answer the waiters)
            self._failed(current, e)
            return
        self.ended.update(i for i, run in found.items() if run.phase.terminal and i in self.watched)
        current.answer.set_result(found)

    def _give_up(self, level: int, why: str) -> None:
        """Per-run polls for this key until ComfyUI restarts, said once per key."""
        self._unusable = True
        if self.lists.give_up():
            log.log(level, "Floyo: the run list cannot watch this key's runs (%s); each run is "
                    "polled alone until ComfyUI restarts", why)

    def _failed(self, current: Round, error: BaseException) -> None:
        current.answer.set_exception(error)
        current.answer.exception()  # read, so asyncio does not log it as never retrieved
        if self._last is current:
            self._last = None  # a failed round is no answer: the next look sends a new one


async def _settled(answer: asyncio.Future, stop: StopCheck) -> None:
    """Wait out another run's round, whatever its outcome."""
    try:
        await _wait(answer, stop)
    except Interrupted:
        if stop():
            raise
    except FloyoError:
        pass


async def _wait(answer: asyncio.Future, stop: StopCheck) -> dict[str, Run]:
    while not answer.done():
        if stop():
            raise Interrupted("Stopped while waiting for the run list.")
        await asyncio.wait({answer}, timeout=SLICE_S)
    return answer.result()


def usable(run: Run) -> bool:
    """A listed run the handle can take as is: still going, or succeeded with every output's URL.
    Anything else (a failure's details, outputs without URLs) comes from the run's own GET."""
    if not run.phase.terminal:
        return True
    return run.phase is Phase.SUCCEEDED and bool(run.outputs) and all(o.presigned_url for o in run.outputs)


async def _list(client: Any, ids: list[str], stop: StopCheck, url_ttl_s: float) -> dict[str, Run]:
    # output URLs as the run's own GET asks for them: a run seen done here needs no second request
    params = {"ids": ",".join(ids), "limit": str(PAGE), "expand": EXPAND_RUN_OUTPUT_URLS,
              "presigned_url_expires_in": str(clamp(url_ttl_s, RUN_URL_EXPIRY_RANGE_S))}
    cap = min(MAX_JSON_BYTES, LIST_BYTES_PER_RUN * len(ids))
    reply = await client.transport.call(Request("GET", client.api + "/runs", attempts=1, params=params,
                                                max_bytes=cap), stop=stop)
    items = listed_items(reply.body)
    if len(items) > len(ids):  # counted before any is read
        raise Untrusted(f"lists {len(items)} runs for {len(ids)} asked for")
    found = {}
    for item in items:
        try:
            run = Run.from_json(item)
        except ValueError:
            continue  # then it lacks a run asked for, below
        if run.id not in ids:
            raise Untrusted(f"holds run {run.id}, which was not asked for")
        found[run.id] = run
    if len(found) < len(ids):
        raise Untrusted(f"lacks {len(ids) - len(found)} of the {len(ids)} runs asked for")
    return found


def poller_for(client: Any, clock: Callable[[], float]) -> ListPoller:
    """The shared poller of this client's key on the running loop and this clock."""
    lists = client.state.lists
    return lists.poller(clock, lambda: ListPoller(clock, lists), lambda p: not p.watched)
