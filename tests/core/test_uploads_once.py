"""An input file goes to the team's files once: named by its content, remembered in the journal,
so a restarted ComfyUI (or another machine of the team) gets the same ``input_path`` for the same
bytes, which keeps the workflow's hash, and so its reuse, the same."""

from __future__ import annotations

import hashlib

from floyo_pack.floyo_client import Journal, upload_once
from floyo_pack.floyo_client.keystate import forget_key_states

from .conftest import make_client

PNG = b"\x89PNG the same bytes"


def _restart(monkeypatch) -> None:
    """What a new ComfyUI process starts with: nothing remembered in memory (each client of
    ``make_client`` has a key state of its own; the process's is dropped too)."""
    forget_key_states()


async def test_identical_bytes_keep_their_input_path_after_a_restart_with_no_second_upload(
        floyo, monkeypatch, tmp_path):
    path = tmp_path / "floyo" / "runs.sqlite3"
    async with make_client(floyo) as client:
        first = await upload_once(client, PNG, "example.png", journal=Journal(path))
    _restart(monkeypatch)
    async with make_client(floyo) as client:
        again = await upload_once(client, PNG, "example.png", journal=Journal(path))
    assert again.input_path == first.input_path
    (upload,) = floyo.uploads
    assert upload.file_name == f"comfyui_{hashlib.sha256(PNG).hexdigest()}.png"
    assert upload.on_conflict == "fail", "a clash is never answered with a renamed second copy"


async def test_bytes_the_team_already_holds_are_not_uploaded_again_by_a_machine_that_never_sent_them(
        floyo, monkeypatch, tmp_path):
    async with make_client(floyo) as client:
        theirs = await upload_once(client, PNG, "a.png", journal=Journal(tmp_path / "a" / "runs.sqlite3"))
    _restart(monkeypatch)
    mine = Journal(tmp_path / "b" / "runs.sqlite3")
    async with make_client(floyo) as client:
        await upload_once(client, b"another file first", "other.png", journal=mine)
        same = await upload_once(client, PNG, "a.png", journal=mine)
    assert same.input_path == theirs.input_path
    sent = [u for u in floyo.uploads if u.sha256 == hashlib.sha256(PNG).hexdigest()]
    assert len(sent) == 1, [u.file_name for u in sent]
    _restart(monkeypatch)
    async with make_client(floyo) as client:  # remembered from the 409 on: not even asked again
        await upload_once(client, PNG, "a.png", journal=mine)
    assert len(floyo.uploads) == 2 and len(floyo.requests.filter("POST", "/upload", "cdn")) == 3
