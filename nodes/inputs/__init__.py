"""Local things sent to Floyo before a run: files remote loaders name, override values, and the
bytes of each upload within the upload budget."""
