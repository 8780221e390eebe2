"""docs/architecture.md maps every module of the pack in one line, in its room.

A newcomer finds the room for a change by reading that map; a module missing from it (or a line
left behind by a module that moved) sends them to guess. So the map and the tree must list the
same modules.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("floyo_client/", "nodes/", "floyo_server/")


def mapped_modules(doc: str) -> list[str]:
    """The module paths the map under "## Layers and rooms" names: a line at the left margin names a
    folder (``nodes/run/``) or a top-level file; an indented ``name.py`` belongs to the folder above."""
    block = re.search(r"^## Layers and rooms\n.*?^```\n(.*?)^```", doc, re.M | re.S)
    assert block, 'docs/architecture.md has no "## Layers and rooms" map'
    found, folder = [], ""
    for line in block.group(1).splitlines():
        token = line.split(" ", 1)[0] if not line.startswith(" ") else line.split()[0]
        if not line.startswith(" ") and token:
            folder = token if token.endswith("/") else ""
            if token.endswith(".py"):
                found.append(token)
        elif token.endswith(".py") and folder.startswith(SHIPPED):
            found.append(folder + token)
    return found


def _modules() -> list[str]:
    files = (p for folder in SHIPPED for p in (ROOT / folder).rglob("*.py"))
    return ["__init__.py", *sorted(str(p.relative_to(ROOT)) for p in files)]


def test_the_architecture_map_names_every_module_of_the_pack_once():
    mapped = mapped_modules((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert sorted(set(_modules()) - set(mapped)) == [], "modules the map does not name"
    assert sorted(set(mapped) - set(_modules())) == [], "map lines for modules that do not exist"
    assert sorted(m for m in set(mapped) if mapped.count(m) > 1) == []


def test_the_map_reader_files_each_line_under_its_room():
    doc = ("## Layers and rooms\n\n```\n__init__.py   entry\nnodes/run/    a room\n  collect.py   saves\n"
           "  - a group label\n  fanout.py    groups\nweb/floyo.js  not python\n"
           "  x.py  under web/, not shipped\nnodes/        glue\n  comfy.py     ComfyUI\n```\n")
    assert mapped_modules(doc) == ["__init__.py", "nodes/run/collect.py", "nodes/run/fanout.py",
                                   "nodes/comfy.py"]
