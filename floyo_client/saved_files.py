"""What a saved output file was when it was saved (path, size, sha256, what Floyo said it is), and
whether it still is.

Reuse and Fetch Outputs serve a paid run's files from disk instead of asking Floyo again. A file
someone edited, truncated or replaced since is not the run's result, so the journal keeps each
file's size and sha256 at the moment it was saved and the file is checked against them before it
is served; any difference (or a file without a recorded identity) means "fetch it again by run
id". It also keeps Floyo's name, MIME type, kind and input path of each file, so a file read back
from the journal is decoded and routed exactly as it was when fresh (an image known only by its
MIME type stays an image). Reads files (the caller runs it off the event loop); never writes,
deletes or downloads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import RunOutput

log = logging.getLogger(__name__)
CHUNK = 1 << 20  # read a megabyte at a time: memory stays flat for a 1 GiB video


@dataclass(frozen=True)
class SavedFile:
    path: str
    size: int
    sha256: str
    # what Floyo said of the file (None in rows saved before schema 7: the local name is all there is)
    name: str | None = None
    mime_type: str | None = None
    kind: str | None = None  # image, video, audio, file (media.kind_of), as decided when it was saved
    input_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The file's identity (the journal's ``files`` column)."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    def described(self) -> dict[str, Any]:
        """What Floyo said the file is (the journal's ``outputs`` column, schema 7)."""
        return {"name": self.name, "mime_type": self.mime_type, "kind": self.kind,
                "input_path": self.input_path}

    def as_output(self) -> RunOutput:
        """The output as Floyo described it, to decode and route as when it was fresh; known only
        by its local file name when the journal has no description."""
        return RunOutput(id="", file_name=self.name or Path(self.path).name, mime_type=self.mime_type,
                         input_path=self.input_path)

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


def fingerprint(paths: Iterable[str | Path], outputs: Sequence[RunOutput] | None = None) -> list[SavedFile]:
    """Each file's identity now (right after it was saved), with what Floyo said of it when
    ``outputs`` (in the order of ``paths``) is given."""
    paths = list(paths)
    described = list(outputs) if outputs is not None and len(outputs) == len(paths) else [None] * len(paths)
    return [_identity(Path(p), o) for p, o in zip(paths, described, strict=True)]


def _identity(path: Path, output: RunOutput | None) -> SavedFile:
    size, digest = path.stat().st_size, _sha256(path)
    if output is None:
        return SavedFile(str(path), size, digest)
    return SavedFile(str(path), size, digest, output.file_name, output.mime_type, output.kind,
                     output.input_path)


def changed(paths: Sequence[str], files: Sequence[SavedFile] | None) -> list[str]:
    """The paths that are no longer the files that were saved: missing, of another size or other
    bytes, or without a recorded identity (``files``: the journal's, ``RunRecord.files``)."""
    known = {f.path: f for f in files or ()}
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


def intact(paths: Sequence[str], files: Sequence[SavedFile] | None) -> bool:
    """Every path is still exactly the file that was saved (and there is at least one)."""
    gone = changed(paths, files)
    if gone:
        log.info("Floyo: %d saved output file(s) are missing or changed since they were saved (%s); "
                 "they are fetched again by run id, never served as the run's result.",
                 len(gone), ", ".join(Path(p).name for p in gone[:5]))
    return bool(paths) and not gone
