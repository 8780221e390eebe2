"""Typed errors of the Floyo client, and the one place an HTTP answer becomes one of them.

Every message here is safe to show a user: ``redact`` removes API keys and presigned-URL
query strings before text from a response or an exception reaches a message. Nothing here
does I/O or logging.
"""

from __future__ import annotations

import re

from .models import Run, error_text
from .outcome import CancelOutcome

_KEY_RE = re.compile(r"flo_[A-Za-z0-9_\-]+")
_BEARER_RE = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=\-]+")
_QUERY_RE = re.compile(r"(https?://[^\s?#\"']+)\?[^\s\"']*")


_known_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Make every later ``redact`` (so every FloyoError message) remove ``secret`` too: keys that
    do not look like ``flo_…`` would otherwise slip past the patterns below."""
    if len(secret) >= 8:
        _known_secrets.add(secret)


def redact(text: str, *secrets: str | None) -> str:
    """Remove API keys, bearer tokens and URL query strings (presigned tokens) from ``text``."""
    for secret in (*secrets, *_known_secrets):
        if secret:
            text = text.replace(secret, "[redacted]")
    text = _BEARER_RE.sub("Bearer [redacted]", text)
    text = _QUERY_RE.sub(r"\1?[redacted]", text)
    return _KEY_RE.sub("flo_[redacted]", text)


class FloyoError(Exception):
    """Base of every error the client raises; ``str()`` is safe to show a user.

    An error is never changed once raised: what is learnt later (the remote cancel its run led
    to, what a search for a lost run found) makes a new error of the same type with the same
    fields (``after_cancel``, ``explained``), raised from the first."""

    def __init__(self, message: str, *, status: int | None = None, run_id: str | None = None,
                 outcome: CancelOutcome | None = None):
        super().__init__(redact(message))
        self.status = status
        self.run_id = run_id
        self._outcome = outcome

    @property
    def message(self) -> str:
        """What went wrong, without the cancel outcome ``str()`` adds."""
        return str(self.args[0])

    @property
    def outcome(self) -> CancelOutcome | None:
        """The remote cancel this error led to, fixed when the error was made (None: none)."""
        return self._outcome

    def __str__(self) -> str:
        if self._outcome is None:
            return self.message
        return f"{self.message} Remote run cancel: {self._outcome.describe()}."

    def after_cancel(self, outcome: CancelOutcome) -> FloyoError:
        """This error, as a new one that also carries the remote cancel it led to."""
        return self._twin(self.message, outcome)

    def explained(self, more: str) -> FloyoError:
        """This error, as a new one whose message goes on with ``more`` (redacted too)."""
        return self._twin(redact(f"{self.message} {more}"), self._outcome)

    def _twin(self, message: str, outcome: CancelOutcome | None) -> FloyoError:
        # __new__ sets args without __init__, so a subclass's own fields (marker, run, ...) are
        # copied as they are instead of being rebuilt from keyword arguments it may not take
        twin = type(self).__new__(type(self), message)
        twin.__dict__.update(self.__dict__)
        twin._outcome = outcome
        return twin


class ConfigError(FloyoError):
    """No key, or a base URL we refuse to use."""


class AuthError(FloyoError):
    """The API key was refused (401/403)."""


class BillingError(FloyoError):
    """Not enough FloTime or API-wallet credit."""


class NotFound(FloyoError):
    """The run or file does not exist for this key's team."""


class Conflict(FloyoError):
    """409: e.g. cancelling a run that already finished; ``current_status`` from the body."""

    def __init__(self, message: str, *, current_status: str | None = None, **kw):
        super().__init__(message, **kw)
        self.current_status = current_status


class RateLimited(FloyoError):
    """429 after the client's own retries; ``retry_after`` in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(FloyoError):
    """5xx from Floyo."""


class NetworkError(FloyoError):
    """The API could not be reached, or the connection broke."""


class OutageTooLong(NetworkError):
    """Floyo stayed unreachable past the outage limit while a run was watched; the run was left
    running (not cancelled) and journaled, so its outputs can be fetched later."""


class ProtocolError(FloyoError):
    """A 2xx answer we could not understand."""


class AnswerTooLarge(ProtocolError):
    """An API answer above the transport's size cap (MAX_JSON_BYTES); it was not read."""


class RunListUnavailable(FloyoError):
    """Floyo has no run list (``GET /runs`` answered 404/405): a lost create cannot be looked up."""


class RunMayExist(FloyoError):
    """The create request may have reached Floyo but no answer came back: never resent."""

    def __init__(self, message: str, *, marker: str, **kw):
        super().__init__(message, **kw)
        self.marker = marker


class RunFailed(FloyoError):
    """The run ended failed (or for lack of balance); the message is Floyo's."""

    def __init__(self, message: str, *, run: Run | None = None, **kw):
        super().__init__(message, **kw)
        self.run = run


class RunTimedOut(FloyoError):
    """The node's own deadline passed; the run was cancelled (best effort)."""


class FloTimeCapped(RunTimedOut):
    """The run passed its FloTime cap (``max_flotime_s``); cancelled the way a timeout is."""

    @classmethod
    def of(cls, run_id: str, cap: float, spent_s: float, reported: bool) -> FloTimeCapped:
        how = "as Floyo reported it" if reported else "counted here since it began processing"
        return cls(f"Floyo run {run_id} passed its FloTime cap (max_flotime_s={cap:g}), so it was "
                   f"cancelled: it had used about {spent_s:.1f} s of FloTime ({how}) by then. Raise "
                   "max_flotime_s, or set it to 0 for no cap.", run_id=run_id)


class Interrupted(FloyoError):
    """The user stopped the run (ComfyUI interrupt or the node's Cancel button). ``outcome``: the
    remote cancel it led to, fixed at construction (None: nothing needed cancelling)."""


class DownloadError(FloyoError):
    """An output could not be fetched (too large, truncated, expired, refused)."""


_BY_STATUS: dict[int, type[FloyoError]] = {
    401: AuthError, 403: AuthError, 402: BillingError, 404: NotFound, 409: Conflict, 429: RateLimited,
}
_NEXT_STEP: dict[type[FloyoError], str] = {
    AuthError: "Floyo refused the API key: check FLOYO_API_KEY or set the key again in the Floyo settings.",
    BillingError: "Floyo says the balance is too low: add FloTime or API credits to the team.",
    RateLimited: "Floyo's rate limit (100 requests/minute per key) was hit: wait a minute and retry.",
    ServerError: "Floyo had a server problem: try again in a minute.",
}
_BILLING_WORDS = ("balance", "credit", "insufficient")


def error_from_response(
    status: int, body: object, *, retry_after: float | None = None, run_id: str | None = None
) -> FloyoError:
    """Build the typed error for a non-2xx Floyo answer."""
    detail = error_text(body) or f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else FloyoError)
    if status == 403 and any(w in detail.lower() for w in _BILLING_WORDS):
        cls = BillingError  # 402/403 with balance/credit text (docs/floyo-api.md, "Errors")
    step = _NEXT_STEP.get(cls)
    if cls is NotFound and run_id:
        step = f"Floyo has no run {run_id} for this API key's team: check the run id."
    message = f"{step} (Floyo: {detail})" if step else f"Floyo answered HTTP {status}: {detail}"
    kw = {"status": status, "run_id": run_id}
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kw)
    if cls is Conflict:
        current = body.get("status") if isinstance(body, dict) else None
        return Conflict(message, current_status=current if isinstance(current, str) else None, **kw)
    return cls(message, **kw)
