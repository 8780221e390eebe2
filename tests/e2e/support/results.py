"""Reading what a finished prompt left: its /history entry's error or success, the files its save
nodes wrote, and their pixels. Checks only: nothing here queues a prompt or waits for one.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def saved_images(comfy, entry: dict, node: str) -> list[Path]:
    return [comfy.base / "output" / i["subfolder"] / i["filename"] for i in entry["outputs"][node]["images"]]


SIDECAR = "floyo-run.json"  # the run folder's provenance (floyo_client/provenance.py), not an output


def run_outputs(folder: Path) -> list[Path]:
    """The files a run folder holds that Floyo sent: everything but the provenance sidecar."""
    return sorted(p for p in folder.iterdir() if p.name != SIDECAR)


def node_error(entry: dict) -> dict:
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert errors, f"expected an execution error, got {entry['status']}"
    return errors[0]


def succeeded(entry: dict) -> bool:
    errors = [m[1].get("exception_message") for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert entry["status"]["status_str"] == "success", errors or entry["status"]
    return True


def center_is(path: Path, rgb: tuple[int, int, int]) -> bool:
    """The middle pixel is ``rgb``, give or take float rounding on the way."""
    with Image.open(path) as im:
        got = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
    return all(abs(a - b) <= 2 for a, b in zip(got, rgb, strict=True))
