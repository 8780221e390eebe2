"""The one-command demo (``bash demo/run``): the pack doing its whole job with no Floyo account.

Starts a worker ComfyUI (no pack), the Floyo-compatible gateway over it and a client ComfyUI with
the pack, all on loopback; runs every workflow in ``demo/workflows/`` on the client (its
``FloyoRemoteRun`` node sends the remote part through the gateway to the worker) and prints where
every image, video and sound it got back is. ``demo_media.json`` uploads ComfyUI's
``input/example.png`` and a chime (``chime.py``), detects edges, makes a video with sound and routes
one remote output node to a Floyo Select Output. Those run on a CPU worker without model files;
``example_workflows/`` (real text-to-image and text-to-video models) is copied into the client's
Workflows panel to open by hand. With ``--floyo`` the client talks to Floyo itself
(``FLOYO_API_KEY``; costs FloTime). Stops everything it started on exit unless ``--keep-running``
(then on Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from chime import write_chime
from procs import ComfyUI, Gateway

log = logging.getLogger("floyo.demo")

REPO = Path(__file__).resolve().parents[1]
DEMO_WORKFLOWS = REPO / "demo" / "workflows"  # toy graphs a CPU worker runs without model files
CI_DIR = Path(os.environ.get("FLOYO_CI_DIR") or Path.home() / ".cache" / "floyo-ci")
KEY = "flo_demo_key"  # the gateway's only key; it exists nowhere else
CHIME = "floyo_demo_chime.wav"  # demo_media.json's LoadAudio names it
VIDEO_SUFFIXES = {".mp4", ".webm", ".mov", ".mkv"}
AUDIO_SUFFIXES = {".flac", ".wav", ".mp3", ".opus", ".ogg", ".m4a"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bash demo/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-running", action="store_true",
                        help="after the examples, keep the servers up (open the printed URL) until Ctrl-C")
    parser.add_argument("--floyo", action="store_true",
                        help="no worker or gateway: send the examples to Floyo (needs FLOYO_API_KEY)")
    parser.add_argument("--workdir", type=Path,
                        help="where the servers' folders go (default: a new temp dir)")
    parser.add_argument("--comfyui", metavar="VERSION",
                        help="which ComfyUI of .ci/comfyui-matrix.txt runs the worker and client "
                             "(e.g. 0.33; default: the oldest, the one any registry provides)")
    return parser.parse_args(argv)


def load_helper(name: str) -> ModuleType:
    """One of the tests' plain helpers (tests/floyo_scripted/: ``ui_format``, the UI→API
    converter, or ``matrix``, the CI's ComfyUIs; no imports of the pack), loaded by path."""
    path = REPO / "tests" / "floyo_scripted" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"floyo_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def start_servers(args: argparse.Namespace, work: Path, started: list[Any]) -> ComfyUI:
    """Launch the servers (worker and client start in parallel), adding each to ``started`` at once
    so that a failure still stops them; returns the client."""
    leg = load_helper("matrix").leg(CI_DIR, args.comfyui)
    if not leg.python.exists():
        raise SystemExit(f"ComfyUI {leg.name} is not set up here ({leg.folder}): .ci/setup.sh builds it "
                         f"only where its source {leg.source} exists")
    log.info("ComfyUI %s with frontend %s", leg.name, leg.frontend)
    comfy_dir, python = leg.comfyui, str(leg.python)
    env: dict[str, str] = {}
    if not args.floyo:
        worker = ComfyUI("worker", comfy_dir, work / "worker", python=python)
        worker.start()
        started.append(worker)
        gateway = Gateway(REPO, worker.url, KEY, work / "gateway.log")
        started.append(gateway)
        env = {"FLOYO_API_URL": gateway.api_url, "FLOYO_CDN_URL": gateway.cdn_url, "FLOYO_API_KEY": KEY}
    client = ComfyUI("client", comfy_dir, work / "client", pack=REPO, env=env, python=python)
    add_input_files(comfy_dir, client.base / "input")
    for example in sorted([*DEMO_WORKFLOWS.glob("*.json"), *(REPO / "example_workflows").glob("*.json")]):
        shutil.copy(example, client.base / "user" / "default" / "workflows" / example.name)
    client.start()
    started.append(client)
    t0 = time.monotonic()
    for server in started:
        server.wait_ready()
    log.info("servers up in %.1fs", time.monotonic() - t0)
    return client


def add_input_files(comfy_dir: Path, inputs: Path) -> None:
    """The local files the demo's remote loaders name, in the client's input folder (uploaded from
    there): ComfyUI's own example picture and the chime."""
    if not (inputs / "example.png").exists():
        shutil.copy(comfy_dir / "input" / "example.png", inputs / "example.png")
    write_chime(inputs / CHIME)


def shown_files(client: ComfyUI, entry: dict[str, Any],
                prompt: dict[str, Any]) -> list[tuple[str, Path]]:
    """(node title, path) of every file a node of the client shows: saved outputs and previews."""
    found = []
    for node_id, output in entry.get("outputs", {}).items():
        title = prompt.get(node_id, {}).get("_meta", {}).get("title") or node_id
        for key in ("images", "audio"):
            for item in output.get(key) or []:
                if isinstance(item, dict) and "filename" in item:
                    folder = client.base / ("temp" if item.get("type") == "temp" else "output")
                    found.append((title, folder / item.get("subfolder", "") / item["filename"]))
    return found


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    return "video" if suffix in VIDEO_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else \
        "image" if suffix in IMAGE_SUFFIXES else "file"


def report(client: ComfyUI, entry: dict[str, Any], prompt: dict[str, Any]) -> None:
    """Where everything is: each run's folder of saved outputs, then what each node shows."""
    shown = shown_files(client, entry, prompt)
    runs = sorted({p.parent for _, p in shown if p.parent.parent == client.output_dir / "floyo"})
    for run in runs:
        out(f"      saved by the pack in {run}/")
        for file in sorted(run.iterdir()):
            out(f"        {kind_of(file):5}  {file.name}")
    for title, path in shown:
        if path.parent not in runs:
            out(f"      {kind_of(path):5} on {title!r}: {path}")


def error_text(entry: dict[str, Any]) -> str:
    for name, data in entry.get("status", {}).get("messages", []):
        if name == "execution_error":
            return f"{data.get('node_type')} {data.get('node_id')}: {data.get('exception_message')}"
    return "interrupted" if entry.get("status") else "no status"


def run_examples(client: ComfyUI, ui_format: ModuleType) -> bool:
    """Run every example on the client; prints where each one's files are. True if all succeeded."""
    info = client.get("/object_info")
    all_ok = True
    for path in sorted(DEMO_WORKFLOWS.glob("*.json")):
        prompt = ui_format.ui_to_api(json.loads(path.read_text()), info)
        t0 = time.monotonic()
        entry = client.run(prompt)
        seconds = time.monotonic() - t0
        if entry["status"]["status_str"] != "success":
            all_ok = False
            out(f"  {path.name}: FAILED after {seconds:.1f}s: {error_text(entry)}")
            continue
        out(f"  {path.name}: done in {seconds:.1f}s")
        report(client, entry, prompt)
    return all_ok


def out(line: str) -> None:
    """A result line for the user, on stdout (logs go to stderr)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="demo: %(message)s")
    if args.floyo and not os.environ.get("FLOYO_API_KEY"):
        log.error("--floyo needs FLOYO_API_KEY (a key from Floyo > Team Settings > Floyo API)")
        return 2
    if args.floyo:
        log.warning("sending the examples to Floyo itself: this spends your team's FloTime")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="floyo-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started: list[Any] = []
    try:
        ui_format = load_helper("ui_format")
        log.info("starting the servers in %s (their logs are there too)", work)
        client = start_servers(args, work, started)
        where = "Floyo" if args.floyo else "the gateway -> worker ComfyUI"
        out(f"Running demo/workflows/ on the client ComfyUI through {where}:")
        ok = run_examples(client, ui_format)
        out(f"The pack also keeps every remote output under {client.output_dir / 'floyo'}/<run id>/")
        out(f"Client ComfyUI (with the pack): {client.url}/")
        out(f"Everything (outputs, logs) is under {work}")
        if args.keep_running:
            out("Servers keep running; press Ctrl-C to stop them.")
            signal.pause()
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 130
    finally:
        for server in reversed(started):
            server.stop()
        if started:
            log.info("stopped every server the demo started")


if __name__ == "__main__":
    sys.exit(main())
