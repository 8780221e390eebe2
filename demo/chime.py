"""A short chime (C, E, G, C bells) as a 16-bit mono WAV, for the demo's audio track.

ComfyUI's core nodes cannot make an audible sound without a model, so the demo brings this small
file (written with the standard library, no dependency) into the client's ``input/`` folder, and
the remote ``LoadAudio`` that names it shows a local audio file being uploaded.
"""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

RATE = 22050
NOTES_HZ = (523.25, 659.25, 783.99, 1046.5)


def chime_samples(seconds: float = 3.0) -> array.array:
    """One bell per note, a quarter of the clip apart, each decaying; peak below full scale."""
    total = int(RATE * seconds)
    out = array.array("h", bytes(2 * total))
    step = total // len(NOTES_HZ)
    for n, freq in enumerate(NOTES_HZ):
        for i in range(total - n * step):
            t = i / RATE
            bell = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(2 * math.pi * 2 * freq * t)
            value = out[n * step + i] + int(7000 * bell * math.exp(-3.0 * t))
            out[n * step + i] = max(-32767, min(32767, value))
    return out


def write_chime(path: Path, seconds: float = 3.0) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(chime_samples(seconds).tobytes())
    return path
