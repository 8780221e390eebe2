"""docs/reliability.md names the test behind every fault; each name must point at a real test.

A renamed or deleted test would otherwise leave the fault matrix promising a proof that is gone.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
_TOKEN = re.compile(r"`([^`]+)`")
_CASE = re.compile(r'case "([^"]+)"')


def _references() -> list[tuple[str, str | None]]:
    """(test file, test name or None) for every backticked test reference, in order."""
    refs: list[tuple[str, str | None]] = []
    current: str | None = None
    for token in _TOKEN.findall(DOC.read_text(encoding="utf-8")):
        if token.startswith("tests/"):
            current, _, name = token.partition("::")
            refs.append((current, name or None))
        elif token.startswith("::") and current:
            refs.append((current, token[2:]))
    return refs


def test_every_test_the_fault_matrix_names_exists():
    refs = _references()
    assert len(refs) >= 40, "the fault matrix should name its tests"
    missing = []
    for path, name in refs:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {re.escape(name)}\(", file.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_fault_suite_case_the_matrix_names_exists():
    suite = (ROOT / "tests" / "e2e" / "test_fault_suite_e2e.py").read_text()
    cases = _CASE.findall(DOC.read_text(encoding="utf-8"))
    assert cases
    assert [c for c in cases if f'"{c}"' not in suite] == []
