"""A node's run inside ComfyUI: the runs waited on, list groups, what the user sees while a run
is live, and what comes back (files collected and decoded, reuse, outputs by remote node)."""
