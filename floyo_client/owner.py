"""Which process a journal row belongs to: host, pid and the process's start time.

Several ComfyUIs may share one user folder (and so one journal). A row is *ours* when host, pid
and start time all match this process; a row of a process that is gone (pid missing, or reused
by a process that started at another time) may be taken over; a row of another live process is
left to it. Must not import ComfyUI or anything outside the standard library.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str | None  # None where the platform gives no start time: the pid alone decides

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_time(pid))

    def alive(self) -> bool:
        """Whether this owner is a running process on this host (another host: assume so)."""
        if self.host != socket.gethostname():
            return True  # a folder shared across machines: we cannot tell, so leave its runs alone
        if not _pid_alive(self.pid):
            return False
        return self.started is None or _start_time(self.pid) in (None, self.started)

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}"
