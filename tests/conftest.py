"""Test-wide setup: load the pack as the package ``floyo_pack``.

The pack root is never put on ``sys.path``: its ``nodes/`` folder would shadow ComfyUI's
``nodes`` module. Loading it under a fixed package name makes its relative imports work.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_pack() -> None:
    if "floyo_pack" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "floyo_pack", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["floyo_pack"] = module
    spec.loader.exec_module(module)


_load_pack()


def _load_scripted() -> None:
    """The scripted Floyo stand-in (tests/floyo_scripted) as ``floyo_scripted``. Loaded by path:
    putting tests/ on sys.path would let its ``server`` folder shadow ComfyUI's ``server``."""
    if "floyo_scripted" in sys.modules:
        return
    folder = ROOT / "tests" / "floyo_scripted"
    spec = importlib.util.spec_from_file_location("floyo_scripted", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["floyo_scripted"] = module
    spec.loader.exec_module(module)


_load_scripted()
