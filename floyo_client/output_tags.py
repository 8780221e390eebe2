"""Which remote output node made which output file: tags written into the workflow before it is sent.

Floyo's output objects carry a file name (and an ``input_path`` that may hold a subfolder) but no
node id. So before a workflow is sent, every remote output node that has a ``filename_prefix``
gets a tag for its node id in both places a file keeps it: ``"video/ComfyUI"`` on node 9 becomes
``"video/floyo-9/ComfyUI_floyo-9"``, so its files are named ``ComfyUI_floyo-9_00001_.mp4`` in a
``floyo-9`` subfolder (the user's prefix stays readable in Floyo's run history). Nodes with no
prefix input (PreviewImage, PreviewAudio) or a linked prefix cannot be tagged: their files are
told only by elimination, when exactly one such node was sent. Pure dict logic: no I/O, no
ComfyUI; the glue (``nodes/node_types/select_output.py``) turns routed files into outputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PREFIX_INPUT = "filename_prefix"
# Output nodes whose ``filename_prefix`` names their files (core ComfyUI and VideoHelperSuite).
TAGGABLE = frozenset({"SaveImage", "SaveAnimatedWEBP", "SaveAnimatedPNG", "SaveVideo", "SaveWEBM",
                      "SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "VHS_VideoCombine"})
# Output nodes that save files under a name they pick themselves (``ComfyUI_temp_xxxxx_…``).
UNTAGGABLE = frozenset({"PreviewImage", "PreviewAudio"})
# "9", and "12:5" inside subgraphs; matched whole (fullmatch): "$" would let "9\n" through
_ID_RE = re.compile(r"[A-Za-z0-9]+(?::[A-Za-z0-9]+)*")
_CODE = r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*"  # a tagged id: ":" becomes "." (safe in file names)
_IN_NAME = re.compile(rf"(?:^|_)floyo-({_CODE})(?=_|$)")
_IN_FOLDER = re.compile(rf"^floyo-({_CODE})$")


def tag_of(node_id: str) -> str | None:
    """The tag for a node id (``floyo-12.5`` for ``12:5``), or None if the id can't be one."""
    return f"floyo-{node_id.replace(':', '.')}" if _ID_RE.fullmatch(node_id) else None


def _untagged(prefix: str, tag: str) -> str:
    """``prefix`` without this node's tag where an earlier pass put it (a workflow exported after
    a tagged run); a user's own ``floyo-…`` folder or name stays as it is."""
    folder, _, base = prefix.rpartition("/")
    if folder == tag or folder.endswith("/" + tag):
        folder = folder[:-len(tag)].rstrip("/")
        base = base[:-len(tag) - 1] if base.endswith("_" + tag) else base
    return f"{folder}/{base}" if folder else base


def tagged_prefix(prefix: str, tag: str) -> str:
    """``"video/ComfyUI"`` -> ``"video/<tag>/ComfyUI_<tag>"``: the tag in the subfolder and the name."""
    folder, _, base = _untagged(prefix, tag).rpartition("/")
    name = f"{base}_{tag}" if base else tag
    return "/".join(p for p in (folder, tag, name) if p)


@dataclass(frozen=True)
class OutputNode:
    """A remote output node as sent: its id, type, title, and whether its files carry a tag."""

    node_id: str
    class_type: str
    title: str | None
    tagged: bool


def _title(node: dict[str, Any]) -> str | None:
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title else None


def tag(prompt: dict[str, Any]) -> tuple[dict[str, Any], dict[str, OutputNode]]:
    """A copy of ``prompt`` with every taggable output node's prefix tagged, and the output nodes
    sent (tagged or not), by id. The same prompt always gives the same tagged prompt, so reuse
    (which hashes what is sent) still finds identical earlier runs."""
    result = dict(prompt)
    nodes: dict[str, OutputNode] = {}
    for node_id, node in prompt.items():
        kind = node.get("class_type") if isinstance(node, dict) else None
        if kind not in TAGGABLE and kind not in UNTAGGABLE:
            continue
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        prefix, code = inputs.get(PREFIX_INPUT), tag_of(str(node_id))
        tagged = kind in TAGGABLE and isinstance(prefix, str) and code is not None
        if tagged:
            result[node_id] = {**node, "inputs": {**inputs, PREFIX_INPUT: tagged_prefix(prefix, code)}}
        nodes[str(node_id)] = OutputNode(str(node_id), kind, _title(node), tagged)
    return result, nodes


def node_of(file_name: str, subfolder: str | None = None) -> str | None:
    """The node id a tagged file names (its name first, then its subfolder), or None."""
    stem = file_name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    found = _IN_NAME.findall(stem)
    if not found and subfolder:
        found = [m.group(1) for part in subfolder.replace("\\", "/").split("/")
                 if (m := _IN_FOLDER.match(part))]
    return found[-1].replace(".", ":") if found else None


def subfolder_of(input_path: str | None) -> str | None:
    """The folder part of an output's ``input_path`` (``…#outputs/floyo-9/x.png`` -> ``floyo-9``)."""
    if not input_path:
        return None
    path = input_path.split(" [", 1)[0]  # ComfyUI's annotated "sub/x.png [output]"
    if "#" in path:  # Floyo's "<team>#outputs/sub/x.png": the part after the outputs root
        path = path.split("#", 1)[1].split("/", 1)[-1]
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    return folder or None


def route(files: Iterable[tuple[str, str | None]], nodes: dict[str, OutputNode]) -> list[str | None]:
    """The node that made each ``(file name, subfolder)``, None where no node can be told.

    A tag counts only for a node that was sent tagged. Untagged files go to the one untagged
    output node when there is exactly one (PreviewImage's ``ComfyUI_temp_…`` files)."""
    files = list(files)
    tagged = {i for i, n in nodes.items() if n.tagged}
    owners = [node if (node := node_of(name, sub)) in tagged else None for name, sub in files]
    untagged = [i for i, n in nodes.items() if not n.tagged]
    if len(untagged) == 1:
        owners = [o if o is not None else untagged[0] for o in owners]
    return owners


def silent(nodes: dict[str, OutputNode], owners: Iterable[str | None]) -> list[OutputNode]:
    """The output nodes sent that no file was routed to. An untagged node counts only when every
    file's owner is known (else it may have made the unrouted files)."""
    owners = list(owners)
    made = set(owners)
    unknown = None in made
    return [n for i, n in nodes.items() if i not in made and (n.tagged or not unknown)]


def describe(node: OutputNode) -> str:
    """``node 9 "Upscaled" (SaveImage)``: how messages name an output node."""
    title = f' "{node.title}"' if node.title and node.title != node.class_type else ""
    return f"node {node.node_id}{title} ({node.class_type})"
