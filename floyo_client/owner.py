"""Which process a journal row belongs to: the installation's instance id, host, pid and the
process's start time.

Several ComfyUIs may share one user folder (and so one journal). A row is *ours* when all four
match this process; a row of a process that is gone may be taken over; a row of another live
process is left to it. "Gone" on this host: its pid is missing, or reused by a process that
started at another time. On another host, pids say nothing: a row of *this installation* (the
same instance id) under another host name was written by a container since re-created (Docker
gives each new container a new host name), so it is gone; a row of another installation on
another host is left alone, since we cannot tell. The instance id is kept in ``instance_id``
beside the journal (``<user dir>/floyo/``), made once; ``FLOYO_INSTANCE_ID`` overrides it (two
ComfyUIs running at once on different hosts over one shared folder must each set their own).
Rows from before instance ids have none: they are judged by host and pid, as they were.
Must not import ComfyUI or anything outside the standard library.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
ENV_INSTANCE_ID = "FLOYO_INSTANCE_ID"
INSTANCE_FILE = "instance_id"
MAX_INSTANCE_ID = 200


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))  # type: ignore[attr-defined]
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _read_id(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text[:MAX_INSTANCE_ID] or None


def _make_id(path: Path) -> str:
    """Write a new id whole under a temporary name, then link it into place: a ComfyUI starting at
    the same moment either wins the link or reads the winner's id, never a half-written file."""
    new = uuid.uuid4().hex
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{new[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read_id(path) or new
    except OSError:  # no hard links on this file system (some network mounts): plain rename, and
        # two first starts racing there may each use their own id for one session; the last one stays
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return new


def instance_id(folder: Path, env: Mapping[str, str] | None = None) -> str | None:
    """This installation's id: ``FLOYO_INSTANCE_ID``, else the one kept in ``folder``, made on
    first use. None (rows then owned by host and pid alone) when the folder can't hold one."""
    value = (os.environ if env is None else env).get(ENV_INSTANCE_ID, "").strip()
    if value:
        return value[:MAX_INSTANCE_ID]
    path = folder / INSTANCE_FILE
    try:
        return _read_id(path) or _make_id(path)
    except OSError as e:
        log.warning("Floyo: could not keep an instance id in %s (%s); runs are owned by host name "
                    "this session, so a new host name would not resume them. Set %s to fix it.",
                    path, e, ENV_INSTANCE_ID)
        return None


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str | None  # None where the platform gives no start time: the pid alone decides
    instance: str | None = None  # None on rows written before instance ids

    @classmethod
    def current(cls, instance: str | None = None) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_time(pid), instance)

    def gone(self, me: Owner) -> bool:
        """Whether this owner is a process that no longer runs, as far as ``me`` can tell."""
        if self == me:
            return False
        if self.host != me.host:  # this installation under a new host name: a re-created container
            return self.instance is not None and self.instance == me.instance
        if not _pid_alive(self.pid):
            return True
        return self.started is not None and _start_time(self.pid) not in (None, self.started)

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}"
