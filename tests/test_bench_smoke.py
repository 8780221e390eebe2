"""Every bench in bench/ still runs and prints its ratio table (tiny sizes; no timing asserted).

Why it matters: the benches are how docs/performance.md's figures are reproduced; a bench that
rots silently makes those figures unverifiable. Timings on shared CI machines are noise, so this
only checks that each script runs its ``--smoke`` mode to the end and prints its goal table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script, expected", [
    ("p1_outputs.py", ["(a) / (b)", "(c) / (a)", "<= 1.15", ">= 1.8"]),
    ("p2_memory.py", ["pack added / tensor", "peer added / tensor", "<= 1.3"]),
    ("p3_polling.py", ["(a) median delay s", "(b) answers 429", "fair-share bound"]),
    ("p4_submission.py", ["split / 50 ms budget", "partition + json.dumps"]),
    ("p5_download_disk.py", ["pack added peak RSS (MiB)", "pack / plain throughput", "<= 64 MiB",
                             "mp4 -> VIDEO added peak RSS (MiB)"]),
    ("p1_outputs.py --link 40ms,200mbit", ["over link 40 ms round trip", "(a) / (b)", "<= 1.05"]),
    ("p6_fanout.py", ["at once / one alone", "(b) mean delay s", "list polls (GET /runs?ids=)"]),
    ("p10_gateway_memory.py", ["added: busy growth - idle growth (MiB)", "<= 32 MiB"]),
    ("p7_many_outputs.py", ["6 x 32² PNG, 100ms,200mbit", "pack / limit", "<= 1.15", "load average"]),
    ("p9_estimate.py", ["shape_of + history_estimate", "guard / split", "<= 0.5"]),
    ("p8_journal_scale.py", ["tab page (30 newest)", "reuse lookup (found)", "<= 200 ms added",
                             "bytes per run"]),
])
def test_bench_smoke_runs_and_prints_its_table(script, expected):
    name, *extra = script.split()
    done = subprocess.run([sys.executable, str(BENCH / name), *extra, "--smoke"], capture_output=True,
                          text=True, timeout=150, cwd=BENCH.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout, done.stdout
    assert "| ratio" in done.stdout or "| goal" in done.stdout
