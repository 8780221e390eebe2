"""ComfyUI glue of the Floyo pack: node classes, routes, the prompt hook, tensor decoding.

The only part of the pack that imports ComfyUI, torch, PIL or numpy. Behaviour lives in the
ComfyUI-free core (``floyo_client``); this package adapts it. Relative imports only: this
folder's name shadows ComfyUI's own ``nodes`` module.

Rooms: ``node_types`` (the nodes, by family), ``run`` (a node's run in ComfyUI), ``decode``
(files to tensors), ``inputs`` (what is uploaded), ``comfy_server`` (routes, wiring, shutdown,
resume), ``current_graph`` (prompt hook to node); ``comfy.py`` is every lookup into ComfyUI.
"""
