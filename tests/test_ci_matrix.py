"""The CI matrix (.ci/comfyui-matrix.txt) names each ComfyUI once, the base first, and a leg is
picked by its version or a prefix of it (the demo's ``--comfyui 0.33``, the tests' FLOYO_COMFYUI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from floyo_scripted import matrix


def test_each_comfyui_of_the_matrix_has_a_folder_of_its_own_and_the_base_is_the_ci_dir():
    legs = matrix.legs(Path("/ci"))
    assert [g.name for g in legs][:2] == ["0.3.75", "0.33.0"]
    assert legs[0].python == Path("/ci/venv/bin/python") and legs[0].comfyui == Path("/ci/ComfyUI")
    assert legs[1].folder == Path("/ci/comfyui-0.33.0") and legs[1].frontend == "1.58.1"
    assert len({g.folder for g in legs}) == len(legs)


def test_a_leg_is_picked_by_version_or_prefix_and_an_unknown_one_is_refused_naming_the_others():
    assert matrix.leg(Path("/ci"), None).name == "0.3.75"
    assert matrix.leg(Path("/ci"), "0.33").name == matrix.leg(Path("/ci"), "0.33.0").name == "0.33.0"
    with pytest.raises(ValueError, match=r"0\.3\.75, 0\.33\.0"):
        matrix.leg(Path("/ci"), "0.9")
    with pytest.raises(ValueError):
        matrix.leg(Path("/ci"), "0")  # a prefix of both: never a guess
