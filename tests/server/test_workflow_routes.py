"""Both local servers answer GET /workflows and GET /workflows/{id} as Floyo documents them: the
gateway from its --workflows folder (a file added or edited shows at once, with a new version),
the scripted server from memory behind the realism layer; the documented parameters are checked,
another team's workflow is neither listed nor readable, and a cursor is tied to its filters."""

from __future__ import annotations

import json

import pytest
from floyo_pack.floyo_server.cli import build_parser
from floyo_scripted import GatewayServer, Realism

from .conftest import AUTH, KEY, WORKFLOW


async def _get(http, url: str) -> tuple[int, dict]:
    async with http.get(url, headers=AUTH) as response:
        return response.status, await response.json()


def test_the_gateway_command_line_takes_a_workflows_folder():
    args = build_parser().parse_args(["--gateway", "http://127.0.0.1:8188", "--workflows", "/srv/flows"])
    assert args.workflows == "/srv/flows"


async def test_the_gateway_serves_its_folder_and_sees_an_edit_at_once(tmp_path, http):
    (tmp_path / "upscale 2x.json").write_text(json.dumps(WORKFLOW))
    (tmp_path / "notes.txt").write_text("not a workflow")
    wrapped = {"name": "Face fix", "description": "fixes faces", "tags": ["faces"], "prompt": WORKFLOW}
    (tmp_path / "face.json").write_text(json.dumps(wrapped))
    async with GatewayServer("http://127.0.0.1:9", keys=[KEY], workflows=str(tmp_path)) as gw:
        status, listed = await _get(http, gw.api_url + "/workflows?scope=team&sort=recent")
        assert status == 200 and sorted(w["name"] for w in listed["data"]) == ["Face fix", "upscale 2x"]
        status, one = await _get(http, gw.api_url + "/workflows/wf_upscale_2x")
        assert status == 200 and one["data"]["prompt"] == WORKFLOW and one["data"]["scope"] == "team"
        (tmp_path / "upscale 2x.json").write_text(json.dumps({**WORKFLOW, "1": {"class_type": "A"}}))
        _, edited = await _get(http, gw.api_url + "/workflows/wf_upscale_2x")
        assert "1" in edited["data"]["prompt"] and edited["data"]["version"] != one["data"]["version"]
        _, tagged = await _get(http, gw.api_url + "/workflows?tags=faces&search=fix")
        assert [w["id"] for w in tagged["data"]] == ["wf_face"]
        assert (await _get(http, gw.api_url + "/workflows/wf_nothing"))[0] == 404
        async with http.get(gw.api_url + "/workflows") as anonymous:
            assert anonymous.status == 401


async def test_a_gateway_without_a_folder_lists_nothing(http):
    async with GatewayServer("http://127.0.0.1:9", keys=[KEY]) as gw:
        status, listed = await _get(http, gw.api_url + "/workflows")
        assert status == 200 and listed["data"] == [] and listed["next_cursor"] is None


@pytest.mark.parametrize(("query", "message"), [
    ("limit=51", "limit must be between 10 and 50"), ("sort=oldest", "sort must be one of"),
    ("scope=mine", "scope must be one of"), ("status=new", "status must be one of"),
    ("model_type=closed", "model_type must be one of"), ("tags=" + ",".join("abcdefghijk"), "at most 10"),
    ("cursor=bm9wZQ==", "cursor is invalid"),
])
async def test_the_scripted_server_checks_the_documented_parameters(server, http, query, message):
    status, body = await _get(http, f"{server.api_url}/workflows?{query}")
    assert status == 400 and message in json.dumps(body)


async def test_a_cursor_keeps_its_filters_and_another_teams_workflow_stays_hidden(server, http):
    server.realism = Realism.internet()  # chunked, gzip, latency: the routes sit behind the realism layer
    for i in range(12):
        server.workflows.add(f"wf_{i:02d}", f"Flow {i:02d}", WORKFLOW, updated_at=f"2026-03-{i + 1:02d}")
    server.workflows.add("wf_theirs", "Flow theirs", WORKFLOW, team="flo_other_key")
    status, first = await _get(http, f"{server.api_url}/workflows?limit=10&search=flow")
    assert status == 200 and len(first["data"]) == 10 and first["has_more"]
    after = first["next_cursor"]
    _, rest = await _get(http, f"{server.api_url}/workflows?limit=10&search=flow&cursor={after}")
    assert [w["id"] for w in rest["data"]] == ["wf_01", "wf_00"] and rest["next_cursor"] is None
    status, _ = await _get(http, f"{server.api_url}/workflows?limit=10&search=other&cursor={after}")
    assert status == 400, "a cursor from other filters is refused"
    assert (await _get(http, f"{server.api_url}/workflows/wf_theirs"))[0] == 403
