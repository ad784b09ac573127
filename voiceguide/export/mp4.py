"""M4A and M4B: AAC in an MP4 file, with iTunes tags, cover and chapters.

ffmpeg's native AAC encoder writes the audio, in segments on every core joined into one
stream (:mod:`voiceguide.export.aacjoin`); ffmpeg's MP4 muxer writes the tags as iTunes
atoms, the cover as ``covr`` and the chapters both as a QuickTime chapter track (Apple
players) and a Nero ``chpl`` atom (most others), from an FFMETADATA file at exact
sample positions. The encoder's priming is recorded in an edit list, so decoders give
back exactly the samples mixed, and again in the ``iTunSMPB`` tag Apple's encoder writes
(priming, end padding and length: the edit list's numbers), for players that trim by the
tag alone (it is older than edit lists in Apple's files; ExoPlayer, given both, goes by
the tag). A player with neither plays the priming: every cue and chapter comes 1024
samples (46 ms at 22.05 kHz) late. mutagen adds the tag to ffmpeg's file (ffmpeg's MP4
muxer writes no iTunes freeform tags) and moves every track's chunk offsets, the chapter
track's too, as the index grows in front of the audio. ``faststart`` puts the index
first: a browser can start playing and seeking before it has the whole file. M4B is the
same file under the audiobook brand (audiobook apps keep the position and list the
chapters).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from voiceguide.export.aacjoin import Gapless, write_joined
from voiceguide.export.ffmpeg import ffmetadata, tagging
from voiceguide.export.formats import Format, TrackTags, Writer
from voiceguide.languages import iso639_2
from voiceguide.plugins import Register, hookimpl

if TYPE_CHECKING:
    from pathlib import Path

    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline

AAC_BITRATE: Final = "96k"
"""Mono AAC-LC at up to 96 kbit/s (ffmpeg's encoder spends far less on pauses). At
64 kbit/s it overshot true peaks by up to 1.3 dB and added 0.4 LU of noise over rain;
at 96 kbit/s both stay under 0.2."""


CODEC: Final = ("-c:a", "aac", "-b:a", AAC_BITRATE)
"""ffmpeg's options for the audio."""


SMPB_KEY: Final = "----:com.apple.iTunes:iTunSMPB"
"""mutagen's name of the freeform atom Apple's encoder writes the gapless numbers in."""


def itunsmpb(gapless: Gapless) -> str:
    """The ``iTunSMPB`` value as Apple's encoder writes it: twelve hex fields, each after
    a space; the second is the priming, the third the end padding, the fourth (16 digits)
    the samples mixed, the rest zero."""
    return (f" 00000000 {gapless.delay:08X} {gapless.padding:08X} {gapless.samples:016X}"
            + " 00000000" * 8)


def tag_gapless(path: Path, gapless: Gapless) -> None:
    """Add the ``iTunSMPB`` tag to the MP4 file at ``path``, leaving no spare room after
    the tags (as the Opus comments are written; its errors: see
    :func:`~voiceguide.export.ffmpeg.tagging`)."""
    from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm

    with tagging():
        audio: Any = MP4(path)  # type: ignore[no-untyped-call]
        if audio.tags is None:
            audio.add_tags()
        value = itunsmpb(gapless).encode("ascii")
        audio[SMPB_KEY] = [MP4FreeForm(value, AtomDataType.UTF8)]  # type: ignore[no-untyped-call]
        audio.save(padding=lambda info: 0)


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    """The boxes directly inside ``data[start:end]``: by type, each ``(body, end)``."""
    found: dict[bytes, list[tuple[int, int]]] = {}
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at : at + 4], "big")
        head = 8
        if size == 1:  # a 64-bit size follows the type
            size, head = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        if size < head or at + size > end:
            break
        found.setdefault(data[at + 4 : at + 8], []).append((at + head, at + size))
        at += size
    return found


def tag_language(path: Path, code: str) -> None:
    """Set the language of every track of the MP4 at ``path`` (the audio and the
    QuickTime chapter track) to the ISO 639-2 ``code``, in their ``mdhd`` boxes: ffmpeg
    leaves the chapter track's at 0, which readers take as English. Only the ``moov``
    box is read (``faststart`` puts it first), and two bytes a track are changed in
    place: no box moves."""
    packed = sum((ord(c) - 0x60) << shift for c, shift in zip(code, (10, 5, 0), strict=True))
    with path.open("r+b") as f:
        at = 0
        while head := f.read(16):  # the top-level boxes' headers, up to the moov
            size, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            if kind == b"moov" or size < 8:
                break
            at += size
            f.seek(at)
        if kind != b"moov" or size < 8:
            return
        f.seek(at)
        moov = f.read(size)
        for trak, trak_end in _boxes(moov, 8, size).get(b"trak", []):
            for mdia, mdia_end in _boxes(moov, trak, trak_end).get(b"mdia", []):
                for mdhd, _ in _boxes(moov, mdia, mdia_end).get(b"mdhd", [])[:1]:
                    f.seek(at + mdhd + (32 if moov[mdhd] == 1 else 20))  # after the times
                    f.write(packed.to_bytes(2, "big"))


def _writer(brand: str) -> Writer:
    def write_mp4(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, tags: TrackTags,
                  timeline: Timeline) -> None:
        """Encode int16 chunks to AAC in an MP4 file with tags, cover and chapters."""
        muxer = ["-f", "ipod", "-brand", brand, "-movflags", "+faststart"]

        def after(path: Path, gapless: Gapless) -> None:
            tag_gapless(path, gapless)
            tag_language(path, iso639_2(tags.language))

        write_joined(f, chunks, sample_rate, CODEC, muxer,
                     metadata=ffmetadata(tags, timeline), cover_png=tags.cover_png,
                     after=after)

    return write_mp4


M4A: Final = Format("m4a", ".m4a", "audio/mp4", True, _writer("M4A "),
                    ("imageio-ffmpeg", "mutagen"),
                    lossy=True, podcast=True, codecs="mp4a.40.2")
"""AAC in MP4 (Apple devices, browsers, podcast apps), chapters and cover."""
M4B: Final = Format("m4b", ".m4b", "audio/mp4", True, _writer("M4B "),
                    ("imageio-ffmpeg", "mutagen"),
                    lossy=True, codecs="mp4a.40.2")
"""The same as an audiobook (audiobook players remember the position)."""


@hookimpl
def register_formats(register: Register) -> None:
    """M4A and M4B."""
    register(M4A)
    register(M4B)
