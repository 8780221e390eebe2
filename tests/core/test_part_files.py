"""Unfinished downloads left by a crash: the next start removes their ``.part`` files, and never
the file of a download still running, in this process or another one sharing the output folder.

Writers are real downloads' sinks in real processes: one killed with SIGKILL (as a crash or the
OOM killer leaves it), one alive.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from floyo_pack.floyo_client import sweep_parts
from floyo_pack.floyo_client.download import Sink

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import importlib.util, sys, time
from pathlib import Path
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("floyo_pack", root + "/__init__.py",
                                              submodule_search_locations=[root])
pack = importlib.util.module_from_spec(spec)
sys.modules["floyo_pack"] = pack
spec.loader.exec_module(pack)
from floyo_pack.floyo_client.download import Sink
sink = Sink(Path(sys.argv[2]), 1024)
sink.add(b"paid bytes so far")
sink.file.flush()
print("holding", flush=True)
time.sleep(120)
"""

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the kill and the lock are POSIX here")


async def _writer(part: Path) -> asyncio.subprocess.Process:
    """A process downloading into ``part``, once it holds it."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLDER, str(ROOT), str(part),
                                                stdout=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"holding", "the writer process did not start"
    return proc


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 30)


async def test_part_files_left_by_a_killed_download_are_removed_and_a_live_downloads_part_stays(tmp_path):
    root = tmp_path / "output" / "floyo"
    run = root / "run_abc123"
    (run / "floyo-9").mkdir(parents=True)
    crashed, live = run / "a.png.0123abcd.part", run / "floyo-9" / "b.png.89abcdef.part"
    here = run / "c.png.deadbeef.part"
    kept = [run / "d.png", run / "notes.part", run / "e.png.xyz.part"]  # not a download's part
    for path in kept:
        path.write_bytes(b"the user's")
    killed = await _writer(crashed)
    await _end(killed)  # a crash: the process is gone, its .part stays behind
    alive = await _writer(live)
    sink = Sink(here, 1024)  # this process's own download in progress
    try:
        assert crashed.exists() and live.exists()
        assert sweep_parts(root) == 1
        assert not crashed.exists() and live.exists() and here.exists()
        assert all(p.read_bytes() == b"the user's" for p in kept)
        await _end(alive)
        assert sweep_parts(root) == 1 and not live.exists()
    finally:
        await _end(alive)
        await sink.discard()
    assert sorted(p.name for p in run.iterdir()) == sorted(["floyo-9", *(p.name for p in kept)])


async def test_a_sweep_never_follows_a_symlink_out_of_the_output_folder(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "x.png.0123abcd.part"
    target.write_bytes(b"not ours")
    root = tmp_path / "output" / "floyo"
    root.mkdir(parents=True)
    (root / "run_link").symlink_to(outside, target_is_directory=True)
    (root / "y.png.89abcdef.part").symlink_to(target)
    assert sweep_parts(root) == 0
    assert target.read_bytes() == b"not ours"
