"""Outputs say where they came from (#23): each run folder gets a sidecar with the run id, the
workflow hash, the times, FloTime and partner cost, beside files that stay Floyo's bytes; no
output may take the sidecar's name; the PNG entry holds the run id and hash, never the key."""

from __future__ import annotations

import json

from floyo_pack.floyo_client import Hooks, workflow_hash
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.names import SIDECAR, output_names
from floyo_pack.floyo_client.provenance import png_entry, stamp
from floyo_pack.floyo_client.run_files import download_outputs
from floyo_pack.floyo_client.saved_files import fingerprint
from floyo_pack.floyo_client.tracked import RunMeta, journal_saved, run_tracked

from .conftest import KEY, WORKFLOW


async def test_a_saved_run_folder_gets_a_sidecar_and_its_files_stay_floyos_bytes(floyo, client, fake_time,
                                                                                 tmp_path):
    journal = Journal(tmp_path / "floyo" / "runs.sqlite3")
    folder = tmp_path / "output" / "floyo"

    async def finish(handle, run):
        paths = await download_outputs(handle, list(run.outputs), folder / run.id)
        journal_saved(journal, run.id)(fingerprint([str(p) for p in paths], list(run.outputs)))
        return run

    hooks = Hooks(sleep=fake_time.sleep, clock=fake_time.clock)
    run = await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="p"), hooks=hooks,
                            limits=None, finish=finish)
    record = journal.get(run.id)
    side = json.loads((folder / run.id / SIDECAR).read_text())
    assert side["run_id"] == run.id
    assert side["workflow_hash"] == record.resolved_hash == workflow_hash(WORKFLOW)
    assert side["flotime_ms"] == record.flotime_ms == 48210 and side["created_at"] and side["saved_at"]
    served = {f.file_name: f.data for f in floyo.run(run.id).outputs}
    assert {p.split("/")[-1]: open(p, "rb").read() for p in record.paths} == served
    assert sorted(f["name"] for f in side["files"]) == sorted(served)
    assert KEY not in (folder / run.id / SIDECAR).read_text()


def test_no_output_can_take_the_sidecars_name():
    names = output_names(["floyo-run.json", "FLOYO-RUN.json", "a.png"])
    assert names == ["floyo-run_0.json", "FLOYO-RUN_1.json", "a.png"]


def test_the_png_entry_is_added_once_to_the_prompts_extra_pnginfo():
    info = {"workflow": {"nodes": []}}
    entry = png_entry("run_abc1", "h" * 64, "7")
    assert stamp(info, entry) and stamp(info, entry)
    assert info == {"workflow": {"nodes": []}, "floyo": {"runs": [entry]}}
    assert not stamp(None, entry)
