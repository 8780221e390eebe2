"""Workflows nobody on this team wrote, through the real frontend, the pack, the gateway and a CPU
worker without models: Comfy-Org's workflow templates as the ComfyUI under test pins them (read
from its own venv; which of them each leg runs: ``corpus()``) and a node installed only on the
worker.

Each template must end one of two ways: accepted and sent whole (every remote node with its
class_type), ending in success or a clear Floyo error; or refused at queue time with a clear
Floyo error. None may hang, crash a server, or come back silently partial. A node only the
worker has is built from the UI workflow and runs there; the same workflow saved without widget
input names is refused, naming the node and the ways out. A remote graph the worker can run only
in part fails, naming the output it dropped. The counts go to docs/templates.md.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from floyo_pack.nodes.current_graph.sealed import ENVELOPE
from floyo_scripted import GatewayServer, ServerThread, matrix
from PIL import Image

from .support.browser import run_script
from .support.comfy import CI_DIR, COMFY_LEG, Comfy, require_comfyui
from .support.gateway import GATEWAY_KEY
from .support.graphs import remote_run_of
from .support.results import node_error

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_browser")]
log = logging.getLogger("floyo.e2e")
WORKER_NODES = Path(__file__).parent / "worker_nodes"
DEADLINE_S = 180.0  # for every queued template to end: none may hang
BASE_LEG = matrix.legs(CI_DIR)[0]
EVERY_TEMPLATE = os.environ.get("FLOYO_TEMPLATES") == "all"  # every leg runs all it pins (~20 min)
SCRIPT_TIMEOUT = 3000 if EVERY_TEMPLATE else 300  # the browser's deadline to open and queue them all
# Each run makes at least two requests (create, status) and the pack paces one key's requests to
# Floyo's 100/minute, so one client needs ~95 s for 77 runs; two clients, two keys, half that.
# More would not help: see corpus().
CLIENT_KEYS = (GATEWAY_KEY, "flo_gateway_e2e_second")


@dataclass
class Corpus:
    worker: Comfy
    gateway: ServerThread
    clients: list[Comfy]


# The templates the ComfyUI under test pins, read by that ComfyUI's own python (its venv holds the
# template packages its requirements name), as [bundle, template id, JSON path]. Newer bundles
# (ComfyUI 0.33) list every template with its bundle in comfyui_workflow_templates_core's manifest
# and keep the JSON in comfyui_workflow_templates_json; older ones (0.3.75) keep it in each media
# bundle's templates/ folder.
LIST_TEMPLATES = r"""
import importlib.util, json, pathlib, pkgutil
try:
    from comfyui_workflow_templates_core import get_asset_path, iter_templates
except ImportError:
    iter_templates = None
found = []
if iter_templates is not None:
    for t in iter_templates():
        (name,) = [a.filename for a in t.assets if a.filename.endswith(".json")]
        found.append((t.bundle.removeprefix("media-"), t.template_id, get_asset_path(t.template_id, name)))
else:
    for m in pkgutil.iter_modules():
        if m.name.startswith("comfyui_workflow_templates_media_"):
            folder = pathlib.Path(importlib.util.find_spec(m.name).origin).parent / "templates"
            found += [(m.name.rsplit("media_", 1)[1], p.stem, str(p)) for p in folder.glob("*.json")]
print(json.dumps(sorted(found)))
"""


def is_workflow(path: str) -> bool:
    """The manifest also lists the template browser's own files (index.json and its translations,
    its schema): data about templates, not workflows a user opens."""
    data = json.loads(Path(path).read_text())
    return isinstance(data, dict) and isinstance(data.get("nodes"), list)


def pinned_templates(leg: matrix.Leg) -> list[tuple[str, str]]:
    """Every workflow template a ComfyUI pins: ("bundle/id", JSON path)."""
    out = subprocess.run([str(leg.python), "-c", LIST_TEMPLATES], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    listed = [(f"{bundle}/{tid}", path) for bundle, tid, path in json.loads(out)]
    found = [t for t in listed if is_workflow(t[1])]
    log.info("ComfyUI %s pins %d templates (%d other entries are not workflows)",
             leg.name, len(found), len(listed) - len(found))
    assert found, f"ComfyUI {leg.name} pins no workflow templates: run `bash .ci/setup.sh`"
    return found


def corpus() -> tuple[list[tuple[str, str]], int, str]:
    """The templates this leg runs, as (name, JSON path); how many it pins; which set that is.

    The base leg runs every template it pins. Another leg runs the templates the base leg runs
    that it pins too (same template id, in its own revision), because every template it pins
    does not fit the CI budget: one leg's e2e suite should stay near 5 minutes on the 2-core CI
    machine, and the base leg's 77 templates already take 100-190 s of them (as loaded as the
    machine is). ComfyUI 0.33 pins 506 workflow templates: at the measured ~1.3 s each, ~11
    minutes (a run of all of them on the shared machine passed 15); its media-image and
    media-video bundles alone, the base leg's definition, hold 251 (~5.5 minutes). The cost is
    CPU (the frontend opening each graph, the queue-time checks, the worker's validation), not
    the pack's 100 requests/minute per key, so more client ComfyUIs or keys do not close the gap.
    The shared set proves the same workflows on both ComfyUIs, as each ComfyUI ships them, at
    the base leg's cost. The leg's other templates are counted in every summary line, never
    silently dropped; FLOYO_TEMPLATES=all runs every pinned template on every leg.
    """
    pinned = pinned_templates(COMFY_LEG)
    if COMFY_LEG == BASE_LEG or EVERY_TEMPLATE:
        return pinned, len(pinned), "every pinned template"
    base_ids = {name.split("/", 1)[1] for name, _ in pinned_templates(BASE_LEG)}
    shared = [(name, path) for name, path in pinned if name.split("/", 1)[1] in base_ids]
    return shared, len(pinned), f"those ComfyUI {BASE_LEG.name} also pins; FLOYO_TEMPLATES=all runs all"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Worker ComfyUI (with the remote-only test node, without the pack), gateway, two clients."""
    require_comfyui()
    worker = Comfy(tmp_path_factory.mktemp("corpus-worker"), pack=False)
    (worker.custom_nodes_dir / "remote_only").symlink_to(WORKER_NODES / "remote_only")
    gateway = ServerThread(server=GatewayServer(worker.url, keys=list(CLIENT_KEYS))).start()
    clients = [Comfy(tmp_path_factory.mktemp("corpus-client"), env={
        "FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": key})
        for key in CLIENT_KEYS]
    try:
        with ThreadPoolExecutor(3) as pool:
            for started in [pool.submit(c.start) for c in (worker, *clients)]:
                started.result()
        yield Corpus(worker, gateway, clients)
    finally:
        for comfy in (*clients, worker):
            comfy.stop()
        gateway.stop()


def refusal_text(refused: dict) -> str:
    """The Floyo message in ComfyUI's 400 answer to /prompt (a failed queue-time check)."""
    errors = [e for info in (refused.get("node_errors") or {}).values() for e in info.get("errors", [])]
    return " | ".join(str(e.get("details") or e.get("message")) for e in errors) or json.dumps(refused)


def wait_all(comfy: Comfy, prompt_ids: list[str], timeout: float = DEADLINE_S) -> dict[str, dict]:
    end, done = time.monotonic() + timeout, {}
    while len(done) < len(prompt_ids) and time.monotonic() < end:
        for prompt_id in prompt_ids:
            entry = done.get(prompt_id) or comfy.history(prompt_id)
            if entry and entry.get("status", {}).get("status_str") in ("success", "error"):
                done[prompt_id] = entry
        time.sleep(0.5)
    return done


def sealed_remote(entry: dict, floyo_id: str) -> dict:
    """The remote part the client's prompt hook sealed into the Floyo node (what it sent)."""
    sealed = json.loads(entry["prompt"][2][floyo_id]["inputs"]["workflow"])[ENVELOPE]
    assert sealed["kind"] == "split", sealed
    return sealed["body"]


def floyo_error(entry: dict) -> str | None:
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    if not errors:
        return None
    assert errors[0]["node_type"] == "FloyoRemoteRun", errors[0]  # the error is the Floyo node's
    return errors[0]["exception_message"]


def check_accepted(stack: Corpus, t: dict, entry: dict, outputs: set[str]) -> tuple[str, str]:
    """Sent whole, then success or a clear Floyo error; returns the outcome and its message."""
    remote, local = sealed_remote(entry, t["floyo"]), entry["prompt"][2]
    assert all(isinstance(n.get("class_type"), str) for n in remote.values()), t["name"]
    assert set(t["nodes"]) <= set(remote) | set(local), f"{t['name']}: nodes neither sent nor kept"
    message = floyo_error(entry)
    if message is None:  # success: every remote output node made its outputs on the worker
        (run,) = [r for r in stack.gateway.runs.values() if r.name.startswith(f"corpus {t['name']} ")]
        made = stack.worker.history(run.prompt_id)["outputs"]
        missing = [i for i, n in remote.items() if n["class_type"] in outputs and i not in made]
        assert not missing, f"{t['name']}: silently partial, outputs {missing} made nothing"
        return "succeeded", ""
    assert message.startswith("Floyo run run_") and "failed" in message, f"{t['name']}: {message}"
    partly = "failed validation on the ComfyUI worker" in message
    return ("sent, failed: partly valid" if partly else "sent, failed"), message


@pytest.mark.timeout(SCRIPT_TIMEOUT + DEADLINE_S + 120)
def test_every_template_is_sent_whole_or_refused_at_queue_time_and_none_hangs_or_is_partial(
        stack, record_property):
    templates, pinned, which = corpus()
    record_property("templates_pinned", pinned)
    record_property("templates_run", len(templates))
    shared = [[name, path, i % len(stack.clients)] for i, (name, path) in enumerate(templates)]
    t0 = time.monotonic()
    res = run_script("templates_corpus.mjs", stack.clients[0], timeout=SCRIPT_TIMEOUT,
                     TEMPLATES=json.dumps(shared), CLIENT_URLS=json.dumps([c.url for c in stack.clients]))
    # never a template skipped: every listed one reached the frontend and an outcome
    assert sorted(t["name"] for t in res["templates"]) == sorted(n for n, _ in templates)
    accepted, entries = [t for t in res["templates"] if t.get("answer")], {}
    for index, client in enumerate(stack.clients):
        queued = [t["answer"]["prompt_id"] for t in accepted if t["client"] == index]
        entries |= wait_all(client, queued)
    hung = [t["name"] for t in accepted if t["answer"]["prompt_id"] not in entries]
    assert not hung, f"not ended within {DEADLINE_S:.0f}s: {hung}"
    info = stack.worker.get("/object_info")[1]
    outputs = {name for name, spec in info.items() if spec.get("output_node")}
    outcomes: dict[str, tuple[str, str]] = {}
    for t in res["templates"]:
        assert t.get("answer") or t.get("refused"), \
            f"{t['name']}: never reached /prompt: {t.get('opened') or t.get('queued')}"
        if t.get("refused"):
            text = refusal_text(t["refused"])
            assert "Floyo" in text and "class_type" not in text, f"{t['name']}: {text}"
            outcomes[t["name"]] = ("refused at queue time", text)
        else:
            outcomes[t["name"]] = check_accepted(stack, t, entries[t["answer"]["prompt_id"]], outputs)
    for comfy in (*stack.clients, stack.worker):  # no server crashed
        assert comfy.running and comfy.get("/system_stats")[0] == 200
    counts = Counter(outcome for outcome, _ in outcomes.values())
    tally = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    summary = (f"ComfyUI {COMFY_LEG.name}: {len(templates)} of its {pinned} templates run ({which}) "
               f"in {time.monotonic() - t0:.0f}s: {tally}")
    log.info("%s\n%s", summary, json.dumps(outcomes, indent=1, sort_keys=True))
    if os.environ.get("FLOYO_TEMPLATES_REPORT"):  # for docs/templates.md
        Path(os.environ["FLOYO_TEMPLATES_REPORT"]).write_text(json.dumps(outcomes, indent=1, sort_keys=True))
    record_property("summary", summary)  # printed at the end of the run (tests/e2e/conftest.py)


@pytest.mark.timeout(180)
def test_a_node_only_the_worker_has_runs_there_and_its_ambiguous_save_is_refused(stack):
    known = set(stack.gateway.runs)
    res = run_script("remote_only_node.mjs", stack.clients[0], timeout=150, WORKER_URL=stack.worker.url)
    named, older = res["runs"]
    assert named.get("answer") and older.get("refused"), json.dumps(res)[:4000]
    assert named["nodes"][str(res["savedTint"]["id"])] is None  # the frontend gave it no class_type
    entry = stack.clients[0].wait(named["answer"]["prompt_id"], timeout=60)
    assert entry["status"]["status_str"] == "success", entry["status"]
    (run,) = [r for r in stack.gateway.runs.values() if r.id not in known]
    sent = stack.worker.history(run.prompt_id)["prompt"][2]
    (tint,) = [n for n in sent.values() if n["class_type"] == "RemoteOnlyTint"]
    widgets = {k: v for k, v in tint["inputs"].items() if k != "image"}
    assert widgets == {"seed": 5, "amount": 200, "mode": "add"}  # by name; "randomize" left out
    [image] = entry["outputs"][named["preview"]]["images"]
    with Image.open(stack.clients[0].temp_dir / image["subfolder"] / image["filename"]) as im:
        assert im.convert("RGB").getpixel((16, 16)) == (0x20 + 200, 0x20, 0x20)  # tinted on the worker

    message = refusal_text(older["refused"])
    assert "RemoteOnlyTint" in message and "install" in message and "'embedded'" in message, message
    assert "exported from Floyo" in message and "class_type" not in message
    new_runs = [r for r in stack.gateway.runs.values() if r.id not in known]
    assert len(new_runs) == 1, "the refused workflow must send nothing"


def test_a_remote_graph_the_worker_can_run_only_in_part_fails_naming_the_output_it_dropped(stack):
    empty = {"width": 8, "height": 8, "batch_size": 1, "color": 0}
    remote = {"1": {"class_type": "EmptyImage", "inputs": empty},
              "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},  # valid
              "3": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 99, "sigma": 1}},
              "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "never"}}}
    known = set(stack.gateway.runs)
    client = stack.clients[0]
    error = node_error(client.run({"1": remote_run_of(remote), "2": {"class_type": "PreviewImage",
                                                                  "inputs": {"images": ["1", 0]}}}))
    message = error["exception_message"]
    assert "4 (SaveImage) failed validation on the ComfyUI worker" in message and "blur_radius" in message
    (run,) = [r for r in stack.gateway.runs.values() if r.id not in known]
    assert run.phase.value == "failed" and not list(stack.worker.output_dir.glob("never*"))
