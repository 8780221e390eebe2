"""What kind of file a run output is, from its name and MIME type: the one list of image types.

The glue decodes exactly the outputs ``is_image`` accepts (``nodes/batch_decoder.py``), whether
they were just downloaded or are read back from the journal, so this list and the decoder never
disagree. Pure functions over names: never opens a file, never imports PIL (the core stays free
of it; tests/test_boundaries.py).
"""

from __future__ import annotations

from pathlib import PurePosixPath

# Formats Pillow reads the way ComfyUI's LoadImage does (AVIF needs Pillow 11.3+ built with libavif;
# where it is missing the decoder says so by name instead of skipping the file).
IMAGE_EXTENSIONS = frozenset(".png .apng .jpg .jpeg .jpe .jfif .webp .gif .bmp .tif .tiff .avif".split())
IMAGE_MIME_PREFIX = "image/"


def is_image(file_name: str, mime_type: str | None = None) -> bool:
    """True for an output the node decodes into its IMAGE batch: an ``image/*`` MIME type, or,
    when the server gave none (or a generic one), an image extension in ``IMAGE_EXTENSIONS``."""
    if (mime_type or "").strip().lower().startswith(IMAGE_MIME_PREFIX):
        return True
    return PurePosixPath(file_name.replace("\\", "/")).suffix.lower() in IMAGE_EXTENSIONS
