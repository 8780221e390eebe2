"""The nodes a user places, one module per family, and ``runtime``, the helpers they share.

A node module defines ``NodeSpec`` values and imports no other node module: what two families
share lives in ``runtime``. Only ``comfy_server/registration.py`` imports the node modules.
"""
