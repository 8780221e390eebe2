"""The pack on ComfyUI's server: registration and startup wiring, the HTTP routes and who may use
them, the runs tab's side, shutdown, and resuming runs a restart left in flight."""
