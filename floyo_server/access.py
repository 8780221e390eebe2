"""Who may use the gateway and how often: its API keys (flags, a keys file reloaded on demand, or
one made at first start and kept in the state folder), the per-key rate limiter, presigned-link
signatures, and the request log, written after auth and bounded.

Decides nothing about runs or files. A key is never logged, never put in an error message, and
the log holds no headers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEY_FILE_NAME = "api_key"


class FixedWindowLimiter:
    """``limit`` requests per key per window; a key's window opens at its first request."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int, window_s: float, now: float) -> float | None:
        """Count one request; None if allowed, else the seconds until the window resets."""
        start, used = self._windows.get(key, (now, 0))
        if now - start >= window_s:
            start, used = now, 0
        if used >= limit:
            self._windows[key] = (start, used)
            return max(window_s - (now - start), 0.0)
        self._windows[key] = (start, used + 1)
        return None

    def reset(self) -> None:
        self._windows.clear()


class Signer:
    """HMAC-SHA256 signatures for presigned URLs. Pass the gateway's kept ``secret`` so links
    stay valid across a restart; without one, a random per-process secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def sign(self, file_id: str, file_name: str, expires: int) -> str:
        message = f"{file_id}\n{file_name}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def valid(self, file_id: str, file_name: str, expires: int, sig: str) -> bool:
        return hmac.compare_digest(self.sign(file_id, file_name, expires), sig)

    def problem(self, file_id: str, file_name: str, query: Any, now: float) -> str | None:
        """Why a presigned link's ``expires``/``sig`` query does not open the file, else None."""
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return "Missing or malformed expires"
        if not self.valid(file_id, file_name, expires, query.get("sig", "")):
            return "Invalid signature"
        if expires < now:
            return "Request has expired"
        return None


def key_id(key: str) -> str:
    """A short, stable name of a key for logs: never the key itself."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def owner_of(key: str) -> str:
    """Who owns a run, file or upload: the key's SHA-256, so the state folder holds no key."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def read_keys_file(path: Path) -> set[str]:
    """One key per line; blank lines and ``#`` comments skipped. Raises OSError/ValueError."""
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            if any(c.isspace() for c in text):
                raise ValueError(f"{path}: a key line holds whitespace; put one key per line")
            keys.add(text)
    return keys


class Keys:
    """The accepted keys: those given, plus the keys file's as last read. ``reload`` (on SIGHUP)
    rereads the file; a file that cannot be read keeps the keys it had and says why."""

    def __init__(self, given: Iterable[str] = (), keys_file: Path | None = None) -> None:
        self._given = frozenset(given)
        self._file = keys_file
        self._from_file: frozenset[str] = frozenset()
        if keys_file is not None:
            self._from_file = frozenset(read_keys_file(keys_file))  # at start, a bad file stops us

    def reload(self) -> bool:
        """Reread the keys file; True when it was read."""
        if self._file is None:
            return False
        try:
            fresh = frozenset(read_keys_file(self._file))
        except (OSError, ValueError) as exc:
            log.error("keys file not reloaded, the previous keys stay: %s", exc)
            return False
        self._from_file = fresh
        log.info("keys file reloaded: %d key(s)", len(fresh))
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._given or key in self._from_file

    def __len__(self) -> int:
        return len(self._given | self._from_file)


def kept_key(state_dir: Path) -> tuple[str, bool]:
    """The key kept in the state folder, made (random, private file) when there is none:
    ``(key, made_now)``."""
    path = state_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    key = "flo_gw_" + secrets.token_urlsafe(24)
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    return key, True


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request as the log keeps it: no headers, no body, the key by ``key_id``."""

    origin: str
    method: str
    path: str
    key: str
    status: int


class RequestLog:
    """The last ``size`` authorised requests (0: off, the default outside tests). Thread-safe."""

    def __init__(self, size: int = 0) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=max(size, 0) or None)
        self._on = size > 0
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        if self._on:
            with self._lock:
                self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)
