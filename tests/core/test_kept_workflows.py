"""What ran is kept (#23): the journal stores each run's exact sent workflow and the UI workflow it
came from, compressed, before the create leaves; never a credential nor the API key; the schema
step that adds them keeps old rows; and a runs-tab page reads by state and search without the
kept workflows, over every journaled run."""

from __future__ import annotations

import json
import sqlite3
import zlib

import pytest
from floyo_pack.floyo_client import Hooks, PageQuery
from floyo_pack.floyo_client.journal import Journal
from floyo_pack.floyo_client.journal_store import MIGRATIONS, SCHEMA_V0, VERSION
from floyo_pack.floyo_client.kept import REMOVED, keep, unpack
from floyo_pack.floyo_client.tracked import RunMeta, run_tracked

from .conftest import KEY, WORKFLOW

UI = {"last_node_id": 3, "nodes": [{"id": 3, "type": "FloyoRemoteRun", "widgets_values": ["embedded", "{}"]}],
      "links": [], "version": 0.4}


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "floyo" / "runs.sqlite3")


async def _done(handle, run):
    return run.id


async def test_a_run_keeps_the_exact_workflow_it_sent_and_its_ui_workflow_compressed(floyo, client, journal,
                                                                                      fake_time):
    hooks = Hooks(sleep=fake_time.sleep, clock=fake_time.clock)
    run_id = await run_tracked(client, WORKFLOW, journal=journal, meta=RunMeta(label="k", ui_workflow=UI),
                               hooks=hooks, limits=None, finish=_done)
    sent, ui = journal.kept_workflow(run_id)
    assert unpack(sent) == WORKFLOW == floyo.run(run_id).workflow
    assert unpack(ui) == UI
    assert len(sent) < len(json.dumps(WORKFLOW)) * 2 and zlib.decompress(sent)  # stored compressed


def test_a_secret_sent_with_allow_secrets_is_never_kept_nor_the_api_key():
    secret = "sk-" + "a1B2" * 8
    sent = {**WORKFLOW, "4": {"class_type": "LLM", "inputs": {"api_key": "plainvalue123", "prompt": secret}},
            "5": {"class_type": "Note", "inputs": {"text": f"mine is {KEY}_and_more_0123456789"}}}
    ui = {"nodes": [{"id": 4, "widgets_values": ["plainvalue123", secret, "a cat"]},
                    {"id": 6, "widgets_values": [KEY]}]}
    kept_sent, kept_ui = keep(sent, ui, api_key=KEY)
    text = json.dumps([unpack(kept_sent), unpack(kept_ui)])
    for value in ("plainvalue123", secret, KEY):
        assert value not in text
    assert unpack(kept_sent)["4"]["inputs"]["api_key"] == REMOVED and unpack(kept_sent)["9"] == WORKFLOW["9"]
    assert unpack(kept_ui)["nodes"][0]["widgets_values"] == [REMOVED, REMOVED, "a cat"]


def test_a_version_7_journal_gains_the_kept_workflows_and_keeps_its_rows(tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_V0)
        for step in MIGRATIONS[:7]:
            for statement in step:
                db.execute(statement)
        db.execute("PRAGMA user_version = 7")
        db.execute("INSERT INTO runs (marker, run_id, state, name, api_url, created_at, updated_at)"
                   " VALUES ('m1', 'run_old1', 'saved', 'old', 'https://api', 10.0, 12.0)")
    db.close()
    journal = Journal(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert {"marker", "sent", "ui"} <= {r[1] for r in db.execute("PRAGMA table_info(kept_workflows)")}
    db.close()
    assert journal.get("run_old1").name == "old" and journal.kept_workflow("run_old1") == (None, None)
    (record,), more = journal.page(PageQuery())
    assert record.kept == 0 and not more


def _rows(journal, n):
    for i in range(n):
        marker = f"m{i:03d}"
        journal.begin(marker, name=f"shot {i}" + (" portrait" if i % 10 == 0 else ""), prompt_id=None,
                      node_id="1", api_url="https://api", kept=keep(WORKFLOW))
        if i != 1:
            journal.created(marker, f"run_{i:03d}x")


def test_pages_cover_every_run_newest_first_filtered_by_state_and_searched_by_name_or_id(journal):
    _rows(journal, 250)
    journal.not_created("m001", "refused")  # never created: no run id, still listed
    seen, offset = [], 0
    while True:
        page, more = journal.page(PageQuery(offset=offset, limit=100))
        seen += [r.marker for r in page]
        offset += len(page)
        if not more:
            break
    assert len(seen) == len(set(seen)) == 250 and seen[0] == "m249" and seen[-1] == "m000"
    assert [r.marker for r in journal.page(PageQuery(state="not_created"))[0]] == ["m001"]
    portraits = journal.page(PageQuery(search="PORTRAIT", limit=200))[0]
    assert len(portraits) == 25 and all("portrait" in r.name for r in portraits)
    assert [r.run_id for r in journal.page(PageQuery(search="run_123"))[0]] == ["run_123x"]
    assert journal.page(PageQuery(search="%"))[0] == [], "a typed % is a character, not a wildcard"
    assert all(r.kept for r in journal.page(PageQuery())[0])


@pytest.mark.parametrize("args", [{"limit": "0"}, {"limit": "201"}, {"offset": "-1"}, {"offset": "x"},
                                  {"state": "done-ish"}])
def test_a_bad_page_query_names_the_parameter(args):
    with pytest.raises(ValueError, match="offset|limit|state"):
        PageQuery.parse(**args)
