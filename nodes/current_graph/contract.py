"""The names the prompt hook, the nodes and web/floyo.js share: node ids, source names, Floyo nodes.

Defined here once and imported everywhere (tests/test_contract.py fails if a module spells a node
id or a source name itself, or if web/floyo.js's copy drifts). Only constants and pure predicates:
no ComfyUI, no I/O.
"""

from __future__ import annotations

NODE_PREFIX = "Floyo"  # every node of the pack; the prompt hook never sends one to Floyo

REMOTE_RUN = "FloyoRemoteRun"
PREFLIGHT = "FloyoPreflight"
RUN_STATUS = "FloyoRunStatus"
FETCH_OUTPUTS = "FloyoFetchOutputs"
SELECT_OUTPUT = "FloyoSelectOutput"
SEED_LIST = "FloyoSeedList"
TEXT_LIST = "FloyoTextList"
OVERRIDE_PREFIX = "FloyoOverride"  # FloyoOverrideText, ...Int, ...Float, ...Boolean, ...Image


def override_node(kind: str) -> str:
    """The node id of the override of ``kind`` ("Text", "Int", ...)."""
    return f"{OVERRIDE_PREFIX}{kind}"


# The ``source`` widget of Remote Run and Preflight.
EMBEDDED = "embedded"
CURRENT_GRAPH = "current graph"
FLOYO_WORKFLOW = "floyo workflow"  # a workflow kept on Floyo, fetched at queue time (hosted.py)
SOURCES = (EMBEDDED, CURRENT_GRAPH, FLOYO_WORKFLOW)

PAYING_NODES = (REMOTE_RUN,)  # create runs, so need the key and the queue-time checks
SPLIT_NODES = (REMOTE_RUN, PREFLIGHT)  # in 'current graph' the hook cuts the remote part out for them
RUN_NODES = (REMOTE_RUN, FETCH_OUTPUTS)  # web/floyo.js shows their run's progress on the node

# web/floyo.js's ``const NODE = {...}``: the ids it names, by the constant's name here.
JS_NODE_IDS = {"REMOTE_RUN": REMOTE_RUN, "FETCH_OUTPUTS": FETCH_OUTPUTS}


def is_floyo(class_type: object) -> bool:
    """True for a node of this pack: it runs here, never on Floyo."""
    return isinstance(class_type, str) and class_type.startswith(NODE_PREFIX)


def is_override(class_type: object) -> bool:
    return isinstance(class_type, str) and class_type.startswith(OVERRIDE_PREFIX)
