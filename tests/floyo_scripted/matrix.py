"""The CI matrix of ComfyUIs (.ci/comfyui-matrix.txt) and where .ci/setup.sh puts each leg.

Shared by the end-to-end harness (tests/e2e/support/comfy.py) and the demo (demo/demo.py), which
pick a leg by name. Reads files only; must not start or install anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MATRIX = REPO / ".ci" / "comfyui-matrix.txt"


@dataclass(frozen=True)
class Leg:
    name: str  # the ComfyUI version, e.g. "0.33.0"
    source: str
    frontend: str
    folder: Path  # holds venv/ and ComfyUI/

    @property
    def python(self) -> Path:
        return self.folder / "venv" / "bin" / "python"

    @property
    def comfyui(self) -> Path:
        return self.folder / "ComfyUI"


def legs(ci_dir: Path) -> list[Leg]:
    """Every leg, the base first (its venv runs pytest; the others live in ``comfyui-<leg>/``)."""
    rows = [line.split()[:3] for line in MATRIX.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    return [Leg(name, source, frontend, ci_dir if i == 0 else ci_dir / f"comfyui-{name}")
            for i, (name, source, frontend) in enumerate(rows)]


def leg(ci_dir: Path, name: str | None) -> Leg:
    """The leg called ``name`` (a prefix such as "0.33" will do), or the base leg for None."""
    found = legs(ci_dir)
    if not name:
        return found[0]
    matches = [g for g in found if g.name == name or g.name.startswith(name + ".")]
    if len(matches) != 1:
        raise ValueError(f"no single ComfyUI {name!r} in {MATRIX.name}: it lists "
                         f"{', '.join(g.name for g in found)}")
    return matches[0]
