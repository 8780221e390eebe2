"""File names for a run's outputs on the user's disk, whatever the server called them.

Pure functions (no I/O): every name returned is a single path component that is safe on Linux,
macOS and Windows, at most ``MAX_NAME_BYTES`` bytes of UTF-8 with its extension kept, unique
within the run case-insensitively (two outputs never share a file on a case-insensitive disk),
never a Windows device name, and never the ``.part`` twin of another output. Must not touch
the disk: ``nodes/run/collect.py`` and ``download.py`` decide where the names go.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 120
PART_SUFFIX = ".part"  # a download in progress: never the final name of an output
SIDECAR = "floyo-run.json"  # the run's provenance (provenance.py): never the name of an output
_UNSAFE = re.compile(r"[^\w.() -]+")  # \w is Unicode-aware: letters and digits of any script stay
_MAX_EXT_CHARS = 16  # a longer "extension" is part of the name, not a type
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]])


def _last_component(name: str) -> str:
    """What is left of a server's name after any folders, drive letters and control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/")
    name = "".join(c for c in name if c.isprintable())  # NUL, newlines, bidi controls
    return name.rsplit("/", 1)[-1].split(":")[-1]  # "C:x.png" and "x.png:stream" are not files


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXT_CHARS or not ext.strip():
        return name, ""
    return stem, "." + ext


def _fit(stem: str, ext: str, tail: str = "") -> str:
    """``stem + tail + ext`` cut from the stem's end to MAX_NAME_BYTES of UTF-8."""
    budget = MAX_NAME_BYTES - len((tail + ext).encode())
    while len(stem.encode()) > budget:
        stem = stem[:-1]
    return (stem.rstrip(" .") or "_") + tail + ext


def safe_name(name: str, index: int) -> str:
    """One output's name as a single safe path component (not yet unique within the run)."""
    base = _UNSAFE.sub("_", _last_component(name)).strip(" .")
    if not base:
        return f"output_{index:03d}"
    if base.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        base = "_" + base  # "CON.png" or "com1.tar.gz" would open a device on Windows
    if base.lower().endswith(PART_SUFFIX):
        base += "_"  # never the temporary twin of another output
    stem, ext = _split_ext(base)
    return _fit(stem, ext)


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def output_names(server_names: list[str]) -> list[str]:
    """A unique safe name per output, in order: a clash (ignoring case) gets ``_<n>`` before the
    extension, so ``a.png`` and ``A.PNG`` become ``a.png`` and ``A_1.PNG``; an output Floyo calls
    ``floyo-run.json`` is renamed so, as the sidecar holds that name."""
    names: list[str] = []
    used: set[str] = {_key(SIDECAR)}
    for index, raw in enumerate(server_names):
        name = safe_name(raw, index)
        stem, ext = _split_ext(name)
        n = index
        while _key(name) in used:
            name = _fit(stem, ext, f"_{n}")
            n += 1
        used.add(_key(name))
        names.append(name)
    return names


def path_inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing any name that is not one plain component of ``folder``."""
    path = folder / name
    if (name in ("", ".", "..") or "/" in name or "\\" in name or "\x00" in name
            or path.parent != folder or name.lower().endswith(PART_SUFFIX)):
        raise ValueError(f"unsafe output file name {name!r}")
    return path
