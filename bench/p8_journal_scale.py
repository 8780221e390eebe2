"""P8: the journal of a heavy user: do the reads the pack makes stay fast over 100,000 runs?

``python bench/p8_journal_scale.py`` (``--smoke``: 2,000 runs, 3 rounds). Two journals side by side
in one process: an empty one and one of N runs, each run keeping its sent workflow and the UI
workflow it came from (example_workflows/floyo_current_graph.json, scrubbed and compressed as the
pack keeps them), spread over the last 365 days. The first row is written through ``Journal``'s own
methods (begin, created, cost, saved); the other N-1 are copies of it with their own marker, run
id, hash and time, made by one INSERT ... SELECT here (the pack's rows, written 100,000 times
faster). Each read is timed on both journals in turn, round after round; medians reported.

Goals (issue #23): the reuse lookup, one page of the runs tab (30 runs) and the totals each
<= 20 ms on the full journal; startup (open, schema and integrity check, take-over scan) <= 200 ms
added by the full journal over the empty one; and the journal's size per run, recorded.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import BENCH, machine, table, verdict
from floyo_pack.floyo_client import PageQuery, SavedFile, workflow_hash
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.kept import keep

API = "https://api.floyo.ai"
TEAM = "t" * 32
UI = json.loads((BENCH.parent / "example_workflows" / "floyo_current_graph.json").read_text())
SENT = {str(n["id"]): {"class_type": n["type"], "inputs": {"values": n.get("widgets_values")}}
        for n in UI["nodes"] if n["type"] != "FloyoRemoteRun"}


def first_row(journal: Journal) -> None:
    journal.begin("m0", name="portrait of a cat [m0]", prompt_id="p0", node_id="12", api_url=API,
                  resolved_hash=workflow_hash(SENT), team=TEAM, kept=keep(SENT, UI))
    journal.created("m0", "run_0")
    journal.status("run_0", "done", 48210)
    journal.cost("run_0", 48210, 0.04)
    journal.saved("run_0", [SavedFile(f"/out/floyo/run_0/ComfyUI_{i:05d}_.png", 1_500_000, "ab" * 32, "x.png",
                                      "image/png", "image") for i in range(4)])


def fill(path: Path, runs: int) -> None:
    """Copies of run_0 with their own marker, run id, hash and creation time (over 365 days)."""
    now, step = time.time(), 365 * 86400 / runs
    db = sqlite3.connect(path)
    with db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
        fresh = {"marker": "'m' || n", "run_id": "'run_' || n", "resolved_hash": "printf('%064x', n)",
                 "created_at": f"{now} - n * {step}", "updated_at": f"{now} - n * {step} + 60",
                 "name": "CASE WHEN n % 10 = 0 THEN 'portrait ' ELSE 'landscape ' END || n"}
        select = ", ".join(fresh.get(c, c) for c in cols)
        each = f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < {runs - 1}) "
        db.execute(f"{each}INSERT INTO runs ({', '.join(cols)}) SELECT {select} FROM k, runs "  # noqa: S608
                   "WHERE runs.marker = 'm0'")
        db.execute(f"{each}INSERT INTO kept_workflows (marker, sent, ui) SELECT 'm' || n, sent, ui "  # noqa: S608
                   "FROM k, kept_workflows WHERE marker = 'm0'")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file as a ComfyUI that ran for a year leaves it
    db.close()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def opening(path: Path) -> Callable[[], object]:
    return lambda: Journal(path)  # open_store: WAL, write lock, integrity check of the run rows, schema


def take_over(path: Path) -> Callable[[], object]:
    journal = Journal(path)
    return journal.take_over  # the resume scan: rows of owners gone, to resume or reconcile


def reads(journal: Journal) -> dict[str, Callable[[], object]]:
    probe = workflow_hash(SENT)  # run_0's: found, at the far end of the index order
    return {"reuse lookup (found)": lambda: journal.reusable(probe, API, TEAM),
            "reuse lookup (no match)": lambda: journal.reusable("0" * 63 + "z", API, TEAM),
            "tab page (30 newest)": lambda: journal.page(PageQuery(limit=30)),
            "tab page (30, state = saved)": lambda: journal.page(PageQuery(limit=30, state="saved")),
            "tab page 100 (offset 2,970)": lambda: journal.page(PageQuery(offset=2970, limit=30)),
            "tab search (name or id)": lambda: journal.page(PageQuery(limit=30, search="portrait 9999")),
            "totals (today, 7 days)": journal.totals}


GOALS = {"reuse lookup (found)": 20, "reuse lookup (no match)": 20, "tab page (30 newest)": 20,
         "tab page (30, state = saved)": 20, "totals (today, 7 days)": 20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 runs, 3 rounds (checks it works)")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    runs, rounds = (2_000, 3) if args.smoke else (args.runs, args.rounds)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        empty_path, full_path = Path(tmp) / "empty" / "runs.sqlite3", Path(tmp) / "full" / "runs.sqlite3"
        empty, full = Journal(empty_path), Journal(full_path)
        first_row(full)
        fill(full_path, runs)
        size = sum(p.stat().st_size for p in full_path.parent.glob("runs.sqlite3*"))
        cases = {name: (a, reads(full)[name]) for name, a in reads(empty).items()}
        cases["startup: open (integrity check)"] = (opening(empty_path), opening(full_path))
        cases["startup: take-over scan"] = (take_over(empty_path), take_over(full_path))
        times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in cases}
        for _ in range(rounds):
            for name, (on_empty, on_full) in cases.items():
                times[name][0].append(timed(on_empty))
                times[name][1].append(timed(on_full))
    rows, added = [], 0.0
    for name, (e, f) in times.items():
        me, mf = statistics.median(e), statistics.median(f)
        goal, measured = (f"<= {GOALS[name]} ms", mf) if name in GOALS else ("(recorded)", None)
        ok = "" if measured is None else verdict(measured <= GOALS[name])
        if name.startswith("startup"):
            added += mf - me
            goal = "(sum below)"
        ratio = f"{mf / me:.1f}" if me else "-"
        rows.append((name, f"{me:.2f}", f"{mf:.2f}", f"{mf - me:+.2f}", ratio, goal, ok))
    print(f"\nP8 journal of {runs:,} runs beside an empty one: {rounds} rounds, medians; {machine()}; "
          f"{time.perf_counter() - started:.0f}s")
    table("Reads on an empty journal and a full one (ms)", rows,
          ("read", "empty ms", "full ms", "added ms", "full / empty", "goal", "status"))
    rows = [("startup, both steps", "", "", f"{added:+.2f}", "", "<= 200 ms added", verdict(added <= 200))]
    table("Startup added by the full journal (ms)", rows,
          ("read", "empty ms", "full ms", "added ms", "full / empty", "goal", "status"))
    table("Size", [(f"{runs:,}", f"{size / 1e6:.1f}", f"{size / runs:,.0f}")],
          ("runs", "journal MB (with -wal)", "bytes per run (sent + UI workflow kept)"))


if __name__ == "__main__":
    main()
