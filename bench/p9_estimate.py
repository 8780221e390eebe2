"""P9: what the spend guard adds to a queued prompt: the graph's shape and its estimate from the journal.

``python bench/p9_estimate.py`` (``--smoke``: 60 nodes, 200 rows, 3 rounds). The prompt hook runs
on ComfyUI's server loop, so everything it does delays every request the server answers. Timed
side by side in one process, on P4's 2,000-node prompt: what the hook already did (partition and
``json.dumps`` of the remote part, as in P4) and what the spend guard adds
(``floyo_client.spend.shape_of`` of the remote part with its override chain masked, then
``history_estimate`` in a journal of 20,000 runs, 20 of them of this shape). Goal: the guard adds
at most half of what the split costs.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import Timer, machine, median, table, verdict
from floyo_pack.floyo_client import Journal, Override, history_estimate, shape_of
from floyo_pack.floyo_client.workflow import partition
from p4_submission import OUTPUT_TYPES, build_prompt, submit

API, TEAM = "https://api.floyo.ai", "team-bench"


def journal_of(path: Path, rows: int, shape: str) -> Journal:
    """A journal of ``rows`` saved runs, one in a thousand of ``shape`` (the rest of others)."""
    journal = Journal(path)  # the schema, as the pack makes it
    now = time.time()
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO runs (marker, run_id, state, api_url, team, shape_hash, flotime_ms, created_at,"
            " updated_at) VALUES (?, ?, 'saved', ?, ?, ?, ?, ?, ?)",
            [(f"m{i}", f"run_{i}", API, TEAM, shape if i % 1000 == 0 else f"other{i % 300}",
              40_000 + i % 9_000, now - i * 60, now - i * 60 + 50) for i in range(rows)])
    db.close()
    return journal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="60 nodes, 200 rows, 3 rounds (checks it works)")
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if args.smoke:
        args.nodes, args.rows, args.rounds = 60, 200, 3
    prompt, floyo = build_prompt(args.nodes)
    remote = partition(prompt, floyo, OUTPUT_TYPES.__contains__, lambda t: t.startswith("Floyo")).remote
    overrides = [Override("Sampler 0", "seed", None), Override("Positive 0", "text", None)]
    shape = shape_of(remote, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        journal = journal_of(Path(tmp) / "runs.sqlite3", args.rows, shape)
        found = history_estimate(journal.path, shape, API, TEAM)
        assert found is not None and found.runs == min(5, (args.rows + 999) // 1000)
        split, guard = [], []
        for _ in range(args.rounds):
            with Timer() as t:
                submit(prompt, floyo)
            split.append(t.seconds)
            with Timer() as t:
                history_estimate(journal.path, shape_of(remote, overrides), API, TEAM)
            guard.append(t.seconds)
    split_ms, guard_ms = median(split) * 1000, median(guard) * 1000
    print(f"P9 estimate: {len(prompt)}-node prompt ({len(remote)} remote), journal of {args.rows} runs, "
          f"{args.rounds} rounds, medians; {machine()}")
    table("Times (ms)", [("partition + json.dumps(remote part)", f"{split_ms:.1f}"),
                         ("shape_of + history_estimate", f"{guard_ms:.1f}")], ("step", "median ms"))
    ratio = guard_ms / split_ms
    table("Ratios", [("guard / split", f"{ratio:.2f}", "<= 0.5", verdict(ratio <= 0.5))],
          ("ratio", "measured", "goal", "status"))


if __name__ == "__main__":
    main()
