"""The names the prompt hook, the nodes and web/floyo.js share are spelled once, in
nodes/current_graph/contract.py.

Why it matters: a node id or a source name typed twice drifts silently. A renamed node the hook
still looks for under its old id would be sent to Floyo with the graph (or not split at all),
and the frontend would lose its Cancel button. So no other module of the pack may spell one of
them, and web/floyo.js's copy must equal the Python one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from floyo_pack.nodes.current_graph import contract

ROOT = Path(__file__).resolve().parents[1]
NODE_IDS = {v for k, v in vars(contract).items()
            if k.isupper() and isinstance(v, str) and v.startswith(contract.NODE_PREFIX)
            and v != contract.NODE_PREFIX}  # the bare prefix is also the menu category (spec.CATEGORY)
SPELLED_ONCE = NODE_IDS | set(contract.SOURCES)
NODE_ID_LIKE = re.compile(r"Floyo[A-Z]\w*")  # a new node's id, spelled where it is used


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = [(n.lineno, n.value) for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return sorted(found)


def test_no_module_but_the_contract_spells_a_node_id_or_a_source_name():
    offenders = []
    for path in sorted([ROOT / "__init__.py", *(ROOT / "nodes").rglob("*.py")]):
        if path.name == "contract.py":
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line} spells {value!r}"
                      for line, value in _string_constants(path)
                      if value in SPELLED_ONCE or NODE_ID_LIKE.fullmatch(value)]
    assert offenders == []


def test_the_contract_check_would_catch_a_redeclared_constant(tmp_path):
    copy = tmp_path / "remote_run.py"
    copy.write_text('SOURCES = ("embedded", "current graph")\nNODE_ID = "FloyoRemoteRun"\nNEW = "FloyoNew"\n')
    assert {v for _, v in _string_constants(copy) if v in SPELLED_ONCE} == {
        "embedded", "current graph", "FloyoRemoteRun"}
    spelled = {v for _, v in _string_constants(copy) if NODE_ID_LIKE.fullmatch(v)}
    assert spelled == {"FloyoNew", "FloyoRemoteRun"}


def test_every_registered_node_id_comes_from_the_contract():
    from floyo_pack.nodes.comfy_server.registration import SPECS

    ids = {spec.node_id for spec in SPECS}
    overrides = {i for i in ids if i.startswith(contract.OVERRIDE_PREFIX)}
    assert ids - overrides <= NODE_IDS and overrides and all(contract.is_floyo(i) for i in ids)
    assert set(contract.RUN_NODES) | set(contract.SPLIT_NODES) | set(contract.PAYING_NODES) <= ids


def _js_object(source: str, name: str) -> dict[str, str]:
    found = re.search(rf"const {name} = \{{([^}}]*)\}};", source)
    assert found, f"web/floyo/node_status.js has no `const {name} = {{...}};`"
    return dict(re.findall(r'(\w+):\s*"([^"]*)"', found.group(1)))


def test_the_javascript_node_ids_equal_the_python_ones():
    js = (ROOT / "web" / "floyo" / "node_status.js").read_text()
    node = _js_object(js, "NODE")
    assert node == contract.JS_NODE_IDS
    run_nodes = re.search(r"const RUN_NODES = new Set\(\[([^\]]*)\]\);", js)
    assert run_nodes and [node[k] for k in re.findall(r"NODE\.(\w+)", run_nodes.group(1))] == list(
        contract.RUN_NODES)
    # Every node id the script names is in the NODE table, not spelled where it is used.
    literals = re.findall(r'"(Floyo[A-Z]\w*)"', js)
    assert sorted(literals) == sorted(node.values())
    others = [p for p in (ROOT / "web").rglob("*.js") if p.name != "node_status.js"]
    assert [p.name for p in others if re.search(r'"Floyo[A-Z]\w*"', p.read_text())] == []


# What the server knows, the frontend must not keep a copy of: each run's phase and whether it can
# be fetched, each output's kind, and whether a node's run has ended all come from the server
# (GET /floyo/runs, the floyo.run event's ``ended``). A list of status words, run states or file
# extensions in web/ would drift from the Python that decides them.
VOCABULARY = re.compile(r'new Set\(\[\s*"(?:saved|succeeded|done|reused|cancelled|failed)"'
                        r'|\\\.\((?:png|jpe?g)\|')


def test_the_frontend_keeps_no_vocabulary_of_states_statuses_or_file_kinds():
    found = {p.relative_to(ROOT).as_posix(): VOCABULARY.findall(p.read_text())
             for p in (ROOT / "web").rglob("*.js")}
    assert {k: v for k, v in found.items() if v} == {}
    assert VOCABULARY.search('const ENDED = new Set(["reused", "saved"]);')  # the check sees one
    assert VOCABULARY.search(r"const IMAGE = /\.(png|jpe?g|webp)$/i;")
