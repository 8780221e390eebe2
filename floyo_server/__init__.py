"""A local Floyo-compatible server for tests: API + CDN origins on loopback, scripted by knobs.

Import from here: ``ScriptedServer`` (async), ``ServerThread`` (synchronous tests), the
``Scenario`` knobs and the recorded shapes. Test-only: never imported by ``floyo_client`` or
``nodes``, and it never talks to the real Floyo.
"""

# ``python -m floyo_server`` imports this file as a top-level package, where the relative
# imports below cannot work; ``__main__`` then reloads the pack as ``floyo_pack`` first.
if "." in __name__:
    from .images import generate as generate_output
    from .recorder import RecordedRequest, Recorder, UploadRecord
    from .records import FileRecord, RunRecord, save_prefixes
    from .scenario import DownloadFault, Fault, OutputSpec, RunError, Scenario, Step, parse_steps
    from .server import DEFAULT_KEYS, ScriptedServer, ServerThread

__all__ = [
    # servers
    "DEFAULT_KEYS", "ScriptedServer", "ServerThread",
    # knobs
    "DownloadFault", "Fault", "OutputSpec", "RunError", "Scenario", "Step", "parse_steps",
    # records
    "FileRecord", "RecordedRequest", "Recorder", "RunRecord", "UploadRecord",
    # helpers
    "generate_output", "save_prefixes",
]
