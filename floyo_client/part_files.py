"""The ``.part`` files of downloads: held while they are written, swept when their writer is gone.

A download writes ``<name>.<8 hex digits>.part`` beside its final name and holds an exclusive
``flock`` on it from creation until it is renamed into place or removed. The OS drops a dead
process's locks, so at startup ``sweep`` removes every such file under the output folder whose
lock it can take: a crash or a kill left it. A live download's file stays, in this ComfyUI or in
another one sharing the folder. Without ``flock`` (Windows) an open file cannot be deleted, which
keeps a live download's file the same way. Must not touch any other file or follow a symlink.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import threading
from pathlib import Path

from .names import PART_SUFFIX

try:
    import fcntl
except ImportError:  # Windows: deleting an open file fails, which is the lock there
    fcntl = None

log = logging.getLogger(__name__)
PART_NAME = re.compile(r"\.[0-9a-f]{8}" + re.escape(PART_SUFFIX) + r"$")
_live: set[str] = set()  # this process's parts, in case flock is per process on some system
_live_lock = threading.Lock()


def hold(fd: int, path: Path) -> bool:
    """Lock a ``.part`` file just created at ``path`` for as long as ``fd`` is open. False when a
    sweep removed it between its creation and this lock: the caller creates it again."""
    with _live_lock:
        _live.add(str(path))
    if fcntl is None:
        return True
    fcntl.flock(fd, fcntl.LOCK_EX)  # a sweep holds it only while it unlinks
    return os.fstat(fd).st_nlink > 0


def release(path: Path) -> None:
    """Forget ``path`` once its descriptor is closed (the lock goes with the descriptor)."""
    with _live_lock:
        _live.discard(str(path))


def sweep_parts(root: Path) -> int:
    """Remove the ``.part`` files under ``root`` that no live download holds; how many went."""
    removed = 0
    for folder, _, files in os.walk(root):  # never follows a symlinked folder
        for name in files:
            path = os.path.join(folder, name)
            if PART_NAME.search(name) and _unheld(path):
                removed += 1
    if removed:
        log.info("Floyo: removed %d unfinished download(s) (.part) left by a crash under %s",
                 removed, root)
    return removed


def _unheld(path: str) -> bool:
    """Remove ``path`` if no download holds it; True when it went."""
    with _live_lock:
        if path in _live:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # gone meanwhile, a symlink, or not ours to open
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # a live download holds it
            # the name must still be the file we locked: a finished download renamed it away
            with contextlib.suppress(OSError):
                if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
                    return False
        else:
            os.close(fd)  # Windows deletes no open file, ours included
            fd = -1
        os.unlink(path)
        return True
    except OSError:  # in use (Windows), or gone meanwhile
        return False
    finally:
        if fd >= 0:
            os.close(fd)
