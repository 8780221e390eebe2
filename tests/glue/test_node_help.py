"""Help where users look, on both ways the pack registers: every input and output of every node
has a tooltip, the categories are Floyo, Floyo/overrides and Floyo/runs, the search aliases are
declared, Override Int has control_after_generate, a help page exists per node, and on an older
ComfyUI (V1 classes) the same facts and the current-graph queue-time check are there too."""

from __future__ import annotations

from pathlib import Path

from floyo_pack.nodes.comfy_server.registration import SPECS
from floyo_pack.nodes.current_graph.sealed import Refusal, seal
from floyo_pack.nodes.node_types.spec import v1_class

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = {"FloyoRemoteRun": "Floyo", "FloyoPreflight": "Floyo", "FloyoRunStatus": "Floyo/runs",
              "FloyoFetchOutputs": "Floyo/runs", "FloyoSelectOutput": "Floyo"}


def test_every_input_and_output_has_a_tooltip_and_every_node_a_help_page_with_an_example():
    for spec in SPECS:
        assert all(i.tooltip for i in spec.inputs), spec.node_id
        assert all(o.tooltip for o in spec.outputs), spec.node_id
        page = (ROOT / "web" / "docs" / f"{spec.node_id}.md").read_text()
        assert page.startswith(f"# {spec.display_name}") and "## Example" in page


def test_categories_and_search_aliases():
    for spec in SPECS:
        assert spec.category == CATEGORIES.get(spec.node_id, "Floyo/overrides"), spec.node_id
        assert {"cloud", "remote", "offload", "api", "GPU"} <= set(spec.search_aliases)


def test_the_v1_classes_carry_the_same_help_and_the_int_override_has_control_after_generate():
    classes = {spec.node_id: v1_class(spec) for spec in SPECS}
    for spec in SPECS:
        cls = classes[spec.node_id]
        assert cls.CATEGORY == spec.category and "GPU" in cls.SEARCH_ALIASES
        assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) and all(cls.OUTPUT_TOOLTIPS)
        inputs = cls.INPUT_TYPES()
        for group in ("required", "optional"):
            assert all(options.get("tooltip") for _, options in inputs[group].values()), spec.node_id
    assert classes["FloyoOverrideInt"].INPUT_TYPES()["required"]["value"][1]["control_after_generate"] is True
    refused = seal(Refusal("Only one FloyoRemoteRun per graph"))  # as the prompt hook writes it
    assert classes["FloyoRemoteRun"].VALIDATE_INPUTS(workflow=refused) == "Only one FloyoRemoteRun per graph"
    assert classes["FloyoRemoteRun"].VALIDATE_INPUTS(workflow="") is True
