"""The scripted Floyo stand-in for the tests and benches: API + CDN origins on loopback, scripted
by knobs, with the network-realism layer and HTTPS from a test CA. Not part of the published pack
(the gateway, which is, lives in ``floyo_server/``).

Import from here: ``ScriptedServer`` (async), ``ServerThread`` (synchronous tests), the
``Scenario`` knobs and the recorded shapes; ``GatewayServer`` (in a ``ServerThread(server=...)``) for gateway
mode. Never imported by ``floyo_client`` or ``nodes``, and it never talks to the real Floyo.
"""

import importlib.util
import sys
from pathlib import Path


def _load_pack() -> None:
    """The pack under the package name the tests use (its own folder is never on sys.path)."""
    if "floyo_pack" in sys.modules:
        return
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("floyo_pack", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["floyo_pack"] = module
    spec.loader.exec_module(module)


_load_pack()

from floyo_pack.floyo_server.gateway_server import GatewayServer  # noqa: E402

from .images import generate as generate_output  # noqa: E402
from .realism import CloudflarePage, LateBody, Outage, Realism, Reset, Sent  # noqa: E402
from .recorder import RecordedRequest, Recorder, UploadRecord  # noqa: E402
from .records import FileRecord, RunRecord, save_prefixes  # noqa: E402
from .scenario import (  # noqa: E402
    DownloadFault,
    Fault,
    OutputSpec,
    RunError,
    Scenario,
    Step,
    parse_steps,
)
from .server import DEFAULT_KEYS, ScriptedServer, ServerThread  # noqa: E402

__all__ = [
    # servers
    "DEFAULT_KEYS", "ScriptedServer", "ServerThread", "GatewayServer",
    # knobs
    "DownloadFault", "Fault", "OutputSpec", "RunError", "Scenario", "Step", "parse_steps",
    # network realism
    "CloudflarePage", "LateBody", "Outage", "Realism", "Reset", "Sent",
    # records
    "FileRecord", "RecordedRequest", "Recorder", "RunRecord", "UploadRecord",
    # helpers
    "generate_output", "save_prefixes",
]
