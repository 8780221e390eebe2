"""What kind of file a run output is (image, video, audio, file), from its name and MIME type.

The glue decodes exactly the outputs ``is_image`` accepts (``nodes/decode/batch_decoder.py``), whether
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


VIDEO_EXTENSIONS = frozenset(".mp4 .webm .mov .mkv .avi .m4v .mpg .mpeg".split())
AUDIO_EXTENSIONS = frozenset(".flac .mp3 .opus .ogg .wav .m4a .aac".split())


def kind_of(file_name: str, mime_type: str | None = None) -> str:
    """``image``, ``video``, ``audio`` or ``file``, from the MIME type or else the extension.
    Animated WebP/GIF/APNG are images (decoded to frames); an audio extension wins over a
    ``video/*`` type (``.ogg``/``.m4a`` are often served as video)."""
    if is_image(file_name, mime_type):
        return "image"
    mime = (mime_type or "").strip().lower().split(";")[0]
    ext = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if ext in VIDEO_EXTENSIONS or (mime.startswith("video/") and ext not in AUDIO_EXTENSIONS):
        return "video"
    if ext in AUDIO_EXTENSIONS or mime.startswith("audio/"):
        return "audio"
    return "file"
