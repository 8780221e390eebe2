"""``python -m floyo_server --gateway <ComfyUI URL>`` (from the repo root): load the pack as
``floyo_pack``, run the gateway's command line.

The pack uses relative imports, so this file cannot import its siblings directly when run as a
top-level package; it loads the repo root under the fixed package name the tests use. Nothing
else belongs here.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

_PACKAGE = "floyo_pack"


def _load_pack() -> None:
    if _PACKAGE in sys.modules:
        return
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        _PACKAGE, root / "__init__.py", submodule_search_locations=[str(root)])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the pack at {root}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_PACKAGE] = module
    spec.loader.exec_module(module)


if __name__ == "__main__":
    _load_pack()
    sys.exit(importlib.import_module(f"{_PACKAGE}.floyo_server.cli").main())
