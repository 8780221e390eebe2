"""Configuration is read at use from the environment, then the key file; the key file is
private (0600) and the status a UI may show says where a key came from, never what it is."""

from __future__ import annotations

import os
import stat

import pytest
from floyo_pack.floyo_client import ConfigError, key_status, load_config, write_key_file


def test_environment_wins_over_the_key_file(tmp_path):
    key_file = tmp_path / "floyo" / "api_key"
    write_key_file(key_file, "flo_from_file_000")
    assert load_config(key_file, {}).api_key == "flo_from_file_000"
    assert load_config(key_file, {}).key_source == "key file"
    env = {"FLOYO_API_KEY": "flo_from_env_0000"}
    assert load_config(key_file, env).api_key == "flo_from_env_0000"
    assert key_status(key_file, env) == {"configured": True, "source": "environment"}


def test_key_file_is_written_private_and_status_never_contains_the_key(tmp_path):
    key_file = tmp_path / "floyo" / "api_key"
    write_key_file(key_file, "  flo_secret_value_1  ")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    status = key_status(key_file, {})
    assert status == {"configured": True, "source": "key file"} and "secret" not in repr(status)


def test_missing_key_error_says_how_to_set_one(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "none", {})
    assert "FLOYO_API_KEY" in str(caught.value) and "settings" in str(caught.value)


@pytest.mark.parametrize("bad", ["", "has space inside", "x" * 600, "short"])
def test_malformed_keys_are_refused(tmp_path, bad):
    with pytest.raises(ConfigError):
        write_key_file(tmp_path / "k", bad)


def test_defaults_point_at_floyo_and_urls_are_normalised():
    config = load_config(None, {"FLOYO_API_KEY": "flo_abcdefgh", "FLOYO_CDN_URL": "https://cdn.example/"})
    assert config.api_url == "https://api.floyo.ai" and config.cdn_url == "https://cdn.example"
    with pytest.raises(ConfigError):
        load_config(None, {"FLOYO_API_KEY": "flo_abcdefgh", "FLOYO_API_URL": "ftp://x"})


def test_key_write_never_follows_a_symlink_planted_beside_the_key_file(tmp_path):
    key_file = tmp_path / "floyo" / "api_key"
    key_file.parent.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("api_key.tmp", ".api_key.tmp", "api_key~"):  # any guessable temp name
        (key_file.parent / name).symlink_to(victim)
    write_key_file(key_file, "flo_secret_value_1")
    assert victim.read_text() == "precious"
    assert not key_file.is_symlink() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == "flo_secret_value_1"


def test_the_key_file_and_its_folder_are_fsynced_before_the_write_returns(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        synced.append("dir" if stat.S_ISDIR(mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_key_file(tmp_path / "floyo" / "api_key", "flo_secret_value_1")
    assert synced == ["file", "dir"]


def test_a_failed_key_write_leaves_no_temp_file_with_the_key(tmp_path):
    key_file = tmp_path / "floyo" / "api_key"
    (key_file / "occupied").mkdir(parents=True)  # the rename onto a non-empty folder fails
    with pytest.raises(OSError):
        write_key_file(key_file, "flo_secret_value_1")
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["api_key"]


def test_outage_limit_comes_from_floyo_outage_limit_min_default_30():
    from floyo_pack.floyo_client.config import outage_limit_s

    assert outage_limit_s({}) == 30 * 60
    assert outage_limit_s({"FLOYO_OUTAGE_LIMIT_MIN": "0.5"}) == 30
    with pytest.raises(ConfigError, match="FLOYO_OUTAGE_LIMIT_MIN"):
        outage_limit_s({"FLOYO_OUTAGE_LIMIT_MIN": "soon"})
