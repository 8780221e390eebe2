"""Routing tags: every remote output node's files can be told apart by their names alone (Floyo's
output objects carry no node id), the user's prefix stays readable, tagging is deterministic (reuse
hashes what is sent), and files no node can be told for stay unrouted rather than misrouted."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client.models import RunOutput
from floyo_pack.floyo_client.output_tags import (
    TAGGABLE,
    OutputNode,
    node_of,
    route,
    silent,
    subfolder_of,
    tag,
    tag_of,
    tagged_prefix,
)


def save(kind: str, prefix: object = "ComfyUI", title: str | None = None) -> dict:
    node = {"class_type": kind, "inputs": {"images": ["1", 0], "filename_prefix": prefix}}
    if title:
        node["_meta"] = {"title": title}
    return node


def comfy_name(prefix: str, counter: int = 1, ext: str = "png") -> tuple[str, str]:
    """What ComfyUI's get_save_image_path makes of a prefix: (file name, subfolder)."""
    folder, _, base = prefix.rpartition("/")
    return f"{base}_{counter:05}_.{ext}", folder


@pytest.mark.parametrize("kind", sorted(TAGGABLE))
def test_every_known_save_node_gets_its_id_into_the_file_name_and_the_subfolder(kind):
    sent, nodes = tag({"9": save(kind, "video/ComfyUI")})
    prefix = sent["9"]["inputs"]["filename_prefix"]
    assert prefix == "video/floyo-9/ComfyUI_floyo-9"
    name, folder = comfy_name(prefix)
    assert name == "ComfyUI_floyo-9_00001_.png" and folder == "video/floyo-9"
    assert node_of(name) == "9" and node_of("renamed.png", folder) == "9"
    assert nodes["9"] == OutputNode("9", kind, None, True)


def test_tagging_is_deterministic_idempotent_and_leaves_the_input_untouched():
    prompt = {"3": save("SaveImage", "base"), "4": save("SaveImage", "up", "Upscaled")}
    first, _ = tag(prompt)
    assert tag(prompt)[0] == first and prompt["3"]["inputs"]["filename_prefix"] == "base"
    assert tag(first)[0] == first  # a workflow exported after a tagged run is not tagged twice


def test_subgraph_ids_and_many_outputs_of_one_node_route_exactly():
    sent, nodes = tag({"12:5": save("SaveImage", "a"), "125": save("SaveImage", "b"), "1": save("SaveImage")})
    files = [comfy_name(sent[i]["inputs"]["filename_prefix"], n)
             for i in ("12:5", "125", "1") for n in (1, 2)]
    assert route(files, nodes) == ["12:5", "12:5", "125", "125", "1", "1"]
    assert sent["12:5"]["inputs"]["filename_prefix"] == "floyo-12.5/a_floyo-12.5"


def test_a_lone_preview_image_gets_the_untagged_files_and_two_get_none():
    one = {"9": save("SaveImage"), "10": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    sent, nodes = tag(one)
    files = [comfy_name(sent["9"]["inputs"]["filename_prefix"]), ("ComfyUI_temp_abcde_00001_.png", "")]
    assert route(files, nodes) == ["9", "10"]
    two = {**one, "11": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    assert route(files, tag(two)[1]) == ["9", None]


def test_a_linked_prefix_or_an_unknown_node_is_not_tagged_and_nothing_is_misrouted():
    prompt = {"9": save("SaveImage", ["20", 0]), "7": save("SomeCustomSave", "my_floyo-7"),
              "20": {"class_type": "PrimitiveString", "inputs": {"value": "x"}}}
    sent, nodes = tag(prompt)
    assert sent == prompt and set(nodes) == {"9"} and not nodes["9"].tagged
    # a user's own prefix that looks like a tag names no node that was sent tagged
    assert route([("my_floyo-7_00001_.png", "")], {"9": OutputNode("9", "SaveImage", None, True)}) == [None]


def test_output_nodes_that_made_no_files_are_named():
    sent, nodes = tag({"3": save("SaveImage", "a"), "4": save("SaveVideo", "v"),
                       "5": {"class_type": "PreviewImage", "inputs": {}}})
    owners = route([comfy_name(sent["3"]["inputs"]["filename_prefix"])], nodes)
    assert [n.node_id for n in silent(nodes, owners)] == ["4", "5"]
    # an unrouted file may be the PreviewImage's when several untagged nodes were sent: not named
    nodes["6"] = OutputNode("6", "PreviewImage", None, False)
    assert [n.node_id for n in silent(nodes, ["3", None])] == ["4"]


@pytest.mark.parametrize(("name", "expected"), [
    ("ComfyUI_floyo-9_00001_.png", "9"), ("ComfyUI_floyo-9_00001.mp4", "9"),  # VHS: no trailing _
    ("ComfyUI_floyo-9_00001-audio.mp4", "9"), ("floyo-9_00001_.flac", "9"),
    ("floyo-old_floyo-9_00002_.png", "9"), ("ComfyUI_floyo-9_00001__1.png", "9"),  # local clash suffix
    ("ComfyUI_00001_.png", None), ("myfloyo-9_00001_.png", None), ("floyo-_00001_.png", None)])
def test_node_of_reads_the_last_tag_in_the_name(name, expected):
    assert node_of(name) == expected


def test_the_prefix_stays_readable_for_floyo_run_history():
    assert tagged_prefix("ComfyUI", "floyo-9") == "floyo-9/ComfyUI_floyo-9"
    assert tagged_prefix("%date:yyyy-MM-dd%/shot", "floyo-2") == "%date:yyyy-MM-dd%/floyo-2/shot_floyo-2"
    assert tagged_prefix("", "floyo-2") == "floyo-2/floyo-2"
    # a user's own floyo-… names are theirs: only this node's tag, where tagging put it, is replaced
    assert tagged_prefix("floyo-test/run_floyo-x", "floyo-2") == "floyo-test/floyo-2/run_floyo-x_floyo-2"
    assert tagged_prefix("a/floyo-2/b_floyo-2", "floyo-2") == "a/floyo-2/b_floyo-2"


def test_subfolder_comes_from_input_path_in_both_spellings_and_kinds_from_name_or_mime():
    assert subfolder_of("team#outputs/floyo-9/x.png") == "floyo-9"
    assert subfolder_of("video/floyo-9/x.mp4 [output]") == "video/floyo-9"
    assert subfolder_of("x.png [temp]") is None and subfolder_of(None) is None
    kinds = [RunOutput("f", n, m).kind for n, m in [("a.mp4", None), ("a.webm", None), ("a.flac", None),
             ("a.opus", None), ("a.gif", None), ("a.webp", None), ("x", "video/mp4"), ("x", "audio/wav"),
             ("a.txt", "text/plain")]]
    assert kinds == ["video", "video", "audio", "audio", "image", "image", "video", "audio", "file"]


def test_a_node_id_with_a_trailing_newline_gets_no_tag_so_never_names_a_folder():
    assert tag_of("12:5") == "floyo-12.5"
    assert tag_of("9\n") is None and tag_of("12:5\n") is None
