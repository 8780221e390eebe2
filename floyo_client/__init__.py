"""ComfyUI-free core of the Floyo pack: configuration, HTTP client, runner, transforms.

Never imports ComfyUI, torch, PIL or numpy (tests/test_boundaries.py enforces it): the glue in
``nodes/`` passes plain callbacks for stopping, reporting status and sleeping. This module is the
glue's only way in: ``nodes/`` imports what ``__all__`` lists from here, never from a submodule
(tests/test_boundaries.py), so the core can move code between its modules freely.
"""

__version__ = "0.1.0"

from .client import FloyoClient, new_marker
from .config import (
    ENV_MAX_UPLOAD_MB,
    Config,
    is_loopback_host,
    key_status,
    load_config,
    max_batch_pixels,
    max_upload_bytes,
    outage_limit_s,
    write_key_file,
)
from .cost import partner_cost_usd, spent_text
from .credentials import find_secrets, refuse_secrets
from .download import download_file
from .download_limits import DownloadLimits
from .errors import (
    AuthError,
    BillingError,
    ConfigError,
    Conflict,
    DownloadError,
    FloTimeCapped,
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
from .hosted import Hosted, Page, Summary, list_params, list_workflows, override_targets
from .hosted import get_workflow as get_hosted_workflow
from .hosted import resolve as resolve_hosted
from .journal import GAVE_UP, Journal, JournalState, RunRecord
from .journal_pages import PageQuery, states
from .journal_spend import history_estimate
from .kept import unpack
from .keystate import KeyState, key_state
from .models import (
    EXPAND_FILE_URL,
    EXPAND_RUN_OUTPUT_URLS,
    FILE_URL_EXPIRY_RANGE_S,
    RUN_ID_RE,
    RUN_URL_EXPIRY_RANGE_S,
    VOCABULARIES,
    Phase,
    Run,
    RunOutput,
    classify_status,
)
from .outcome import CancelOutcome, CancelResult
from .output_tags import OutputNode, describe, node_of, route, silent, subfolder_of, tag
from .part_files import sweep_parts
from .policy import PollSchedule, RetryPolicy
from .provenance import png_entry, stamp
from .ratelimit import RateLimiter
from .recovery import RecoveryHost, fetch_files, recover_runs, saved_paths
from .reuse import reuse_identical
from .run_files import download_outputs
from .runner import (
    Hooks,
    Limits,
    RunHandle,
    RunUpdate,
    cancel_on_failure,
    cancel_on_stop,
    failure_of,
    never_cancel,
    run_name,
    start_run,
)
from .saved_files import SavedFile, fingerprint, intact
from .slots import ENV_MAX_FANOUT, max_fanout
from .spend import (
    BUDGET_ENVS,
    NO_HISTORY,
    Balance,
    Budgets,
    Estimate,
    Planned,
    budget_problem,
    shape_hash,
    shape_of,
)
from .tracked import RunMeta, journal_saved, journaled_hooks, run_tracked
from .transport import StopCheck, Transport, identify_host
from .ui_nodes import WAYS_OUT, build_missing, uninstalled_sinks
from .uploads import upload_name, upload_once
from .workflow import (
    Override,
    Partition,
    Prompt,
    WorkflowError,
    ancestors,
    apply_overrides,
    check_api_format,
    descendants,
    find_node,
    is_link,
    parse_embedded,
    partition,
    refuse_local_reruns,
    workflow_hash,
)


def open_client(config: Config, **transport_options: object) -> FloyoClient:
    """A client over a fresh Transport; create it in the event loop that will use it. It carries
    its key's state in this process (``key_state(config)``: limiter, run slots, list polls,
    uploads) unless ``state=`` gives another (a test's or a bench's own)."""
    return FloyoClient(Transport(config, **transport_options))  # type: ignore[arg-type]


__all__ = [
    "AuthError", "BillingError", "CancelOutcome", "CancelResult", "Config", "ConfigError", "Conflict",
    "DownloadError", "DownloadLimits", "ENV_MAX_UPLOAD_MB", "FloyoClient", "FloyoError", "GAVE_UP",
    "Hooks", "Interrupted", "Journal", "KeyState", "Limits", "NetworkError", "NotFound", "OutputNode",
    "Override",
    "Partition", "Phase", "PollSchedule", "Prompt", "ProtocolError", "RUN_ID_RE", "RateLimited",
    "RateLimiter", "RetryPolicy", "Run", "RunFailed", "RunHandle", "RunMayExist", "RunMeta", "RunOutput",
    "RunTimedOut", "RunUpdate", "SavedFile", "ServerError", "StopCheck", "Transport", "WAYS_OUT",
    "WorkflowError", "identify_host",
    # Floyo's wire words and limits, for the gateway (floyo_server/)
    "EXPAND_FILE_URL", "EXPAND_RUN_OUTPUT_URLS", "FILE_URL_EXPIRY_RANGE_S", "RUN_URL_EXPIRY_RANGE_S",
    "VOCABULARIES",
    "__version__", "ancestors", "apply_overrides", "build_missing", "cancel_on_failure",
    "cancel_on_stop", "check_api_format", "classify_status", "descendants", "describe", "download_file",
    "download_outputs", "error_from_response", "failure_of", "find_node", "find_secrets", "fingerprint",
    "intact", "is_link",
    "is_loopback_host", "journaled_hooks", "key_state", "key_status", "load_config",
    "max_batch_pixels", "max_upload_bytes", "never_cancel", "new_marker", "node_of", "open_client",
    "outage_limit_s", "parse_embedded", "partition", "partner_cost_usd", "redact", "refuse_local_reruns",
    "refuse_secrets", "route", "run_name", "run_tracked", "silent", "spent_text", "start_run",
    "subfolder_of", "sweep_parts", "tag", "uninstalled_sinks", "upload_name", "upload_once", "workflow_hash",
    "write_key_file",
    "ENV_MAX_FANOUT", "max_fanout",  # FLOYO_MAX_FANOUT, the runs one prompt may create
    # the run lifecycle and its journal
    "JournalState", "RecoveryHost", "RunRecord", "fetch_files", "journal_saved", "recover_runs",
    "reuse_identical", "saved_paths",
    # workflows kept on Floyo (GET /workflows): listed, fetched, resolved by id or team name
    "Hosted", "Page", "Summary", "get_hosted_workflow", "list_params", "list_workflows",
    "override_targets", "resolve_hosted",
    # the spend guard: estimate, balance, budgets, the FloTime cap
    "BUDGET_ENVS", "NO_HISTORY", "Balance", "Budgets", "Estimate", "FloTimeCapped", "Planned",
    "budget_problem", "history_estimate", "shape_hash", "shape_of",
    # the runs tab's pages, the kept workflows, outputs' provenance (#23)
    "PageQuery", "png_entry", "stamp", "states", "unpack",
]
