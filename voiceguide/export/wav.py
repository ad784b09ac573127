"""WAV: 16-bit mono PCM, no tags (for editing or archiving)."""

from __future__ import annotations

import wave
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.export.formats import Format, TrackTags
from voiceguide.plugins import Register, hookimpl

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline


def write_wav(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, tags: TrackTags,
              timeline: Timeline) -> None:
    """Write int16 mono chunks as a WAV file into ``f`` (tags and chapters are not kept)."""
    with wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        for chunk in chunks:
            w.writeframes(chunk.astype("<i2").tobytes())


WAV: Final = Format("wav", ".wav", "audio/wav", False, write_wav)
"""Uncompressed 16-bit PCM."""


@hookimpl
def register_formats(register: Register) -> None:
    """WAV."""
    register(WAV)
