"""Network realism in front of the gateway: the scripted server's request log and realism layer
added to each of the gateway's origins through its ``app_hook``.

The gateway ships without either; tests that want its answers shaped like the internet's build it
with ``GatewayServer(..., app_hook=shaping.hook)`` and switch ``shaping.scenario.realism``.
"""

from __future__ import annotations

from aiohttp import web

from .middleware import ORIGIN, STORE, realism, record
from .realism import Realism
from .scenario import Scenario
from .state import Store


class GatewayShaping:
    """The scripted store whose ``scenario.realism`` shapes a gateway's answers (off: ``None``)."""

    def __init__(self, knobs: Realism | None = None):
        self.store = Store(Scenario(realism=knobs))

    @property
    def scenario(self) -> Scenario:
        return self.store.scenario

    def hook(self, app: web.Application, origin: str) -> None:
        app[STORE], app[ORIGIN] = self.store, origin
        app.middlewares[0:0] = [record, realism]  # outermost, as on the scripted server
