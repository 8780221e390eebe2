"""ComfyUI-free core of the Floyo pack: configuration, HTTP client, runner, transforms.

Never imports ComfyUI, torch, PIL or numpy (tests/test_boundaries.py enforces it): the glue in
``nodes/`` passes plain callbacks for stopping, reporting status and sleeping.
"""

__version__ = "0.1.0"

from .client import FloyoClient, new_marker
from .config import Config, key_status, load_config, write_key_file
from .download import DownloadLimits, download_file
from .errors import (
    AuthError,
    BillingError,
    ConfigError,
    Conflict,
    DownloadError,
    FloyoError,
    Interrupted,
    NetworkError,
    NotFound,
    ProtocolError,
    RateLimited,
    RunFailed,
    RunMayExist,
    RunTimedOut,
    ServerError,
    error_from_response,
    redact,
)
from .models import Phase, Run, RunOutput, classify_status
from .outcome import CancelOutcome, CancelResult
from .policy import PollSchedule, RetryPolicy
from .ratelimit import RateLimiter, limiter_for
from .run_files import download_outputs
from .runner import (
    Hooks,
    Limits,
    RunHandle,
    RunUpdate,
    cancel_on_failure,
    cancel_on_stop,
    never_cancel,
    run_name,
    start_run,
)
from .transport import Transport


def open_client(config: Config, **transport_options: object) -> FloyoClient:
    """A client over a fresh Transport; create it in the event loop that will use it."""
    return FloyoClient(Transport(config, **transport_options))  # type: ignore[arg-type]


__all__ = [
    "AuthError", "BillingError", "CancelOutcome", "CancelResult", "Config", "ConfigError", "Conflict",
    "DownloadError", "DownloadLimits", "FloyoClient", "FloyoError", "Hooks", "Interrupted", "Limits",
    "NetworkError", "NotFound", "Phase", "PollSchedule", "ProtocolError", "RateLimited", "RateLimiter",
    "RetryPolicy", "Run", "RunFailed", "RunHandle", "RunMayExist", "RunOutput", "RunTimedOut",
    "RunUpdate", "ServerError", "Transport", "__version__", "cancel_on_failure", "cancel_on_stop",
    "classify_status", "download_file",
    "download_outputs", "error_from_response", "key_status", "limiter_for", "load_config", "never_cancel",
    "new_marker", "open_client", "redact", "run_name", "start_run", "write_key_file",
]
