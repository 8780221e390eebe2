"""The outcome of a remote cancel: one typed value from the client to the journal, the event and the toast.

``CancelResult``'s values are a wire contract: the journal stores them (``cancel_result``), the
``floyo.run`` event carries them (``cancel``) and web/floyo.js maps each to its toast in one table
(tests/glue/test_cancel_toasts.py keeps the two in step). Holds no I/O and no run logic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CancelResult(enum.Enum):
    CANCELLED = "cancelled"
    ALREADY_FINISHED = "already finished"
    NOT_FOUND = "not found"
    UNCONFIRMED = "could not be confirmed"


@dataclass(frozen=True)
class CancelOutcome:
    result: CancelResult
    status: str | None = None  # the run's status when it had already finished
    detail: str | None = None

    def describe(self) -> str:
        if self.result is CancelResult.ALREADY_FINISHED:
            return f"already finished ({self.status or 'unknown status'})"
        text = self.result.value
        return f"{text}: {self.detail}" if self.detail else text
