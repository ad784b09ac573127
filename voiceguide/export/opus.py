"""Opus in Ogg: the smallest files at speech quality, chapters as Vorbis comments.

libopus encodes at 48 kHz (ffmpeg resamples the mix), in segments on every core joined
into one stream (:mod:`voiceguide.export.oggjoin`); the Ogg pre-skip and the final
granule position make decoders give back exactly the track's length. Tags, chapters
and cover are Vorbis comments, written with mutagen once ffmpeg has encoded the audio:
``TITLE``, ``ARTIST``... as usual, chapters as ``CHAPTER001=HH:MM:SS.mmm`` with
``CHAPTER001NAME`` (the scheme ffmpeg, VLC and audiobook players read), the cover as a
``METADATA_BLOCK_PICTURE``.

Ogg Vorbis is not offered: at the bit rates that suit speech, libvorbis overshot true
peaks by up to 2.4 dB (q3) or 1.4 dB (q5) over the rain bed, which no sane ceiling
absorbs.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.export.ffmpeg import encode, tag_values, tagging
from voiceguide.export.formats import Format, TrackTags, clean_text
from voiceguide.export.oggjoin import can_join, encode_joined, opus_encoder
from voiceguide.plugins import Register, hookimpl

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline

OPUS_BITRATE: Final = "48k"
"""Mono Opus at 48 kbit/s (VBR): speech and a soft bed without artefacts."""


MAX_CHAPTERS: Final = 999
"""The chapter scheme numbers chapters with three digits."""


def _stamp(samples: int, rate: int) -> str:
    """``HH:MM:SS.mmm`` of sample ``samples``, rounded to the millisecond as the MP3's
    and M4A's chapters are (truncated, an Opus chapter began 1 ms before theirs)."""
    ms = int(round(samples * 1000 / rate))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def vorbis_comments(tags: TrackTags, timeline: Timeline) -> list[tuple[str, str]]:
    """The comments of a track: tags, then its chapters."""
    names = {"title": "TITLE", "artist": "ARTIST", "album_artist": "ALBUMARTIST",
             "album": "ALBUM", "genre": "GENRE", "comment": "COMMENT",
             "track": "TRACKNUMBER", "date": "DATE", "language": "LANGUAGE"}
    out = [(names[k], v) for k, v in tag_values(tags).items()]
    if tags.track is not None and tags.total:
        out = [(k, str(tags.track) if k == "TRACKNUMBER" else v) for k, v in out]
        out.append(("TRACKTOTAL", str(tags.total)))
    for i, ch in enumerate(timeline.chapters[:MAX_CHAPTERS], 1):
        out.append((f"CHAPTER{i:03d}", _stamp(ch.start, timeline.sample_rate)))
        out.append((f"CHAPTER{i:03d}NAME", clean_text(ch.title)))
    return out


def _picture(png: bytes) -> str:
    """A cover as a base64 FLAC picture block (front cover)."""
    import io

    from mutagen.flac import Picture
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        width, height = img.size
    pic = Picture()
    pic.type, pic.mime, pic.desc = 3, "image/png", "Cover"
    pic.width, pic.height, pic.depth = width, height, 24
    pic.data = png
    return base64.b64encode(pic.write()).decode("ascii")


def tagger(tags: TrackTags, timeline: Timeline) -> Callable[[Path], None]:
    """A function that writes the comments into a finished Ogg Opus file."""

    def tag(path: Path) -> None:
        from mutagen.oggopus import OggOpus

        with tagging():
            audio = OggOpus(path)
            assert audio.tags is not None
            audio.tags.clear()
            for key, value in vorbis_comments(tags, timeline):
                audio.tags.append((key, value))
            if tags.cover_png:
                audio.tags.append(("METADATA_BLOCK_PICTURE", _picture(tags.cover_png)))
            audio.save(padding=lambda info: 0)

    return tag


CODEC: Final = ("-c:a", "libopus", "-b:a", OPUS_BITRATE, "-ar", "48000")
"""ffmpeg's options for the audio."""


def write_opus(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, tags: TrackTags,
               timeline: Timeline) -> None:
    """Encode int16 chunks to Ogg Opus with tags, chapters and cover: in segments on
    every core (see :mod:`voiceguide.export.oggjoin`) where the rate splits into whole
    packets, else in one ffmpeg."""
    if not can_join(sample_rate):
        encode(f, chunks, sample_rate, list(CODEC), ["-f", "ogg"], after=tagger(tags, timeline))
        return
    with tempfile.TemporaryDirectory(prefix="voiceguide-") as tmp:
        out = Path(tmp) / "out.opus"
        with out.open("wb") as g:
            encode_joined(g, chunks, opus_encoder(sample_rate, CODEC))
        tagger(tags, timeline)(out)
        with out.open("rb") as src:
            shutil.copyfileobj(src, f)


OPUS: Final = Format("opus", ".opus", "audio/ogg", True, write_opus,
                     ("imageio-ffmpeg", "mutagen"), lossy=True, codecs="opus")
"""Ogg Opus (Android, browsers, most podcast apps), chapters as Vorbis comments."""


@hookimpl
def register_formats(register: Register) -> None:
    """Opus."""
    register(OPUS)
