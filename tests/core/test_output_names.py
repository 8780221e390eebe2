"""Output file names: whatever a server calls its files, each output gets its own file inside the
run's folder, on Linux, macOS and Windows alike (case-insensitive disks, device names, short
name limits), and no name can escape the folder or overwrite another output."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from floyo_pack.floyo_client import RunOutput, media
from floyo_pack.floyo_client.names import MAX_NAME_BYTES, output_names, path_inside, safe_name

HOSTILE = ["../x.png", "../../../../etc/passwd", "/etc/passwd", "..\\..\\x.png", "C:\\Windows\\x.png",
           "C:x.png", "a\x00b.png", "", ".", "..", "...", " ", " . ", "a.png.part", "A.PNG.PART", "x/../../y",
           "\\\\server\\share\\z.png", "a/b/", "name.png:stream", "\u202egnp.exe", "CON", "nul.txt"]


def test_names_differing_only_in_case_get_distinct_files():
    names = output_names(["a.png", "A.PNG", "a.PNG"])
    assert len({n.casefold() for n in names}) == 3
    assert names[0] == "a.png" and names[1].endswith(".PNG") and names[2].endswith(".PNG")


def test_a_suffixed_name_never_lands_on_a_later_output():
    names = output_names(["a.png", "a.png", "a_1.png", "A_1.png"])
    assert len({n.casefold() for n in names}) == 4 and names[0] == "a.png"


@pytest.mark.parametrize("raw", ["x" * 300 + ".png", "é" * 200 + ".webp", "y" * 500, "z" * 200 + ".tar.gz"])
def test_long_names_are_shortened_keeping_the_extension(raw):
    name = safe_name(raw, 0)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith(Path(raw).suffix) and name[:5] == raw[:5]


def test_long_duplicates_stay_short_and_distinct():
    names = output_names(["x" * 300 + ".png"] * 3)
    assert len(set(names)) == 3
    assert all(len(n.encode()) <= MAX_NAME_BYTES and n.endswith(".png") for n in names)


@pytest.mark.parametrize("raw", ["CON.png", "con", "Nul.txt", "com1.tar.gz", "LPT9.jpg", "aux ", "PRN .png",
                                 "COM\u00b9.png"])
def test_windows_reserved_names_are_prefixed(raw):
    name = safe_name(raw, 0)
    assert name.startswith("_") and name[1:4].upper() == raw[:3].upper()


@pytest.mark.parametrize("raw", ["console.png", "nullable.txt", "com10.png", "lpt.png", "CONFIG.json"])
def test_names_that_only_start_like_a_device_are_kept(raw):
    assert safe_name(raw, 0) == raw


@pytest.mark.parametrize("raw", HOSTILE)
def test_nothing_a_server_sends_escapes_the_run_folder(raw, tmp_path):
    [name] = output_names([raw])
    path = path_inside(tmp_path, name)
    assert path.parent == tmp_path and name not in ("", ".", "..") and not name.startswith(" ")
    assert not any(c in name for c in "/\\:\x00") and not name.lower().endswith(".part")


def test_hostile_names_together_never_share_a_file(tmp_path):
    names = output_names(HOSTILE + ["x.png", "X.png", "passwd", "PASSWD"])
    assert len({n.casefold() for n in names}) == len(names)


def test_random_names_always_give_distinct_safe_components(tmp_path):
    rng = random.Random(10)
    alphabet = "aA./\\:\x00 .-_()éÉ\u0301CONnul1"
    raws = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(2000)]
    names = output_names(raws)
    assert len({n.casefold() for n in names}) == len(raws)
    assert all(path_inside(tmp_path, n).parent == tmp_path for n in names)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b", "a\x00b", "x.png.part"])
def test_path_inside_refuses_anything_but_one_plain_name(bad, tmp_path):
    with pytest.raises(ValueError):
        path_inside(tmp_path, bad)


@pytest.mark.parametrize(("name", "mime", "image"), [
    ("a.tif", None, True), ("a.TIFF", None, True), ("a.avif", None, True), ("a.jfif", "", True),
    ("out", "image/png", True), ("x.bin", "Image/WebP", True), ("a.png", "application/octet-stream", True),
    ("out.mp4", None, False), ("meta.json", "application/json", False), ("png", None, False),
])
def test_an_output_is_an_image_by_its_mime_type_or_any_image_extension(name, mime, image):
    assert RunOutput(id="file_1", file_name=name, mime_type=mime).is_image is image
    assert media.is_image(name, mime) is image


@pytest.mark.parametrize(("name", "mime", "kind"), [
    ("clip_floyo-9_00001_.mp4", None, "video"), ("a.webm", "video/webm", "video"),
    ("song.ogg", "video/ogg", "audio"), ("take.FLAC", None, "audio"), ("x.bin", "audio/mpeg", "audio"),
    ("anim.gif", "image/gif", "image"), ("scan.tif", None, "image"), ("notes.txt", "text/plain", "file"),
    ("raw", None, "file")])
def test_one_module_says_what_kind_every_output_is(name, mime, kind):
    assert media.kind_of(name, mime) == kind == RunOutput(id="f", file_name=name, mime_type=mime).kind
