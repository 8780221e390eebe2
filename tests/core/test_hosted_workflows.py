"""A workflow kept on Floyo is found by id or by its team name, fetched once per version, and read
from whichever envelope Floyo turns out to use; a name shared by two team workflows, a workflow
gone, one the key may not see, and an answer without an API-format graph are each a clear error
that names the cause (never the graph's content) and the next step."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import ProtocolError, WorkflowError, list_params, list_workflows, resolve_hosted
from floyo_pack.floyo_client.hosted import GraphCache, parse_ref, read_graph, read_page

from .conftest import KEY, WORKFLOW

TEAM = "team-digest"
SECRET_GRAPH = {"1": {"class_type": "Note", "inputs": {"text": "flo_secretvalue1234567890"}}}


def _detail_requests(floyo) -> int:
    return floyo.requests.count("GET", r"/workflows/.+")


async def test_a_team_workflow_is_resolved_by_name_and_an_unchanged_version_costs_no_detail_request(
        floyo, client):
    entry = floyo.workflows.add("wf_up1", "Upscale 2x", WORKFLOW, team=KEY)
    floyo.workflows.add("wf_pub", "Upscale 2x", {"1": {"class_type": "X", "inputs": {}}}, team=None)
    cache = GraphCache()
    first = await resolve_hosted(client, "  upscale 2X ", TEAM, cache=cache)
    assert (first.id, first.name, first.graph) == ("wf_up1", "Upscale 2x", WORKFLOW)
    again = await resolve_hosted(client, "Upscale 2x", TEAM, cache=cache)
    assert again.graph == WORKFLOW and _detail_requests(floyo) == 1
    entry.version, entry.graph = 2, {**WORKFLOW, "7": {"class_type": "Note", "inputs": {}}}
    changed = await resolve_hosted(client, "Upscale 2x", TEAM, cache=cache)
    assert "7" in changed.graph and changed.version == "2" and _detail_requests(floyo) == 2


async def test_a_name_two_team_workflows_share_is_refused_listing_both_ids(floyo, client):
    floyo.workflows.add("wf_a1", "Portrait", WORKFLOW, team=KEY)
    floyo.workflows.add("wf_b2", "portrait", WORKFLOW, team=KEY)
    with pytest.raises(WorkflowError) as caught:
        await resolve_hosted(client, "Portrait", TEAM, cache=GraphCache())
    assert "wf_a1" in str(caught.value) and "wf_b2" in str(caught.value) and "id" in str(caught.value)
    assert _detail_requests(floyo) == 0


async def test_a_name_no_team_workflow_has_is_refused_naming_what_the_search_found(floyo, client):
    floyo.workflows.add("wf_a1", "Portrait studio", WORKFLOW, team=KEY)
    with pytest.raises(WorkflowError, match=r"No Floyo workflow of your team is named 'Portrait'.*"
                                            r"'Portrait studio'"):
        await resolve_hosted(client, "Portrait", TEAM, cache=GraphCache())


async def test_a_missing_id_and_another_teams_workflow_are_refused_saying_which(floyo, client):
    floyo.workflows.add("wf_theirs", "Theirs", WORKFLOW, team="flo_other_team_key")
    with pytest.raises(WorkflowError, match="Floyo has no workflow wf_gone: it was deleted"):
        await resolve_hosted(client, "wf_gone", TEAM, cache=GraphCache())
    with pytest.raises(WorkflowError, match="refused workflow wf_theirs to this API key.*another team"):
        await resolve_hosted(client, "wf_theirs", TEAM, cache=GraphCache())
    page = await list_workflows(client, list_params())
    assert [s.id for s in page.items] == []  # another team's workflow is not listed either


@pytest.mark.parametrize("graph_key", ["prompt", "workflow"])
async def test_the_graph_is_read_from_prompt_or_workflow(floyo, client, graph_key):
    floyo.workflows.add("wf_x1", "X", WORKFLOW, team=KEY)
    floyo.workflows.graph_key = graph_key
    assert (await resolve_hosted(client, "id:wf_x1", TEAM, cache=GraphCache())).graph == WORKFLOW


async def test_an_answer_without_a_graph_is_refused_naming_its_keys_not_its_values(floyo, client):
    floyo.workflows.add("wf_x1", "X", WORKFLOW, team=KEY, description="flo_secretvalue1234567890")
    floyo.workflows.graph_key = None
    with pytest.raises(WorkflowError) as caught:
        await resolve_hosted(client, "wf_x1", TEAM, cache=GraphCache())
    message = str(caught.value)
    assert "holds no API-format graph" in message and "description" in message
    assert "secretvalue" not in message


def test_a_ui_format_or_unreadable_graph_is_refused_without_its_content():
    with pytest.raises(WorkflowError, match="only a UI-format graph"):
        read_graph({"data": {"prompt": {"nodes": [], "links": []}}}, "wf_1")
    with pytest.raises(WorkflowError) as caught:
        read_graph({"data": {"prompt": {"1": {"inputs": {"k": "flo_secretvalue1234567890"}}}}}, "wf_1")
    assert "not an API-format workflow" in str(caught.value) and "secret" not in str(caught.value)
    assert read_graph({"prompt": '{"1": {"class_type": "A"}}'}, "wf_1")[1] == {"1": {"class_type": "A"}}


@pytest.mark.parametrize("list_key", ["data", "items", "workflows"])
async def test_the_list_is_read_from_each_likely_envelope_and_pages_through_the_cursor(floyo, client,
                                                                                       list_key):
    for i in range(23):
        floyo.workflows.add(f"wf_{i:02d}", f"W {i:02d}", WORKFLOW, team=KEY,
                            updated_at=f"2026-01-{i + 1:02d}")
    floyo.workflows.list_key = list_key
    seen, cursor = [], None
    for _ in range(5):
        page = await list_workflows(client, list_params(scope="team", cursor=cursor, limit=10))
        seen += [s.id for s in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == [f"wf_{i:02d}" for i in reversed(range(23))]


def test_a_list_in_an_unknown_envelope_is_refused_naming_its_keys_only():
    with pytest.raises(ProtocolError) as caught:
        read_page({"results": [{"id": "wf_1", "name": "flo_secretvalue1234567890"}], "total": 1})
    assert "results, total" in str(caught.value) and "secret" not in str(caught.value)
    assert read_page({"items": [], "pagination": {"next_cursor": "abc"}}).next_cursor == "abc"


def test_an_id_shaped_text_is_an_id_and_anything_else_a_name():
    assert parse_ref("wf_abc123") == ("wf_abc123", True)
    assert parse_ref("id: 42") == ("42", True)
    assert parse_ref(" Upscale 2x ") == ("Upscale 2x", False)
    with pytest.raises(WorkflowError, match="put a workflow's id or its name"):
        parse_ref("  ")


async def test_the_documented_list_parameters_are_checked_by_the_servers(floyo, client):
    floyo.workflows.add("wf_t1", "Tagged", WORKFLOW, team=None, tags=("upscale",), views=5)
    floyo.workflows.add("wf_t2", "Other", WORKFLOW, team=None, views=9, status="unverified")
    page = await list_workflows(client, {**list_params(scope="public"), "tags": "upscale,foo"})
    assert [s.id for s in page.items] == ["wf_t1"] and page.items[0].team is False
    page = await list_workflows(client, {**list_params(sort="views"), "status": "all"})
    assert [s.id for s in page.items] == ["wf_t2", "wf_t1"]
    with pytest.raises(Exception, match="limit must be between 10 and 50"):
        await list_workflows(client, {"limit": "5"})


async def test_a_key_pasted_as_the_workflow_is_never_repeated_in_the_error(floyo, client):
    key = "flo_" + "Ab12" * 8
    for ref in (key, f"id:{key}"):
        with pytest.raises(WorkflowError) as caught:
            await resolve_hosted(client, ref, TEAM, cache=GraphCache())
        assert key not in str(caught.value) and "flo_[redacted]" in str(caught.value)
