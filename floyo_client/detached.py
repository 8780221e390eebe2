"""Running a request that must never be abandoned (a create) on its own event loop and thread.

ComfyUI runs each prompt under ``asyncio.run``; when a node fails or the user interrupts, the
loop ends and every task still pending gets cancelled, including the tasks of a request in
flight. A create cut there may still reach Floyo, which would then bill a run nobody watches.
So the create runs on a short-lived loop in a worker thread: a cancel in the caller's loop only
stops the *waiting* (and the caller decides how long to keep waiting for the answer), never the
request itself. Must not be used for requests that may simply be dropped (polls, downloads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="floyo-create")


def detached(factory: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
    """Run ``factory()`` to its end on a fresh event loop in a worker thread. The future returned
    belongs to the calling loop and is not a task, so cancelling every task of that loop never
    reaches the request; await it through ``asyncio.shield`` so a cancelled waiter leaves it be."""
    return asyncio.wrap_future(_pool.submit(lambda: asyncio.run(factory())))
