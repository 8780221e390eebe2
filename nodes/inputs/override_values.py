"""Values of the override nodes that are uploaded before the run, and ``resolve``, which uploads them.

An IMAGE, VIDEO or AUDIO override records only what to upload (``ImageUpload``, ``VideoUpload``,
``AudioUpload``); at run time ``resolve`` checks every target first, then prepares each payload
off the event loop (upload_payloads.py) and uploads it once per content and team (across
restarts: floyo_client/uploads.py), putting its Floyo ``input_path`` into the loader node.
Floyo Preflight shows ``pending_name`` instead and uploads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ...floyo_client import FloyoClient, Journal, Override, Prompt, StopCheck, apply_overrides, upload_once
from ...floyo_client import upload_name as core_upload_name
from .upload_payloads import Payload, audio_payload, encode_png, prepare_off_loop, video_payload


class Upload:
    """A local value to upload before the run; replaced by its Floyo ``input_path``."""

    kind = "IMAGE"

    def payload(self) -> Payload:  # blocking (encodes, reads files): run off the event loop
        raise NotImplementedError

    def pending_name(self) -> str:
        """What Floyo Preflight shows instead of the upload path (cheap: never encodes a video)."""
        return f"local {self.kind}"


@dataclass(frozen=True)
class ImageUpload(Upload):
    image: torch.Tensor

    def payload(self) -> Payload:
        png = encode_png(self.image)
        return Payload(png, upload_name(png))

    def pending_name(self) -> str:
        return upload_name(encode_png(self.image))


@dataclass(frozen=True, eq=False)  # compared by identity: a VIDEO object has no value equality
class VideoUpload(Upload):
    video: Any
    kind = "VIDEO"

    def payload(self) -> Payload:
        return video_payload(self.video)


@dataclass(frozen=True, eq=False)
class AudioUpload(Upload):
    audio: Any
    kind = "AUDIO"

    def payload(self) -> Payload:
        return audio_payload(self.audio)


def upload_name(png: bytes) -> str:
    """The file name an IMAGE override is uploaded as (the same pixels, the same name)."""
    return core_upload_name(png, "image.png")


async def resolve(client: FloyoClient, workflow: Prompt, overrides: Sequence[Override] | None,
                  stop: StopCheck, journal: Journal | None = None) -> Prompt:
    """Apply the overrides, uploading images, videos and audio first (targets checked before
    anything is encoded or uploaded)."""
    if not overrides:
        return workflow
    apply_overrides(workflow, [Override(o.target, o.input, None) for o in overrides])  # fail fast
    resolved = []
    for o in overrides:
        value = o.value
        if isinstance(value, Upload):
            payload = await prepare_off_loop(value.payload, stop)
            uploaded = await upload_once(client, payload.data, payload.name, journal=journal, stop=stop)
            value = uploaded.input_path
        resolved.append(Override(o.target, o.input, value))
    return apply_overrides(workflow, resolved)
