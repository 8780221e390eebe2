"""Everything the runs of one API key share in this process, in one object: ``KeyState``.

Floyo counts requests and runs per key, so the pacing of its 100 requests/minute (the limiter),
the ``FLOYO_MAX_CONCURRENT_RUNS`` run slots, the shared run-list polls (and the verdict that the
key's list is unusable), and the uploads already made belong to the key, not to one run.
``key_state`` gives the one ``KeyState`` of an (API URL, key) for the whole process; every
``Transport`` (so every ``FloyoClient``) carries one, and the modules that use a part of it reach
it through the client instead of keeping a registry of their own.

ComfyUI runs each prompt on its own event loop (and routes, the resume thread, benches on
others), so nothing here is an asyncio object: every part is guarded by a ``threading.Lock``, and
the list pollers, which are per loop, are kept per loop here. Writer claims on a run's output
folder are not per key (two keys of one team may fetch the same run): every ``KeyState`` points
at the process's one ``FolderClaims``. Must not make requests, and must not hold the key itself
(the registry is keyed by its hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .config import Config
from .models import RunOutput
from .ratelimit import RateLimiter
from .slots import RunSlots

T = TypeVar("T")
UploadKey = tuple[str, str, str, str]  # (team, CDN URL, folder, sha256 of the bytes)


class ListPolls:
    """The key's shared run-list pollers, one per event loop and clock, and whether its list was
    found unusable (remembered until ComfyUI restarts: a key's list does not come back)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pollers: dict[tuple[int, Hashable], Any] = {}
        self.unusable = False

    def poller(self, clock: Hashable, make: Callable[[], T], idle: Callable[[T], bool]) -> T:
        """This loop's poller on ``clock``, made by ``make`` the first time; idle pollers of other
        loops are dropped (loops come and go: each prompt, benches, the resume thread)."""
        key = (id(asyncio.get_running_loop()), clock)
        with self._lock:
            for stale in [k for k, p in self._pollers.items() if k != key and idle(p)]:
                del self._pollers[stale]
            if key not in self._pollers:
                self._pollers[key] = make()
            return self._pollers[key]

    def give_up(self) -> bool:
        """Mark the key's list unusable; True only the first time (so it is said once)."""
        with self._lock:
            first, self.unusable = not self.unusable, True
            return first


class Uploads:
    """Files this process uploaded or learnt of, so the same bytes are never sent twice (the
    journal remembers them across restarts; this holds even while the journal is failing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[UploadKey, RunOutput] = {}

    def get(self, key: UploadKey) -> RunOutput | None:
        with self._lock:
            return self._known.get(key)

    def put(self, key: UploadKey, uploaded: RunOutput) -> None:
        with self._lock:
            self._known[key] = uploaded

    def path_in_folder(self, key: UploadKey) -> str | None:
        """The input path of any remembered upload into ``key``'s team, CDN and folder."""
        with self._lock:
            return next((o.input_path for k, o in self._known.items() if k[:3] == key[:3]), None)


class FolderClaims:
    """Run output folders being written, by any thread or event loop of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()

    def claim(self, folder: str) -> bool:
        with self._lock:
            if folder in self._held:
                return False
            self._held.add(folder)
            return True

    def release(self, folder: str) -> None:
        with self._lock:
            self._held.discard(folder)


_FOLDERS = FolderClaims()  # one per process: a run's folder is not one key's


class KeyState:
    """What every run, route and thread of one key shares: its limiter, run slots, list polls and
    remembered uploads (and the process's writer claims). Tests and benches make their own."""

    def __init__(self, limiter: RateLimiter | None = None, folders: FolderClaims | None = None) -> None:
        self.limiter = limiter or RateLimiter()
        self.slots = RunSlots()
        self.lists = ListPolls()
        self.uploads = Uploads()
        self.folders = folders or _FOLDERS


_states: dict[tuple[str, str], KeyState] = {}
_states_lock = threading.Lock()


def key_state(config: Config) -> KeyState:
    """The process's one state of ``config``'s key at its API URL (same key and URL, same object)."""
    digest = hashlib.sha256(config.api_key.encode()).hexdigest()
    with _states_lock:
        return _states.setdefault((digest, config.api_url), KeyState())


def forget_key_states() -> None:
    """Start every key afresh, as a restart does (tests whose servers may reuse a port)."""
    with _states_lock:
        _states.clear()
