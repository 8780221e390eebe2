"""VIDEO and AUDIO values built from saved output files, and the clear "nothing here" values.

A VIDEO is ComfyUI's own video-from-file input on the saved file: nothing is read until a
downstream node (SaveVideo, GetVideoComponents) asks, so a 1 GiB mp4 costs no memory here.
AUDIO is decoded with PyAV (what ComfyUI itself uses) one frame at a time, its size checked
against the budget from the stream's header before anything is allocated and again as it
grows. A missing video or audio is an object whose use fails with a message naming the run and
what to do, never a silent empty value. Must not download or talk to Floyo.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


class MediaError(ValueError):
    """A video or audio output that is missing or can't be decoded: the message says which and why."""


def _video_base() -> type:
    try:  # ComfyUI's VIDEO interface when running inside ComfyUI; tests without it use object
        from comfy_api.latest import Input

        return Input.Video
    except ImportError:
        return object


def _fail(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise MediaError(self.message)


# The methods a VIDEO is known to have (comfy_api's VideoInput, 0.3.75). Every abstract method
# of the running ComfyUI's base is added to these when the class is built below, so a method a
# newer ComfyUI declares (v0.14.0 added ``as_trimmed``) fails with the message too, instead of
# making the class abstract and the node crash after the run was paid.
_KNOWN_VIDEO_METHODS = ("get_components", "save_to", "get_stream_source", "get_dimensions",
                        "get_duration", "get_frame_count", "get_frame_rate", "get_container_format")


def missing_video_type(base: type) -> type:
    """A ``base`` subclass whose every method fails with the value's message: the known VIDEO
    methods and every abstract method ``base`` declares, whatever ComfyUI release it comes from."""
    names = set(_KNOWN_VIDEO_METHODS) | set(getattr(base, "__abstractmethods__", ()))
    namespace: dict[str, Any] = {name: _fail for name in sorted(names)}
    namespace.update(__init__=_init_missing, __repr__=_repr_missing, __module__=__name__,
                     __doc__="The ``video`` output of a run (or node) that saved no video: every "
                             "use raises ``message``.")
    return type("MissingVideo", (base,), namespace)


def _init_missing(self: Any, message: str) -> None:
    self.message = message


def _repr_missing(self: Any) -> str:
    return f"MissingVideo({self.message!r})"


MissingVideo = missing_video_type(_video_base())


class MissingAudio(dict):
    """The ``audio`` output of a run (or node) that saved no audio: an empty AUDIO dict whose
    ``waveform`` or ``sample_rate`` raises ``message`` (core audio nodes index it)."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def __getitem__(self, key: Any) -> Any:
        raise MediaError(self.message)

    def get(self, key: Any, default: Any = None) -> Any:
        raise MediaError(self.message)

    def __repr__(self) -> str:
        return f"MissingAudio({self.message!r})"


def video_from(path: str | Path) -> Any:
    """ComfyUI's VIDEO on the saved file (core SaveVideo and GetVideoComponents take it)."""
    from comfy_api.latest import InputImpl

    return InputImpl.VideoFromFile(str(path))


def video_problem(path: str | Path) -> str | None:
    """Why the file is not a video a downstream node can read, or None. Reads headers only."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return f"{Path(path).name} has no video stream"
    except (av.FFmpegError, OSError) as e:
        return f"{Path(path).name} can't be read as a video ({e})"
    return None


def _samples_hint(stream: Any, container: Any) -> int:
    """Samples per channel the header promises (0 when it doesn't say)."""
    rate = stream.rate or stream.sample_rate or 0
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * rate)
    if container.duration:  # microseconds
        return int(container.duration * rate / 1_000_000)
    return 0


def decode_audio(path: str | Path, max_samples: int) -> dict[str, Any]:
    """AUDIO ``{"waveform": [1, C, T] float32, "sample_rate": int}`` from the file's first audio
    stream; ``max_samples`` bounds C x T (checked from the header, then as frames arrive)."""
    import av

    name = Path(path).name
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{name} has no audio stream")
            stream = container.streams.audio[0]
            channels, rate = stream.channels or 1, stream.rate or stream.sample_rate
            _check_budget(name, channels * _samples_hint(stream, container), max_samples)
            chunks, total = [], 0
            for frame in container.decode(stream):
                chunk = torch.from_numpy(_planar_float(frame))
                total += chunk.numel()
                _check_budget(name, total, max_samples)
                chunks.append(chunk)
    except av.FFmpegError as e:
        raise MediaError(f"{name} can't be decoded as audio ({e})") from None
    if not chunks:
        raise MediaError(f"{name} holds no audio samples")
    waveform = torch.cat(chunks, dim=1) if len(chunks) > 1 else chunks[0]
    return {"waveform": waveform.unsqueeze(0).contiguous(), "sample_rate": int(rate)}


def _planar_float(frame: Any) -> Any:
    """One decoded frame as a float32 [channels, samples] array, whatever its sample format."""
    array = frame.to_ndarray()
    fmt = frame.format
    if not fmt.is_planar:  # interleaved: [1, samples * channels]
        array = array.reshape(-1, len(frame.layout.channels)).T
    if array.dtype.kind == "i":
        array = array.astype("float32") / float(2 ** (8 * array.dtype.itemsize - 1))
    elif array.dtype.kind == "u":  # 8-bit PCM is unsigned, centred on 128
        array = (array.astype("float32") - 128.0) / 128.0
    return array.astype("float32", copy=False)


def _check_budget(name: str, samples: int, max_samples: int) -> None:
    if samples > max_samples:
        raise MediaError(f"{name} holds more audio ({samples:,} samples over all channels) than the "
                         f"budget of {max_samples:,} (FLOYO_MAX_MEGAPIXELS, in millions of samples). "
                         "It stays saved in 'files'; raise the limit to decode it.")
