"""Floyo Fetch Outputs serves a run's saved files from disk without asking Floyo only to the team
that paid for the run, and only while each file is still the one saved; otherwise it asks Floyo,
with the key it has, by run id (another team's key is refused there)."""

from __future__ import annotations

import asyncio

from floyo_pack.floyo_client import Config, Journal, fingerprint
from floyo_pack.nodes.node_types.run_lookup import served_from_disk


def test_fetch_outputs_serves_saved_files_only_to_the_team_that_paid_and_only_unchanged(tmp_path):
    journal = Journal(tmp_path / "floyo" / "runs.sqlite3")
    paid, other = Config(api_key="flo_test_key").team, Config(api_key="flo_other_team").team
    out = tmp_path / "a.png"
    out.write_bytes(b"paid pixels")
    journal.begin("m1", name="n [m1]", prompt_id="p", node_id="7", api_url="https://api", team=paid)
    journal.created("m1", "run_paid")
    journal.saved("run_paid", fingerprint([out]))

    def served(team: str) -> bool:
        return asyncio.run(served_from_disk(journal.get("run_paid"), team))

    assert served(paid)
    assert not served(other), "another team's key is sent to Floyo, which refuses it"
    out.write_bytes(b"paid pixelz")
    assert not served(paid), "an edited file is fetched again by run id"
