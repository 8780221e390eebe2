"""Shutdown (SIGTERM or Ctrl-C) cancels the runs this ComfyUI created for a node still waiting on
them — never a run a Fetch node merely watches — then hands over to the previous handler so the
process still exits; and the signal path takes no lock a route on the main thread may hold."""

from __future__ import annotations

import signal
import threading

import pytest
from floyo_pack.nodes.comfy_server import shutdown
from floyo_pack.nodes.run.active_runs import REGISTRY


class Runner:
    """A node's runner: leaves the registry once its Cancel flag is set (or after 10 s)."""

    def __init__(self, creates: bool):
        self.active = REGISTRY.start("7" if creates else "8", "prompt_shutdown")
        self.active.creates = creates
        self.active.run_id = "run_created" if creates else "run_watched"
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        self.active.cancel.wait(10)
        REGISTRY.finish(self.active)


@pytest.fixture
def previous(monkeypatch):
    """Record calls to the handlers our shutdown handler chains to."""
    calls: list[int] = []
    saved = {s: signal.getsignal(s) for s in shutdown.SIGNALS}
    for signum in shutdown.SIGNALS:
        signal.signal(signum, lambda n, f: calls.append(n))
    monkeypatch.setattr(shutdown, "GRACE_S", 2.0)
    shutdown.install()
    yield calls
    shutdown.uninstall()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_a_shutdown_signal_cancels_created_runs_only_then_chains_to_the_previous_handler(previous, signum):
    created, watched = Runner(creates=True), Runner(creates=False)
    try:
        signal.raise_signal(signum)  # the handler runs here, on the main thread
        assert previous == [signum], "the previous handler still runs, so the process still exits"
        assert created.active.cancel.is_set()
        assert not watched.active.cancel.is_set(), "a Fetch node's run is not ours to cancel"
        created.thread.join(10)
        assert created.active not in REGISTRY.runs()
    finally:
        watched.active.cancel.set()
        REGISTRY.finish(created.active)


def test_the_signal_path_never_takes_the_registry_lock(previous):
    created = Runner(creates=True)
    handler = threading.Thread(target=shutdown.on_signal, args=(signal.SIGTERM, None), daemon=True)
    with REGISTRY._lock:  # as a route on the main thread would hold it when the signal arrives
        handler.start()
        handler.join(10)  # deadline only proves "does not hang": the grace time is 2 s
        assert not handler.is_alive(), "the signal handler blocked on the registry lock"
        assert previous == [signal.SIGTERM] and created.active.cancel.is_set()
    created.thread.join(10)


def test_a_signal_the_process_ignores_stays_ignored():
    saved = {s: signal.getsignal(s) for s in shutdown.SIGNALS}
    try:
        for signum in shutdown.SIGNALS:  # as under nohup, or a background job of a script
            signal.signal(signum, signal.SIG_IGN)
        shutdown.install()
        assert {s: signal.getsignal(s) for s in shutdown.SIGNALS} == dict.fromkeys(shutdown.SIGNALS,
                                                                                   signal.SIG_IGN)
    finally:
        shutdown.uninstall()
        for signum, handler in saved.items():
            signal.signal(signum, handler)
