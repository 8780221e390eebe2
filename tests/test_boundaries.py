"""The pack's walls, checked on its source.

The core stays ComfyUI-free so it can be tested and reused without ComfyUI: it never imports
ComfyUI, torch, PIL or numpy, and never reaches up into the pack's glue. No module uses another
module's private names; node modules never import each other (what they share lives in one
runtime module); only the journal's own modules write the journal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPER_PACKAGES = {"floyo_scripted"}  # test helpers import it by this name (tests/conftest.py)
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


def _from_target(path: str, node: ast.ImportFrom) -> str | None:
    """The module ``from X import ...`` in the file at ``path`` (relative to its import root) reads
    from, dotted from that root; None for a module outside the pack and its test helpers."""
    if node.level:
        package = list(Path(path).parent.parts)
        base = package[: len(package) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])
    module = node.module or ""
    if module == "floyo_pack" or module.startswith("floyo_pack."):
        return module[len("floyo_pack"):].lstrip(".")
    return module if module.split(".")[0] in HELPER_PACKAGES else None


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


def facade_bypasses(sources: dict[str, str], exported: set[str]) -> list[str]:
    """Relative imports of the core that skip its facade, from any depth of nodes/."""
    offenders = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text, path)):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            where, module = f"{path}:{node.lineno}", _from_target(path, node)
            if module.startswith("floyo_client."):
                offenders.append(f"{where} imports {module}")
            elif module == "floyo_client":
                offenders += [f"{where} imports {a.name}, which the facade does not export"
                              for a in node.names if a.name not in exported]
    return offenders


def test_glue_imports_the_core_only_through_its_facade():
    """nodes/ sees floyo_client only as its package: ``from ...floyo_client import X`` with X in
    ``__all__``, never ``from ...floyo_client.<module> import X``, so the core can move code
    between its modules without breaking the glue."""
    from floyo_pack import floyo_client

    glue = {p: t for p, t in _shipped().items() if p == "__init__.py" or p.startswith("nodes/")}
    assert facade_bypasses(glue, set(floyo_client.__all__)) == []


def test_the_gateway_imports_the_core_only_through_its_facade():
    """floyo_server/ (shipped) uses the core as the glue does: only what its facade exports."""
    from floyo_pack import floyo_client

    gateway = {p: t for p, t in _shipped().items() if p.startswith("floyo_server/")}
    assert facade_bypasses(gateway, set(floyo_client.__all__)) == []


def test_the_facade_check_sees_every_depth_of_the_glue():
    planted = {"nodes/run/collect.py": "from ...floyo_client.config import X\n"
                                       "from ...floyo_client import Y, Z\n",
               "nodes/comfy.py": "from ..floyo_client import Journal\nfrom .run import collect\n"}
    assert facade_bypasses(planted, {"Y", "Journal"}) == [
        "nodes/run/collect.py:1 imports floyo_client.config",
        "nodes/run/collect.py:2 imports Z, which the facade does not export"]


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

JOURNAL_MODULES = {"floyo_client/journal.py", "floyo_client/journal_store.py",
                   "floyo_client/journal_spend.py"}  # reads only, on a read-only connection
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

# --- Rooms: private names, node modules, the journal's writers -------------------------------------
# Each check is a function over {path: source} (paths relative to the import root), run on the
# real tree and on a small planted violation, so a check that stopped seeing anything would fail.

def _shipped() -> dict[str, str]:
    files = [ROOT / "__init__.py", *(p for d in ("floyo_client", "nodes", "floyo_server")
                                     for p in sorted((ROOT / d).rglob("*.py")))]
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def _test_helpers() -> dict[str, str]:
    """tests/ files that are not test modules (conftests, the scripted server, support modules),
    keyed from tests/ as ``floyo_scripted`` is imported."""
    return {str(p.relative_to(ROOT / "tests")): p.read_text() for p in sorted((ROOT / "tests").rglob("*.py"))
            if not p.name.startswith("test_") and "node_modules" not in p.parts}


def _module(path: str) -> str:
    parts = Path(path).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _bindings(path: str, tree: ast.AST, known: set[str]) -> list[tuple[int, str, str, str]]:
    """(line, local name, module, name or "" for the module itself) of every import of the pack."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (target := _from_target(path, node)) is not None:
            for a in node.names:
                whole = f"{target}.{a.name}".lstrip(".")
                found.append((node.lineno, a.asname or a.name, *((whole, "") if whole in known
                                                                  else (target, a.name))))
        elif isinstance(node, ast.Import):
            for a in node.names:
                module = a.name.removeprefix("floyo_pack.")
                if module in known and a.asname:
                    found.append((node.lineno, a.asname, module, ""))
    return found


def private_name_uses(sources: dict[str, str]) -> list[str]:
    """``from x import _name``, or ``x._name`` on an imported module of the pack: another module's
    private name (a leading underscore; dunders are public)."""
    known, offenders = {_module(p) for p in sources}, []
    for path, text in sources.items():
        tree = ast.parse(text, path)
        modules = {}
        for line, local, module, name in _bindings(path, tree, known):
            if name and _private(name):
                offenders.append(f"{path}:{line} imports {name} from {module}")
            elif not name:
                modules[local] = module
        offenders += [f"{path}:{n.lineno} uses {modules[n.value.id]}.{n.attr}" for n in ast.walk(tree)
                      if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                      and n.value.id in modules and _private(n.attr)]
    return offenders


def _defines_nodes(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "NodeSpec"
               for n in ast.walk(tree))


REGISTRATION = "nodes.comfy_server.registration"  # the one module that gathers every node module


def node_module_imports(sources: dict[str, str]) -> list[str]:
    """A node module is one that defines nodes (it calls ``NodeSpec(...)``). Node modules import no
    other node module, and only the registration module imports them: what they share lives in
    ``nodes/node_types/runtime.py``, which defines no node."""
    known = {_module(p) for p in sources}
    trees = {path: ast.parse(text, path) for path, text in sources.items()}
    node_modules = {_module(path) for path, tree in trees.items() if _defines_nodes(tree)}
    offenders = []
    for path, tree in trees.items():
        if _module(path) == REGISTRATION:
            continue
        what = "node module" if _module(path) in node_modules else "module"
        offenders += [f"{path}:{line} ({what}) imports the node module {module}"
                      for line, _, module, _ in _bindings(path, tree, known)
                      if module in node_modules and module != _module(path)]
    return sorted(set(offenders))


# the gateway's own state (floyo_server/gateway_store.py) is another database, written there only
JOURNAL_MODULE = re.compile(r"floyo_client/journal\w*\.py|floyo_server/gateway_store\.py")
JOURNAL_SQL = re.compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|"
                         r"DELETE\s+FROM)\s+[\"'`\[]?(?:runs|uploads)\b", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def _sqlite_connects(tree: ast.AST) -> list[int]:
    """Lines that call ``sqlite3.connect``, however it was imported."""
    modules, connects = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "sqlite3"}
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            connects |= {a.asname or a.name for a in node.names if a.name == "connect"}
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Attribute) and n.func.attr == "connect"
         and isinstance(n.func.value, ast.Name) and n.func.value.id in modules)
        or (isinstance(n.func, ast.Name) and n.func.id in connects))]


def journal_writes(sources: dict[str, str]) -> list[str]:
    """SQL that writes the journal's tables (INSERT/REPLACE/UPDATE/DELETE on ``runs`` or
    ``uploads``) or a SQLite connection (the pack's one database is the journal), outside
    floyo_client/journal*.py. Docstrings may name the statements."""
    offenders = []
    for path, text in sources.items():
        if JOURNAL_MODULE.fullmatch(path):
            continue
        tree = ast.parse(text, path)
        skip = _docstrings(tree)
        found = [(n.lineno, f"writes the journal: {n.value[:60]!r}") for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
                 and JOURNAL_SQL.search(n.value)]
        found += [(line, "opens a SQLite connection") for line in _sqlite_connects(tree)]
        offenders += [f"{path}:{line} {what}" for line, what in sorted(found)]
    return offenders


def test_no_module_uses_another_modules_private_names():
    assert private_name_uses(_shipped()) == []
    assert private_name_uses(_test_helpers()) == []


def test_the_private_name_check_catches_each_spelling():
    planted = {
        "nodes/decode/a.py": "from .b import _probe, probe, __version__\nfrom . import b\nb._plan(b.plan)\n",
        "nodes/decode/b.py": "from ...floyo_client.owner import _start_time as t\nfrom aiohttp import _x\n",
        "floyo_server/gw.py": "from .records import _node_order as node_order\n",
        "floyo_scripted/api.py": "from floyo_pack.floyo_server.origin import _Invalid\n"
                                 "import floyo_pack.floyo_server.gw as gw\ngw._y\n",
    }
    assert private_name_uses(planted) == [
        "nodes/decode/a.py:1 imports _probe from nodes.decode.b",
        "nodes/decode/a.py:3 uses nodes.decode.b._plan",
        "nodes/decode/b.py:1 imports _start_time from floyo_client.owner",
        "floyo_server/gw.py:1 imports _node_order from floyo_server.records",
        "floyo_scripted/api.py:1 imports _Invalid from floyo_server.origin",
        "floyo_scripted/api.py:3 uses floyo_server.gw._y"]


def test_node_modules_import_no_other_node_module_but_share_a_runtime_module():
    sources = _shipped()
    assert node_module_imports(sources) == []
    assert {"nodes/node_types/remote_run.py", "nodes/node_types/preflight.py"} <= {
        p for p, t in sources.items() if _defines_nodes(ast.parse(t))}  # the check sees the nodes


def test_the_node_module_check_catches_a_node_or_the_server_importing_a_node_module():
    spec = "SPEC = NodeSpec(node_id='x')\n"
    planted = {
        "nodes/node_types/remote_run.py": spec + "def limits_for(t): ...\n",
        "nodes/node_types/preflight.py": spec + "from .remote_run import SPEC as R\nfrom .runtime import x\n",
        "nodes/node_types/lists.py": "from . import spec, remote_run\nS = (spec.NodeSpec(),)\n",
        "nodes/node_types/runtime.py": "from .spec import NodeSpec\nx = 1\n",
        "nodes/node_types/spec.py": "class NodeSpec: ...\n",
        "nodes/comfy_server/resume.py": "from ..node_types.remote_run import limits_for\n",
        "nodes/comfy_server/registration.py": "from ..node_types import lists, preflight, remote_run\n",
    }
    assert node_module_imports(planted) == [
        "nodes/comfy_server/resume.py:1 (module) imports the node module nodes.node_types.remote_run",
        "nodes/node_types/lists.py:1 (node module) imports the node module nodes.node_types.remote_run",
        "nodes/node_types/preflight.py:2 (node module) imports the node module nodes.node_types.remote_run"]


def test_only_the_journal_modules_write_the_journal():
    sources = _shipped()
    assert journal_writes(sources) == []
    journal = {p: t for p, t in sources.items() if JOURNAL_MODULE.fullmatch(p)}
    assert journal_writes({f"nodes/{Path(p).name}": t for p, t in journal.items()}) != []  # seen where it is


def test_the_journal_write_check_catches_sql_and_connections_outside_the_journal():
    writes = ('"""Docstring: UPDATE runs only through the journal."""\nimport sqlite3 as sq\n'
              'from sqlite3 import connect as c\ndb = sq.connect(p)\nc(p)\n'
              'db.execute("UPDATE runs SET state = ? WHERE marker = ?")\n'
              'db.execute(f"insert or replace into uploads (sha) VALUES ({x})")\n'
              'db.execute("DELETE FROM \\"runs\\"")\ndb.execute("SELECT * FROM runs")\n')
    planted = {"nodes/comfy_server/resume.py": writes, "floyo_client/journal_store.py": writes,
               "floyo_client/journal.py": writes}
    assert journal_writes(planted) == [
        "nodes/comfy_server/resume.py:4 opens a SQLite connection",
        "nodes/comfy_server/resume.py:5 opens a SQLite connection",
        "nodes/comfy_server/resume.py:6 writes the journal: 'UPDATE runs SET state = ? WHERE marker = ?'",
        "nodes/comfy_server/resume.py:7 writes the journal: 'insert or replace into uploads (sha) VALUES ('",
        "nodes/comfy_server/resume.py:8 writes the journal: 'DELETE FROM \"runs\"'"]
