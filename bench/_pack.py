"""Load the pack as ``floyo_pack`` and the tests' scripted server as ``floyo_scripted``, the way
the tests do (tests/conftest.py).

The pack root is never put on ``sys.path``: its ``nodes/`` folder would shadow ComfyUI's ``nodes``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_pack() -> None:
    if "floyo_pack" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "floyo_pack", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["floyo_pack"] = module
    spec.loader.exec_module(module)


def load_scripted() -> None:
    """The tests' scripted Floyo server (tests/floyo_scripted) as ``floyo_scripted``."""
    if "floyo_scripted" in sys.modules:
        return
    folder = ROOT / "tests" / "floyo_scripted"
    spec = importlib.util.spec_from_file_location("floyo_scripted", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["floyo_scripted"] = module
    spec.loader.exec_module(module)


load_pack()
load_scripted()
