"""A phrase cache entry's bytes: a mono 16-bit WAV whose samples are followed by a chunk
holding the SHA-256 of its key and samples, so that a damaged, flipped or swapped entry
reads as none (see :mod:`voiceguide.speech.cache`)."""

from __future__ import annotations

import hashlib
import struct
from typing import Final

import numpy as np

from voiceguide.audio import PCM

CHECK_CHUNK: Final = b"vgck"
"""RIFF chunk after the samples holding SHA-256(key, samples)."""


def _checksum(key: str, data: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + data).digest()


def encode_entry(key: str, pcm: PCM, sample_rate: int) -> bytes:
    """A mono 16-bit WAV file of ``pcm`` with the checksum chunk after its samples."""
    data = pcm.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    check = _checksum(key, data)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
            + CHECK_CHUNK + struct.pack("<I", len(check)) + check)
    return b"RIFF" + struct.pack("<I", len(body)) + body


SHORTEST_CLIP: Final = 0.02
"""Seconds a cached phrase lasts at least: a shorter entry is made again."""


def decode_entry(key: str, blob: bytes, sample_rate: int) -> PCM | None:
    """The samples of an entry, or None unless it is a well-formed WAV at ``sample_rate``
    whose checksum matches ``key`` and its samples, and at least :data:`SHORTEST_CLIP`
    long (no phrase is shorter: an empty entry made its phrase vanish unsaid)."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        return None
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(blob):
        name, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        if pos + 8 + size > len(blob):
            return None
        chunks[name] = blob[pos + 8:pos + 8 + size]
        pos += 8 + size + size % 2
    fmt, data, check = chunks.get(b"fmt "), chunks.get(b"data"), chunks.get(CHECK_CHUNK)
    if fmt is None or data is None or check is None or len(fmt) < 16:
        return None
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if (tag, channels, rate, bits) != (1, 1, sample_rate, 16) or len(data) % 2 \
            or len(data) < 2 * SHORTEST_CLIP * sample_rate:
        return None
    if check != _checksum(key, data):
        return None
    return np.frombuffer(data, dtype="<i2").astype(np.int16)
