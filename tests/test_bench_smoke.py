"""Every bench in bench/ still runs and prints its ratio table (tiny sizes; no timing asserted).

Why it matters: the benches are how docs/performance.md's figures are reproduced; a bench that
rots silently makes those figures unverifiable. Timings on shared CI machines are noise, so this
only checks that each script runs its ``--smoke`` mode to the end and prints its goal table.

The scripts start together when the first of these tests runs, and each test then waits for its
own: one after another they took ~45 s on an idle machine and 70-180 s in a CI leg, the last file
to end, while most of that was their fixed measuring windows and child starts, not CPU
(docs/performance.md, "CI time").
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
EXPECTED = {
    "p1_outputs.py": ["(a) / (b)", "(c) / (a)", "<= 1.15", ">= 1.8"],
    "p2_memory.py": ["pack added / tensor", "peer added / tensor", "<= 1.3"],
    "p3_polling.py": ["(a) median delay s", "(b) answers 429", "fair-share bound"],
    "p4_submission.py": ["split / 50 ms budget", "partition + json.dumps"],
    "p5_download_disk.py": ["pack added peak RSS (MiB)", "pack / plain throughput", "<= 64 MiB",
                            "mp4 -> VIDEO added peak RSS (MiB)"],
    "p1_outputs.py --link 40ms,200mbit": ["over link 40 ms round trip", "(a) / (b)", "<= 1.05"],
    "p6_fanout.py": ["at once / one alone", "(b) mean delay s", "list polls (GET /runs?ids=)"],
    "p10_gateway_memory.py": ["added: busy growth - idle growth (MiB)", "<= 32 MiB"],
    "p7_many_outputs.py": ["6 x 32² PNG, 100ms,200mbit", "pack / limit", "<= 1.15", "load average"],
    "p9_estimate.py": ["shape_of + history_estimate", "guard / split", "<= 0.5"],
    "p8_journal_scale.py": ["tab page (30 newest)", "reuse lookup (found)", "<= 200 ms added",
                            "bytes per run"],
}


@pytest.fixture(scope="module")
def started():
    """Every script in --smoke mode, all started at once; stdout and stderr go to files, so no
    pipe fills while its test waits on another script."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        for script in EXPECTED:
            name, *extra = script.split()
            out, err = (open(Path(tmp) / f"{len(procs)}.{kind}", "w+") for kind in ("out", "err"))
            procs[script] = (subprocess.Popen([sys.executable, str(BENCH / name), *extra, "--smoke"],
                                              stdout=out, stderr=err, cwd=BENCH.parent), out, err)
        try:
            yield procs
        finally:
            for proc, out, err in procs.values():
                proc.kill()
                proc.wait()
                out.close()
                err.close()


@pytest.mark.parametrize("script", EXPECTED)
def test_bench_smoke_runs_and_prints_its_table(started, script):
    proc, out, err = started[script]
    returncode = proc.wait(timeout=150)
    out.seek(0)
    err.seek(0)
    stdout = out.read()
    assert returncode == 0, err.read()[-3000:]
    for text in EXPECTED[script]:
        assert text in stdout, stdout
    assert "| ratio" in stdout or "| goal" in stdout
