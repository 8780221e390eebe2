"""Local files and IMAGE/VIDEO/AUDIO values turned into the bytes of one upload, within the upload budget.

A VIDEO that came from a file (``VideoFromFile``: core LoadVideo, a decoded output) is uploaded as
that file, unchanged; any other VIDEO is encoded to H.264 mp4 with ``VideoInput.save_to``. An AUDIO
carries no source, so it is encoded to flac with PyAV (what ComfyUI's own audio nodes use). Every
file's, VIDEO's and AUDIO's size is checked against ``FLOYO_MAX_UPLOAD_MB`` before the bytes are
read into memory. An IMAGE (already in memory) is encoded as an 8-bit PNG of its first image
(``encode_png``).

Runs in a worker thread (``prepare_off_loop``), so encoding never blocks ComfyUI's event loop and
a Cancel is answered while it runs. Never talks to Floyo; writes only into a temporary folder it
removes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from PIL import Image

from ...floyo_client import ENV_MAX_UPLOAD_MB, Interrupted, StopCheck, max_upload_bytes, upload_name

log = logging.getLogger(__name__)
T = TypeVar("T")
STOP_CHECK_S = 0.2
AUDIO_CHUNK = 1 << 16  # samples per encoded frame: the float copy of one chunk is all that is held


class UploadTooLarge(ValueError):
    """An input file over FLOYO_MAX_UPLOAD_MB: refused before it is read or sent."""


@dataclass(frozen=True)
class Payload:
    """The bytes of one upload and the name it is uploaded as (the same content, the same name)."""

    data: bytes
    name: str


def content_name(data: bytes, suffix: str) -> str:
    return upload_name(data, "upload" + suffix)


def check_size(size: int, what: str) -> None:
    """UploadTooLarge when ``size`` bytes are over the budget, naming the cause and the way out."""
    limit = max_upload_bytes()
    if size > limit:
        raise UploadTooLarge(
            f"{what} is {size / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB upload limit, so nothing "
            f"was uploaded or run. Raise {ENV_MAX_UPLOAD_MB}, or upload the file to Floyo yourself and "
            "put its #inputs/… path into the remote loader.")


def read_checked(path: Path, what: str) -> bytes:
    check_size(path.stat().st_size, what)
    return path.read_bytes()


def file_payload(path: Path, what: str) -> Payload:
    data = read_checked(path, what)
    return Payload(data, content_name(data, path.suffix))


def video_source(video: Any) -> Path | io.BytesIO | None:
    """What a ``VideoFromFile`` reads: its file (if it still exists) or its bytes. Only
    VideoFromFile is asked: the base class would encode the whole video to find out."""
    from comfy_api.latest import InputImpl

    if not isinstance(video, InputImpl.VideoFromFile):
        return None
    source = video.get_stream_source()
    if isinstance(source, io.BytesIO):
        return source
    return Path(source) if isinstance(source, str) and Path(source).is_file() else None


def video_payload(video: Any) -> Payload:
    """The source file of a VIDEO, else the VIDEO encoded as H.264 mp4."""
    source = video_source(video)
    if isinstance(source, Path):
        return file_payload(source, f"The VIDEO's source file {source.name}")
    if source is not None:  # a video held in memory: its size bounds the mp4 it is remuxed to
        check_size(source.getbuffer().nbytes, "The VIDEO (held in memory)")
    from comfy_api.latest import Types

    with tempfile.TemporaryDirectory(prefix="floyo-upload-") as folder:
        out = Path(folder) / "video.mp4"
        video.save_to(str(out), format=Types.VideoContainer.MP4, codec=Types.VideoCodec.H264)
        return file_payload(out, "The VIDEO encoded as mp4")


def audio_payload(audio: Any) -> Payload:
    """The first clip of an AUDIO (``{"waveform": [B,C,T], "sample_rate"}``) encoded as flac."""
    waveform, rate = _checked_audio(audio)
    if waveform.shape[0] > 1:
        log.info("Floyo: an AUDIO batch of %d clips: uploading the first", waveform.shape[0])
    with tempfile.TemporaryDirectory(prefix="floyo-upload-") as folder:
        out = Path(folder) / "audio.flac"
        _write_flac(out, waveform[0], rate)
        return file_payload(out, "The AUDIO encoded as flac")


def _checked_audio(audio: Any) -> tuple[Any, int]:
    waveform = audio.get("waveform") if isinstance(audio, dict) else None
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    if getattr(waveform, "ndim", 0) != 3 or not isinstance(rate, int) or rate <= 0:
        raise ValueError("The AUDIO input is not ComfyUI audio ({'waveform': [batch, channels, samples], "
                         "'sample_rate': int}); connect the output of Load Audio or another audio node.")
    if waveform.shape[0] == 0 or waveform.shape[1] not in (1, 2):
        raise ValueError(f"The AUDIO has {waveform.shape[1]} channel(s) in a batch of {waveform.shape[0]}: "
                         "only mono or stereo audio can be uploaded; mix it down first.")
    return waveform, rate


def _write_flac(path: Path, clip: Any, rate: int) -> None:
    """Encode one [C,T] clip in chunks, so at most one chunk is copied to float32 at a time."""
    import av

    layout = "mono" if clip.shape[0] == 1 else "stereo"
    with av.open(str(path), mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout=layout)
        for start in range(0, clip.shape[1], AUDIO_CHUNK):
            chunk = clip[:, start:start + AUDIO_CHUNK].detach().to("cpu").float().clamp(-1.0, 1.0)
            frame = av.AudioFrame.from_ndarray(chunk.t().reshape(1, -1).contiguous().numpy(),
                                               format="flt", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


async def prepare_off_loop(make: Callable[[], T], stop: StopCheck) -> T:
    """Run ``make`` in a worker thread, checking ``stop`` every slice: a Cancel is answered at once
    (the thread finishes on its own and its temporary files go with it)."""
    task = asyncio.ensure_future(asyncio.to_thread(make))
    while not task.done():
        await asyncio.wait({task}, timeout=STOP_CHECK_S)
        if not task.done() and stop():
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # nobody awaits it now
            raise Interrupted("Stopped while preparing an upload; nothing was uploaded or run.")
    return task.result()


def encode_png(image: torch.Tensor) -> bytes:
    """First image of an IMAGE ([B,H,W,C] or [H,W,C], C in 1/3/4, float 0..1) as 8-bit PNG bytes."""
    if image.dim() == 4:
        image = image[0]
    if image.dim() != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an IMAGE shaped [B,H,W,C] or [H,W,C], got {tuple(image.shape)}")
    pixels = image.detach().to("cpu", torch.float32).nan_to_num(0.0).clamp(0.0, 1.0)
    # Round, not truncate: k/255 in float32 times 255 can land just under k.
    arr = pixels.mul(255.0).round().to(torch.uint8).contiguous().numpy()
    buffer = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
