"""The pack registers with ComfyUI's V3 API when it exists and falls back to V1 mappings on an
older ComfyUI — never both, since ComfyUI ignores comfy_entrypoint beside NODE_CLASS_MAPPINGS —
and importing it where no server exists never breaks."""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_pack_as(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py",
                                                  submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _fake(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)
    module.__dict__.update(attrs)
    return module


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    for name in ("comfy_api", "comfy_api.latest", "folder_paths", "server"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield monkeypatch
    for name in [n for n in sys.modules if n.startswith("floyo_reg_")]:
        del sys.modules[name]


def test_outside_comfyui_the_pack_imports_and_registers_nothing(isolated):
    pack = _load_pack_as("floyo_reg_plain")
    assert pack.WEB_DIRECTORY == "./web" and (ROOT / "web").is_dir()
    assert not hasattr(pack, "NODE_CLASS_MAPPINGS") and not hasattr(pack, "comfy_entrypoint")


def test_a_comfyui_with_v3_gets_only_comfy_entrypoint(isolated):
    isolated.setitem(sys.modules, "comfy_api", _fake("comfy_api"))
    isolated.setitem(sys.modules, "comfy_api.latest", _fake("comfy_api.latest"))
    pack = _load_pack_as("floyo_reg_v3")
    assert asyncio.iscoroutinefunction(pack.comfy_entrypoint)
    assert not hasattr(pack, "NODE_CLASS_MAPPINGS")


def test_an_older_comfyui_gets_v1_mappings_that_work_without_a_server(isolated, tmp_path):
    isolated.setitem(sys.modules, "folder_paths", _fake(
        "folder_paths", get_user_directory=lambda: str(tmp_path / "user"),
        get_output_directory=lambda: str(tmp_path / "output")))
    pack = _load_pack_as("floyo_reg_v1")
    assert not hasattr(pack, "comfy_entrypoint")
    mappings = pack.NODE_CLASS_MAPPINGS
    assert {"FloyoRemoteRun", "FloyoRunStatus", "FloyoFetchOutputs", "FloyoOverrideText"} <= set(mappings)
    remote = mappings["FloyoRemoteRun"]
    types_ = remote.INPUT_TYPES()
    assert list(types_["required"]) == ["source", "workflow"]
    assert types_["required"]["source"][0] == ["embedded", "current graph", "floyo workflow"]
    assert remote.RETURN_NAMES == ("images", "masks", "run_id", "files", "video", "audio", "result")
    assert remote.OUTPUT_NODE
    assert mappings["FloyoRunStatus"].IS_CHANGED() != mappings["FloyoRunStatus"].IS_CHANGED()
    override = mappings["FloyoOverrideText"]()
    (chain,) = asyncio.run(override.execute(target="Prompt", input="text", value="cat", unique_id="4"))
    assert [(o.target, o.input, o.value) for o in chain] == [("Prompt", "text", "cat")]
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["FloyoRemoteRun"] == "Floyo Remote Run"
