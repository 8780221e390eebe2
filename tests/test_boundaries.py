"""The core stays ComfyUI-free so it can be tested and reused without ComfyUI: it never imports
ComfyUI, torch, PIL or numpy, and never reaches up into the pack's glue."""

from __future__ import annotations

import ast
import re
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
            if not isinstance(node, ast.ImportFrom) or node.level != 2 or not node.module:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if node.module.startswith("floyo_client."):
                offenders.append(f"{where} imports ..{node.module}")
            elif node.module == "floyo_client":
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


def test_no_test_module_imports_another_shared_data_lives_in_conftest_or_support():
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


# Conftests that hold fixtures and hooks only: what their tests share besides fixtures lives in
# support modules next to them (tests/e2e/support/), so a conftest is never imported as a library.
FIXTURES_ONLY_CONFTESTS = [ROOT / "tests" / "e2e" / "conftest.py"]


def _fixture_names(conftest: Path) -> set[str]:
    """The functions a conftest declares with ``@pytest.fixture`` (bare or called)."""
    names = set()
    for node in ast.parse(conftest.read_text(), str(conftest)).body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr == "fixture":
                    names.add(node.name)
    return names


def _conftest_of(path: Path, node: ast.ImportFrom) -> Path | None:
    """The conftest.py a ``from X import ...`` names, relative (``.conftest``) or absolute."""
    module = node.module or ""
    if node.level:
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
    else:
        base = ROOT
    parts = module.split(".") if module else []
    if parts and parts[-1] == "conftest":
        return base.joinpath(*parts[:-1], "conftest.py")
    if any(a.name == "conftest" for a in node.names):  # ``from . import conftest``
        return base.joinpath(*parts, "conftest.py")
    return None


def _conftest_library_imports(path: Path, fixtures_only: list[Path]) -> list[str]:
    """The names ``path`` imports from a fixtures-only conftest that are not its fixtures (the
    whole module, for ``import ...conftest`` and ``from . import conftest``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.rsplit(".", 1)[-1] == "conftest"
                      and ROOT.joinpath(*a.name.split(".")[:-1], "conftest.py") in fixtures_only]
        elif isinstance(node, ast.ImportFrom) and (conftest := _conftest_of(path, node)) in fixtures_only:
            if (node.module or "").rsplit(".", 1)[-1] != "conftest":
                found.append(f"{node.module or ''}.conftest".lstrip("."))
            else:
                found += [a.name for a in node.names if a.name not in _fixture_names(conftest)]
    return found


def test_e2e_tests_import_shared_helpers_from_support_modules_never_from_the_conftest():
    offenders = [f"{path.relative_to(ROOT)} imports {', '.join(found)} from a conftest"
                 for path in sorted((ROOT / "tests").rglob("*.py"))
                 if "node_modules" not in path.parts
                 and (found := _conftest_library_imports(path, FIXTURES_ONLY_CONFTESTS))]
    assert offenders == []


def test_the_conftest_check_allows_fixtures_and_support_modules_and_catches_library_names(tmp_path):
    suite = tmp_path / "e2e"
    suite.mkdir()
    conftest = suite / "conftest.py"
    conftest.write_text("import pytest\nREMOTE = {}\n@pytest.fixture(scope='session')\ndef comfy():\n"
                        "    return 1\n@pytest.fixture\ndef floyo():\n    return 2\n")
    test = suite / "test_x.py"
    test.write_text("from .conftest import REMOTE, comfy\nfrom .support.graphs import save\n"
                    "from . import conftest\nfrom .support import comfy as c\n"
                    "def test_y():\n    from .conftest import Socket, floyo\n")
    assert _fixture_names(conftest) == {"comfy", "floyo"}
    assert _conftest_library_imports(test, [conftest]) == ["REMOTE", "conftest", "Socket"]
    assert _imported_test_modules(test) == []  # support modules are not test modules


def _library_definitions(conftest: Path) -> list[str]:
    """What a conftest defines at module level besides its docstring, imports, fixtures and
    ``pytest_*`` hooks: classes, constants, helper functions."""
    fixtures, found = _fixture_names(conftest), []
    for node in ast.parse(conftest.read_text(), str(conftest)).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            continue
        name = getattr(node, "name", None)
        if isinstance(node, ast.FunctionDef) and (name in fixtures or name.startswith("pytest_")):
            continue
        found.append(f"line {node.lineno}: {name or ast.unparse(node)[:40]}")
    return found


def test_fixtures_only_conftests_define_nothing_but_fixtures_and_hooks():
    offenders = {str(c.relative_to(ROOT)): found for c in FIXTURES_ONLY_CONFTESTS
                 if (found := _library_definitions(c))}
    assert offenders == {}

# ---- The journal has one writer: SQL on its file only in floyo_client/journal*.py, and the glue
# leaves a run's lifecycle to the core (it never calls a journal method that changes a row) ----

JOURNAL_MODULES = {"floyo_client/journal.py", "floyo_client/journal_store.py"}
ROW_WRITES = {"begin", "created", "create_unknown", "gave_up", "not_created", "status", "finished", "saved",
              "cost", "forget_reuse", "remember_upload", "_move", "_update", "_write"}
_SQL_WRITE = re.compile(r"\b(UPDATE\s+runs|INSERT\s+(OR\s+\w+\s+)?INTO\s+\w+|DELETE\s+FROM|ALTER\s+TABLE)\b",
                        re.IGNORECASE)


def _journal_writes(path: Path, glue: bool) -> list[str]:
    """SQL writes and sqlite3 use in ``path``; in glue, also any journal method that changes a
    row (called, or handed on as a callback)."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_WRITE.search(node.value):
            found.append(f"{node.lineno}: SQL {node.value.strip()[:40]!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and "sqlite3" in {
                *(a.name for a in node.names), getattr(node, "module", None)}:
            found.append(f"{node.lineno}: imports sqlite3")
        elif glue and isinstance(node, ast.Attribute) and node.attr in ROW_WRITES \
                and "journal" in ast.unparse(node.value).lower():
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_journal_module_writes_the_journal():
    offenders = []
    for folder in ("floyo_client", "nodes"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name not in JOURNAL_MODULES:
                offenders += [f"{name}:{w}" for w in _journal_writes(path, glue=folder == "nodes")]
    assert offenders == []


def test_the_journal_write_check_catches_sql_sqlite3_and_a_glue_row_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlite3\ndb.execute('UPDATE runs SET state = ?')\njournal.saved(run_id, p)\n"
                   "collect(on_saved=lambda p: comfy.journal().finished(r, s))\nrun.status\n")
    assert [w.split(":")[0] for w in _journal_writes(bad, glue=True)] == ["1", "2", "3", "4"]
    assert len(_journal_writes(bad, glue=False)) == 2  # the core calls the journal's methods
