"""The local server's request log: every request on every origin, as it arrived.

Thread-safe (one lock) so a test thread can read it while the server's loop writes. Entries
are appended when a request arrives and completed when its answer is sent; nothing here
decides how to answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class RecordedRequest:
    """One request. ``headers`` are as sent, Authorization included; ``status`` is None while the
    answer is pending or when the connection was dropped (``note`` says why, e.g. "dropped")."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    origin: str
    body_size: int | None
    time: float
    key: str | None = None
    status: int | None = None
    note: str | None = None

    @property
    def authorization(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                return value
        return None


@dataclass(frozen=True)
class UploadRecord:
    """One successful CDN upload and the sha256 of the bytes received."""

    file_id: str
    path: str
    file_name: str
    requested_name: str
    input_path: str
    size: int
    sha256: str
    on_conflict: str
    content_type: str | None


@dataclass
class Recorder:
    """All requests in arrival order, with query helpers."""

    _items: list[RecordedRequest] = field(default_factory=list)
    _uploads: list[UploadRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: RecordedRequest) -> RecordedRequest:
        with self._lock:
            self._items.append(item)
        return item

    def add_upload(self, item: UploadRecord) -> None:
        with self._lock:
            self._uploads.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._uploads.clear()

    def all(self) -> list[RecordedRequest]:
        """A snapshot of every request so far."""
        with self._lock:
            return list(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]

    def filter(self, method: str | None = None, path: str = ".*",
               origin: str | None = None) -> list[RecordedRequest]:
        """Requests whose method matches (any if None) and whose path matches the regex (fullmatch)."""
        pattern = re.compile(path)
        return [r for r in self.all()
                if (method is None or r.method == method.upper())
                and (origin is None or r.origin == origin) and pattern.fullmatch(r.path)]

    def count(self, method: str | None = None, path: str = ".*", origin: str | None = None) -> int:
        return len(self.filter(method, path, origin))

    def creates(self) -> list[RecordedRequest]:
        """``POST /runs`` requests, including rejected and dropped ones."""
        return self.filter("POST", r"/runs/?", "api")

    def polls(self, run_id: str | None = None) -> list[RecordedRequest]:
        """``GET /runs/{id}`` requests (of one run if ``run_id`` is given)."""
        return self.filter("GET", rf"/runs/{re.escape(run_id) if run_id else '[^/]+'}", "api")

    def cancel_requests(self, run_id: str | None = None) -> list[RecordedRequest]:
        """``POST /runs/{id}/cancel`` requests (of one run if ``run_id`` is given)."""
        return self.filter("POST", rf"/runs/{re.escape(run_id) if run_id else '[^/]+'}/cancel", "api")

    def downloads(self) -> list[RecordedRequest]:
        """Byte downloads: bearer ``/{id}/download``, presigned ``/p/...`` and the other host."""
        return [r for r in self.all() if r.method == "GET" and (
            (r.origin == "cdn" and (r.path.startswith("/p/") or r.path.endswith("/download")))
            or r.origin == "other")]

    def with_authorization(self, origin: str | None = None) -> list[RecordedRequest]:
        """Requests that carried an Authorization header (on ``origin`` if given)."""
        return [r for r in self.all() if r.authorization is not None
                and (origin is None or r.origin == origin)]

    def auth_leaks(self) -> list[RecordedRequest]:
        """Presigned or other-host requests that carried an Authorization header (a leaked key)."""
        return [r for r in self.with_authorization()
                if r.origin == "other" or (r.origin == "cdn" and r.path.startswith("/p/"))]

    def uploads(self) -> list[UploadRecord]:
        with self._lock:
            return list(self._uploads)
