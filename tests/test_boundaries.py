"""The core stays ComfyUI-free so it can be tested and reused without ComfyUI: it never imports
ComfyUI, torch, PIL or numpy, and never reaches up into the pack's glue."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"comfy", "comfy_api", "comfy_execution", "comfy_extras", "folder_paths", "server", "nodes",
             "execution", "torch", "PIL", "numpy", "requests"}


def _imports(path: Path) -> list[tuple[int, str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or "", node.level))
    return found


def _resolved(path: Path, node: ast.ImportFrom) -> str:
    """The module a relative import names, as a dotted path from the pack's root (``nodes.run.collect``)."""
    package = list(path.relative_to(ROOT).parent.parts)
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, *([node.module] if node.module else [])])


def test_core_imports_no_comfyui_torch_pil_or_numpy():
    offenders = []
    for path in sorted((ROOT / "floyo_client").rglob("*.py")):
        for line, module, level in _imports(path):
            top = module.split(".")[0]
            if (level == 0 and top in FORBIDDEN) or level > 1:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {'.' * level}{module}")
    assert offenders == []


def test_boundary_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom ..nodes import x\n")
    assert [(m, lvl) for _, m, lvl in _imports(bad)] == [("torch", 0), ("nodes", 2)]


def test_pack_code_uses_relative_imports_for_its_own_packages():
    offenders = []
    for folder in ("floyo_client", "nodes", "floyo_server"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, module, level in _imports(path):
                if level == 0 and module.split(".")[0] in {"floyo_client", "floyo_server", "floyo_pack"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert [o for o in offenders if "__main__" not in o] == []


def test_the_version_the_user_agent_names_is_the_packages_version():
    import tomllib
    from floyo_pack.floyo_client import __version__
    from floyo_pack.floyo_client.transport import USER_AGENT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__ and f"floyo-comfyui/{__version__}" in USER_AGENT
    assert not any(d.startswith("torch") for d in project["dependencies"])


def test_glue_imports_the_core_only_through_its_facade():
    """nodes/ sees floyo_client only as its package: ``from ..floyo_client import X`` with X in
    ``__all__``, never ``from ..floyo_client.<module> import X``, so the core can move code
    between its modules without breaking the glue."""
    from floyo_pack import floyo_client

    offenders = []
    for path in sorted([ROOT / "__init__.py", *(ROOT / "nodes").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            where, module = f"{path.relative_to(ROOT)}:{node.lineno}", _resolved(path, node)
            if module.startswith("floyo_client."):
                offenders.append(f"{where} imports {module}")
            elif module == "floyo_client":
                offenders += [f"{where} imports {a.name}, which the facade does not export"
                              for a in node.names if a.name not in floyo_client.__all__]
    assert offenders == []


def _imported_test_modules(path: Path) -> list[str]:
    """The test modules (``test_*``) a file imports, however it spells the import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):  # only the suite's own modules: aiohttp.test_utils is fine
            found += [a.name for a in node.names
                      if a.name.startswith("tests.") and a.name.rsplit(".", 1)[-1].startswith("test_")]
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tests")):
            module = node.module or ""
            if module.rsplit(".", 1)[-1].startswith("test_"):
                found.append(module)
            else:
                found += [a.name for a in node.names if a.name.startswith("test_")]
    return found


def test_no_test_module_imports_another_shared_data_lives_in_conftest():
    offenders = [f"{path.relative_to(ROOT)} imports {', '.join(found)}"
                 for path in sorted((ROOT / "tests").rglob("*.py"))
                 if (found := _imported_test_modules(path))]
    assert offenders == []


def test_the_test_import_check_catches_each_spelling(tmp_path):
    bad = tmp_path / "test_x.py"
    bad.write_text("from .test_nodes_e2e import save\nfrom . import test_fault_suite_e2e as suite\n"
                   "import tests.core.test_runner\nfrom tests.core.test_journal import W\n"
                   "from .conftest import K\nfrom aiohttp.test_utils import TestServer\n")
    assert _imported_test_modules(bad) == ["test_nodes_e2e", "test_fault_suite_e2e", "tests.core.test_runner",
                                           "tests.core.test_journal"]
