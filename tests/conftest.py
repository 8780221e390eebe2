"""Test-wide setup: load the pack as the package ``floyo_pack``.

The pack root is never put on ``sys.path``: its ``nodes/`` folder would shadow ComfyUI's
``nodes`` module. Loading it under a fixed package name makes its relative imports work.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

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


# The fault suite's money tally (FAULT_SUITE_STATS in tests/e2e/support/stats.py). Under
# pytest-xdist each worker counts its own cases: a worker hands its tally to the controller in
# ``workeroutput`` and the controller adds them up, so the summary line is the whole suite's.
_FAULT_KEYS = ("scenarios", "duplicate_creates", "uncancelled_abandoned", "key_leaks")
_fault_totals = dict.fromkeys(_FAULT_KEYS, 0)


def _local_fault_stats() -> dict[str, int]:
    for module in list(sys.modules.values()):
        stats = getattr(module, "FAULT_SUITE_STATS", None)
        if isinstance(stats, dict):
            return {k: int(stats.get(k, 0)) for k in _FAULT_KEYS}
    return dict.fromkeys(_FAULT_KEYS, 0)


_ZYGOTES = pytest.StashKey[str]()


def pytest_configure(config) -> None:
    """In the run's main process: a folder for the ComfyUI start servers its xdist workers share
    (tests/e2e/support/forked.py), one per ComfyUI of the matrix instead of one per worker."""
    if hasattr(config, "workerinput") or os.environ.get("FLOYO_TEST_ZYGOTES"):
        return
    config.stash[_ZYGOTES] = folder = tempfile.mkdtemp(prefix="floyo-zygotes-")
    os.environ.update(FLOYO_TEST_ZYGOTES=folder, FLOYO_TEST_ZYGOTE_OWNER=str(os.getpid()))


def pytest_unconfigure(config) -> None:
    folder = config.stash.get(_ZYGOTES, None)
    if folder is None:
        return
    for pid_file in Path(folder).glob("*/pid"):  # each exits by itself within 1 s of this process
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)
    for name in ("FLOYO_TEST_ZYGOTES", "FLOYO_TEST_ZYGOTE_OWNER"):
        os.environ.pop(name, None)



def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker
        output["floyo_fault_suite"] = _local_fault_stats()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for key, value in getattr(node, "workeroutput", {}).get("floyo_fault_suite", {}).items():
        _fault_totals[key] += value


def pytest_terminal_summary(terminalreporter):
    """Print the fault suite's tally when it ran."""
    local = _local_fault_stats()
    stats = {k: _fault_totals[k] + local[k] for k in _FAULT_KEYS}
    if stats["scenarios"]:
        terminalreporter.write_line(
            f"fault suite: {stats['scenarios']} scenarios ran; {stats['duplicate_creates']} duplicate "
            f"creates, {stats['uncancelled_abandoned']} uncancelled abandoned runs, "
            f"{stats['key_leaks']} key leaks")


# The slowest test files, longest first (measured: docs/performance.md, "CI time"), unit test
# files too. pytest-xdist hands each worker whole files in collection order, the next one when its
# current file has two tests left (pyproject.toml sets --dist loadfile --no-loadscope-reorder); a
# long file handed out last keeps one worker busy while the others idle, so the long ones go first
# and the many short files fill in after them. Three groups, in order:
# - the five that keep both cores busy for the first half of a leg (four with a browser, the
#   restart file beside them: four browser files and runs inbox second starved the pages once);
# - long files that mostly wait (outages, slow answers, runs), which fill the sixth worker and the
#   first gaps without taking CPU from the browsers; the bench smoke among them, after the first
#   few, so it starts as the browser files end (started with them it took 180 s);
# - the shorter browser and ComfyUI files, then latency-bound files that once ended a leg alone.
LONGEST_FIRST = (
    "e2e/test_templates_corpus_e2e.py", "e2e/test_restart_e2e.py", "e2e/test_frontend_e2e.py",
    "e2e/test_gateway_e2e.py", "e2e/test_runs_inbox_e2e.py", "e2e/test_fault_suite_e2e.py",
    "e2e/test_reuse_e2e.py", "e2e/test_network_e2e.py", "e2e/test_nodes_e2e.py", "core/test_list_poll.py",
    "e2e/test_spend_e2e.py", "core/test_download_hosts.py", "test_bench_smoke.py",
    "e2e/test_workflow_picker_e2e.py", "e2e/test_version_skew_e2e.py", "e2e/test_spend_frontend_e2e.py",
    "e2e/test_runs_tab_e2e.py", "e2e/test_shared_machine_e2e.py", "e2e/test_example_workflows_e2e.py",
    "e2e/test_outputs_e2e.py", "e2e/test_hosted_workflows_e2e.py", "e2e/test_subgraph_e2e.py",
    "e2e/test_comfyui_harness.py", "e2e/test_downloads_e2e.py", "e2e/test_nodes_more_e2e.py",
    "e2e/test_odd_answers_e2e.py", "core/test_whole_answers.py", "core/test_outages.py",
    "core/test_fuzz_responses.py",
)


def _run_order(item) -> int:
    """Files of LONGEST_FIRST by rank, then the other e2e files, then the fast ones."""
    name = Path(str(item.path)).relative_to(ROOT / "tests").as_posix()
    if name in LONGEST_FIRST:
        return LONGEST_FIRST.index(name)
    return len(LONGEST_FIRST) + (0 if item.get_closest_marker("e2e") else 1)


def pytest_collection_modifyitems(config, items) -> None:
    """Every test under tests/e2e/ starts a real ComfyUI: mark it ``e2e`` whether or not its module
    says so, since .ci/test runs ``-m e2e`` on every ComfyUI of the matrix after the base one, and a
    suite left unmarked would silently run on one ComfyUI only. Then order the files for the
    workers (LONGEST_FIRST); within a file, tests keep their order."""
    e2e = ROOT / "tests" / "e2e"
    for item in items:
        if e2e in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=_run_order)
