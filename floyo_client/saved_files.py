"""What a saved output file was when it was saved (path, size, sha256), and whether it still is.

Reuse and Fetch Outputs serve a paid run's files from disk instead of asking Floyo again. A file
someone edited, truncated or replaced since is not the run's result, so the journal keeps each
file's size and sha256 at the moment it was saved and the file is checked against them before it
is served; any difference (or a file without a recorded identity) means "fetch it again by run
id". Reads files (the caller runs it off the event loop); never writes, deletes or downloads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CHUNK = 1 << 20  # read a megabyte at a time: memory stays flat for a 1 GiB video


@dataclass(frozen=True)
class SavedFile:
    path: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> SavedFile | None:
        """None for anything that is not a whole record (a hand-edited journal, say)."""
        if not isinstance(data, dict):
            return None
        path, size, digest = data.get("path"), data.get("size"), data.get("sha256")
        if isinstance(path, str) and isinstance(size, int) and isinstance(digest, str):
            return cls(path, size, digest)
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(paths: Iterable[str | Path]) -> list[SavedFile]:
    """Each file's identity now (right after it was saved)."""
    return [SavedFile(str(p), Path(p).stat().st_size, _sha256(Path(p))) for p in paths]


def changed(paths: Sequence[str], files: Sequence[Any] | None) -> list[str]:
    """The paths that are no longer the files that were saved: missing, of another size or other
    bytes, or without a recorded identity (``files`` is the journal's ``files`` column, read)."""
    known = {f.path: f for f in (SavedFile.from_json(x) for x in files or ()) if f is not None}
    different = []
    for path in paths:
        saved = known.get(path)
        try:
            same = saved is not None and Path(path).stat().st_size == saved.size \
                and _sha256(Path(path)) == saved.sha256
        except OSError:
            same = False
        if not same:
            different.append(path)
    return different


def intact(paths: Sequence[str], files: Sequence[Any] | None) -> bool:
    """Every path is still exactly the file that was saved (and there is at least one)."""
    gone = changed(paths, files)
    if gone:
        log.info("Floyo: %d saved output file(s) are missing or changed since they were saved (%s); "
                 "they are fetched again by run id, never served as the run's result.",
                 len(gone), ", ".join(Path(p).name for p in gone[:5]))
    return bool(paths) and not gone
