"""A local Floyo-compatible server: API + CDN origins on loopback, scripted by knobs for tests,
or (gateway mode) executing each run on a ComfyUI worker for demos and self-hosted GPUs.

Import from here: ``ScriptedServer`` (async), ``ServerThread`` (synchronous tests), the
``Scenario`` knobs and the recorded shapes; ``GatewayServer`` (in a ``ServerThread(server=...)``) for gateway
mode. Never imported by ``floyo_client`` or ``nodes``, and it never talks to the real Floyo.
"""

# ``python -m floyo_server`` imports this file as a top-level package, where the relative
# imports below cannot work; ``__main__`` then reloads the pack as ``floyo_pack`` first.
if "." in __name__:
    from .gateway_server import GatewayServer
    from .images import generate as generate_output
    from .realism import CloudflarePage, Outage, Realism, Reset, Sent
    from .recorder import RecordedRequest, Recorder, UploadRecord
    from .records import FileRecord, RunRecord, save_prefixes
    from .scenario import DownloadFault, Fault, OutputSpec, RunError, Scenario, Step, parse_steps
    from .server import DEFAULT_KEYS, ScriptedServer, ServerThread

__all__ = [
    # servers
    "DEFAULT_KEYS", "ScriptedServer", "ServerThread", "GatewayServer",
    # knobs
    "DownloadFault", "Fault", "OutputSpec", "RunError", "Scenario", "Step", "parse_steps",
    # network realism
    "CloudflarePage", "Outage", "Realism", "Reset", "Sent",
    # records
    "FileRecord", "RecordedRequest", "Recorder", "RunRecord", "UploadRecord",
    # helpers
    "generate_output", "save_prefixes",
]
