"""Gateway mode: a Floyo-compatible API + CDN on loopback that executes each run on a ComfyUI worker,
for self-hosted GPUs and the demo (``python -m floyo_server --gateway http://127.0.0.1:8188``).

``GatewayServer`` (async; ``start``/``stop`` or ``async with``). The scripted stand-in used by the
tests, with its network-realism layer and test CA, lives in ``tests/floyo_scripted/`` and is not
part of the published pack. Never imported by ``floyo_client`` or ``nodes``.
"""

# ``python -m floyo_server`` imports this file as a top-level package, where the relative
# imports below cannot work; ``__main__`` then reloads the pack as ``floyo_pack`` first.
if "." in __name__:
    from .gateway_server import GatewayServer

__all__ = ["GatewayServer"]
