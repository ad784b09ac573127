"""WAV: 16-bit mono PCM (for editing or archiving), with its tags twice: a RIFF
``LIST``/``INFO`` chunk before the samples (what ffmpeg, Windows and audio editors
read) and an ``id3 `` chunk after them (what mutagen and most taggers read: the MP3's
ID3 tag, cover and chapters too)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.export.ffmpeg import tag_values
from voiceguide.export.formats import Format, TrackTags
from voiceguide.export.mp3 import id3_tag
from voiceguide.plugins import Register, hookimpl
from voiceguide.version import __version__

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline

INFO_IDS: Final = {"title": "INAM", "artist": "IART", "album": "IPRD", "comment": "ICMT",
                   "track": "ITRK", "genre": "IGNR", "date": "ICRD", "language": "ILNG"}
"""The RIFF INFO chunk of each tag (as :func:`~voiceguide.export.ffmpeg.tag_values`
names it); the software that wrote the file goes in ``ISFT``."""


def _chunk(cid: bytes, body: bytes) -> bytes:
    """A RIFF chunk: id, size, body, padded to an even length (the pad is not counted)."""
    return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)


def info_chunk(tags: TrackTags) -> bytes:
    """The ``LIST``/``INFO`` chunk of a track's tags, each UTF-8 and NUL-terminated."""
    values = {INFO_IDS[k]: v for k, v in tag_values(tags).items() if k in INFO_IDS}
    values["ISFT"] = f"voiceguide {__version__}"
    return _chunk(b"LIST", b"INFO" + b"".join(
        _chunk(cid.encode("ascii"), text.encode("utf-8") + b"\0")
        for cid, text in values.items()))


def write_wav(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, tags: TrackTags,
              timeline: Timeline) -> None:
    """Write int16 mono chunks as a WAV file into ``f``: ``fmt ``, the tags' ``LIST``,
    ``data``, then the ``id3 `` tag; the sizes are filled in at the end."""
    start = f.tell()
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)  # PCM mono
    f.write(b"RIFF\0\0\0\0WAVE" + _chunk(b"fmt ", fmt) + info_chunk(tags) + b"data\0\0\0\0")
    data_at = f.tell()
    size = 0
    for chunk in chunks:
        data = chunk.astype("<i2").tobytes()
        f.write(data)
        size += len(data)
    f.write(_chunk(b"id3 ", id3_tag(tags, timeline)))  # size is even: no pad after data
    end = f.tell()  # under 4 GiB: a track is at most 3 hours
    f.seek(data_at - 4)
    f.write(struct.pack("<I", size))
    f.seek(start + 4)
    f.write(struct.pack("<I", end - start - 8))
    f.seek(end)


WAV: Final = Format("wav", ".wav", "audio/wav", True, write_wav, ("mutagen",))
"""Uncompressed 16-bit PCM, tagged."""


@hookimpl
def register_formats(register: Register) -> None:
    """WAV."""
    register(WAV)
