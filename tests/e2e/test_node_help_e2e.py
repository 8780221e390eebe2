"""Help where users look, in a real ComfyUI and its frontend: a help page per node, shown by the
frontend's own node-help panel; a tooltip on every input and output; the Int override's "control
after generate" (randomize by default) changing the seed each queue; the Floyo, Floyo/overrides
and Floyo/runs categories; and the search aliases in the node definitions."""

from __future__ import annotations

import pytest

from .support.browser import run_script

pytestmark = pytest.mark.e2e
OVERRIDES = ("Text", "Int", "Float", "Boolean", "Image")
FLOYO_NODES = {"FloyoRemoteRun": "Floyo", "FloyoPreflight": "Floyo", "FloyoRunStatus": "Floyo/runs",
               "FloyoFetchOutputs": "Floyo/runs",
               **{f"FloyoOverride{k}": "Floyo/overrides" for k in OVERRIDES}}


def floyo_info(comfy) -> dict:
    status, info = comfy.get("/object_info")
    assert status == 200
    return {name: info[name] for name in FLOYO_NODES}


def test_every_input_and_output_of_every_floyo_node_has_a_tooltip(comfy):
    for name, node in floyo_info(comfy).items():
        for group in ("required", "optional"):
            for input_name, spec in node["input"].get(group, {}).items():
                options = spec[1] if len(spec) > 1 else {}
                assert options.get("tooltip"), f"{name}.{input_name} has no tooltip"
        assert len(node["output_tooltips"]) == len(node["output"]), name
        assert all(node["output_tooltips"]), f"{name} has an output without a tooltip"


def test_nodes_sit_in_the_floyo_overrides_and_runs_categories_with_search_aliases(comfy):
    for name, node in floyo_info(comfy).items():
        assert node["category"] == FLOYO_NODES[name]
        assert {"cloud", "remote", "offload", "api", "GPU"} <= set(node["search_aliases"]), name


def test_a_help_page_per_node_is_served_where_the_frontend_looks(comfy):
    for name in FLOYO_NODES:
        status, page = comfy.get(f"/extensions/comfyui-floyo/docs/{name}.md")
        assert status == 200, name
        text = page.decode()
        assert text.startswith("# ") and "## Example" in text, name


@pytest.mark.timeout(150)
def test_help_panel_control_after_generate_and_search_aliases_in_the_browser(comfy):
    res = run_script("node_help.mjs", comfy)
    # the frontend's own help panel shows the pack's page for the selected node
    assert "Floyo Remote Run" in res["help"] and "Example" in res["help"], res["help"]
    # Override Int has ComfyUI's seed control, set to randomize, and it changes the queued value
    control = next(w for w in res["intWidgets"] if w["name"] == "control_after_generate")
    assert control["value"] == "randomize" and "randomize" in control["options"]
    assert len(set(res["seeds"])) == 3, res["seeds"]
    defs = {d["name"]: d for d in res["defs"]}
    assert set(FLOYO_NODES) <= set(defs)
    for name, category in FLOYO_NODES.items():
        assert defs[name]["category"] == category and "cloud" in defs[name]["search_aliases"]
