"""The API key is a credential worth money: it goes to the API and CDN origins only, never to a
presigned-URL host (redirects included), and never into a log record or an error message."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from floyo_pack.floyo_client import (
    AuthError,
    Config,
    ConfigError,
    FloyoError,
    Hooks,
    RunHandle,
    Transport,
    download_outputs,
    load_config,
    start_run,
)
from floyo_scripted import OutputSpec, RunError, Step

from .conftest import KEY, WORKFLOW, make_client


async def _full_run(client, fake_time) -> list[bytes]:
    handle = await start_run(client, WORKFLOW, hooks=Hooks(sleep=fake_time.sleep, clock=fake_time.clock))
    async with handle:
        run = await handle.wait()
        with tempfile.TemporaryDirectory() as folder:
            return [p.read_bytes() for p in await download_outputs(handle, run.outputs, Path(folder))]


async def test_bearer_goes_to_api_but_never_to_download_hosts_even_after_redirect(floyo, client, fake_time):
    floyo.scenario.redirect_downloads = True
    floyo.scenario.outputs = [OutputSpec(), OutputSpec(format="jpeg", seed=2)]
    blobs = await _full_run(client, fake_time)
    assert len(blobs) == 2 and all(blobs)
    other = floyo.requests.filter("GET", ".*", "other")
    assert len(other) == 2, "the redirect was followed to the other host"
    assert floyo.requests.downloads() and floyo.requests.auth_leaks() == []
    api = floyo.requests.filter(None, ".*", "api")
    assert api and all(r.authorization == f"Bearer {KEY}" for r in api)


def test_bearer_is_attached_only_to_the_configured_origins():
    t = Transport(Config(api_key=KEY, api_url="https://api.example", cdn_url="https://cdn.example"))
    assert "Authorization" in t.headers_for("https://api.example/runs", auth=True)
    assert "Authorization" in t.headers_for("https://cdn.example/upload", auth=True)
    assert "Authorization" not in t.headers_for("https://cdn.example/p/x?sig=1", auth=False)
    assert "Authorization" not in t.headers_for("https://evil.example/runs", auth=True)
    assert "Authorization" not in t.headers_for("http://api.example/runs", auth=True)  # other scheme


async def test_key_and_presigned_tokens_never_reach_logs_or_error_messages(floyo, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[Exception] = []
    floyo.scenario.steps = [Step("processing", polls=1), Step("failed")]
    floyo.scenario.failure = RunError(message=f"boom near {KEY} and Bearer {KEY}")
    async with make_client(floyo, time=fake_time) as client:
        with pytest.raises(FloyoError) as failed:
            await _full_run(client, fake_time)
        errors.append(failed.value)
        floyo.scenario.steps = [Step("done")]
        floyo.scenario.expired_links = 1
        await _full_run(client, fake_time)  # logs the refresh of an expired link
    async with make_client(floyo, key="flo_wrong_key_123", time=fake_time) as bad:
        with pytest.raises(AuthError) as refused:
            await bad.get_run("run_abcdefgh12345678")
        errors.append(refused.value)
    urls = [r.path for r in floyo.requests.downloads()]
    assert urls, "downloads happened, so presigned URLs were in play"
    texts = [r.getMessage() for r in caplog.records] + [str(e) for e in errors]
    texts += [repr(e) for e in errors]
    for text in texts:
        assert KEY not in text and "flo_wrong_key_123" not in text
        assert "sig=" not in text and "expires=" not in text
    assert "invalid api key" in str(refused.value).lower()


async def test_run_handle_repr_and_config_repr_hide_the_key(floyo, client):
    assert KEY not in repr(client.transport.config)
    assert KEY not in repr(RunHandle(client, "run_abcdefgh12345678").__dict__)


def test_plain_http_is_refused_unless_the_host_is_loopback(tmp_path):
    env = {"FLOYO_API_KEY": KEY, "FLOYO_API_URL": "http://api.floyo.ai"}
    with pytest.raises(ConfigError) as caught:
        load_config(None, env)
    assert "unencrypted" in str(caught.value)
    ok = load_config(None, {**env, "FLOYO_API_URL": "http://127.0.0.1:9/"})
    assert ok.api_url == "http://127.0.0.1:9"


async def test_a_key_of_any_shape_echoed_by_floyo_never_reaches_an_error_message(fake_time):
    from floyo_scripted import Scenario, ScriptedServer

    odd_key = "team-key-without-prefix-123"
    scenario = Scenario(steps=[Step("failed")], failure=RunError(message=f"rejected key {odd_key}"))
    async with ScriptedServer(scenario, keys={odd_key}) as server:
        async with make_client(server, key=odd_key, time=fake_time) as client:
            with pytest.raises(FloyoError) as caught:
                await _full_run(client, fake_time)
    assert "rejected key" in str(caught.value) and odd_key not in str(caught.value)
