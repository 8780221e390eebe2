"""What the end-to-end tests share besides fixtures: the ComfyUI process manager, graph builders,
reading results, waits, the websocket client, the gateway stack, browser helpers and the fault
suite's tally, one module per concern.

Test modules import these by name (``from .support.graphs import save``); fixtures stay in
``tests/e2e/conftest.py``. Nothing here defines a fixture or imports a test module or the conftest,
so pytest's ``--import-mode=importlib`` loads each module once, as ``tests.e2e.support.<name>``,
in every xdist worker.
"""
