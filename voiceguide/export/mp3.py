"""MP3 with an exact-length LAME Info frame, ID3v2.3 tags, cover and chapters.

lameenc does not write the LAME Info frame, so decoders would see ~50 ms of encoder
delay and trailing padding. We write the frame ourselves (frame count, byte count,
encoder delay and end padding), so ffmpeg, browsers and mutagen decode exactly the
samples we mixed: cue times and chapter marks hold to the sample.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.export.formats import Format, TrackTags, clean_text
from voiceguide.export.frames import BITRATES_V2, frame_info
from voiceguide.export.lame import Encoder, encode_runs
from voiceguide.export.loopframes import LoopFrames
from voiceguide.languages import iso639_2, page_words
from voiceguide.plugins import Register, hookimpl

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline

MP3_BITRATE: Final = 64
"""kbit/s, constant (CBR seeks exactly in every player)."""
MP3_QUALITY: Final = 5
"""LAME quality (2 best .. 7 fast)."""
ENCODER_DELAY: Final = 576
"""Samples of delay LAME adds at the start (the decoder adds 529 more, per the LAME tag)."""

def _info_frame(header: int, frames: int, stream_bytes: int, delay: int, end_pad: int) -> bytes:
    """A LAME 'Info' frame (CBR) carrying the counts and the encoder delay/padding."""
    header &= ~(1 << 9)  # no padding bit
    size, _ = frame_info(header)
    version = (header >> 19) & 3
    mono = (header >> 6) & 3 == 3
    side = (32 if not mono else 17) if version == 3 else (17 if not mono else 9)
    out = bytearray(size)
    out[0:4] = struct.pack(">I", header)
    tag = b"Info" + struct.pack(">III", 0x1 | 0x2 | 0x8, frames, stream_bytes + size)
    tag += struct.pack(">I", 0)  # quality indicator
    lame = bytearray(36)
    lame[0:9] = b"LAME3.100"
    lame[20] = min(255, BITRATES_V2[(header >> 12) & 15] if version != 3 else 128)
    lame[21:24] = ((delay << 12) | min(end_pad, 4095)).to_bytes(3, "big")
    lame[28:32] = struct.pack(">I", stream_bytes + size)  # music length, this frame on
    pos = 4 + side
    out[pos : pos + len(tag)] = tag
    out[pos + len(tag) : pos + len(tag) + len(lame)] = lame
    # the tag's own CRC, over every byte of the frame before it (decoders that check it
    # trust the tag only when it matches); the music CRC is left 0: a streamed write
    # never holds the whole stream, and no player we know checks it
    end = pos + len(tag) + 34
    out[end : end + 2] = struct.pack(">H", crc16(bytes(out[:end])))
    return bytes(out)


def crc16(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005, reflected, initial 0), the LAME tag's CRC."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def id3_tag(tags: TrackTags, timeline: Timeline) -> bytes:
    """ID3v2.3 tag bytes: text frames, cover and CHAP/CTOC chapters in time order."""
    from mutagen.id3 import (
        APIC,
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TCON,
        TDRC,
        TIT2,
        TLAN,
        TPE1,
        TPE2,
        TRCK,
        TSSE,
        CTOCFlags,
    )

    from voiceguide.version import __version__

    tags = replace(tags, title=clean_text(tags.title), artist=clean_text(tags.artist),
                   album=clean_text(tags.album), genre=clean_text(tags.genre),
                   comment=" ".join(tags.comment.split()))
    tag = ID3()
    tag.add(TIT2(encoding=1, text=[tags.title]))
    tag.add(TPE1(encoding=1, text=[tags.artist]))
    tag.add(TPE2(encoding=1, text=[tags.artist]))  # album artist: players group by it
    tag.add(TALB(encoding=1, text=[tags.album]))
    tag.add(TCON(encoding=1, text=[tags.genre]))
    tag.add(TSSE(encoding=1, text=[f"voiceguide {__version__}"]))
    language = iso639_2(tags.language)
    tag.add(TLAN(encoding=1, text=[language]))
    if tags.track is not None:
        total = f"/{tags.total}" if tags.total else ""
        tag.add(TRCK(encoding=1, text=[f"{tags.track}{total}"]))
    if tags.year:
        tag.add(TDRC(encoding=1, text=[tags.year]))
    if tags.comment:
        tag.add(COMM(encoding=1, lang=language, desc="", text=[tags.comment]))
    if tags.cover_png:
        tag.add(APIC(encoding=1, mime="image/png", type=3, desc="Cover", data=tags.cover_png))
    sr = timeline.sample_rate
    ids: list[str] = []
    last = -1
    for i, ch in enumerate(timeline.chapters):
        title = clean_text(ch.title)
        # mutagen writes frames of a kind ordered by their encoded size, and players list
        # CHAP frames in file order: pad each element id so sizes strictly increase
        base = f"ch{i}"
        size = len(base) + 2 * len(title.encode("utf-16-le")) // 2
        pad = max(0, last + 1 - size)
        eid = base + "_" * pad
        last = len(eid) + 2 * len(title.encode("utf-16-le")) // 2
        ids.append(eid)
        tag.add(
            CHAP(
                element_id=eid,
                start_time=int(round(ch.start * 1000 / sr)),
                end_time=int(round(ch.end * 1000 / sr)),
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=1, text=[title])],
            )
        )
    if ids:
        tag.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=1, text=[page_words(tags.language)["chapters"]])],
            )
        )
    buf = io.BytesIO()
    tag.save(buf, v2_version=3, padding=lambda info: 0)
    return buf.getvalue()


def _encoder(sample_rate: int) -> Encoder:
    return Encoder(sample_rate, MP3_BITRATE, MP3_QUALITY, 1152 if sample_rate >= 32000 else 576)


def prepare_mp3(loop: PCM, sample_rate: int) -> None:
    """Start encoding the frames of a mix's background ``loop`` (see
    :mod:`voiceguide.export.loopframes`)."""
    frames = LoopFrames.of(loop, _encoder(sample_rate))
    if frames is not None:
        frames.prefetch()


def write_mp3(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, tags: TrackTags,
              timeline: Timeline) -> None:
    """Encode int16 chunks into ``f`` after the ID3 tag (on every core, see
    :mod:`voiceguide.export.lame`), then fill in the Info frame."""
    encoder = _encoder(sample_rate)
    n = 0

    def counted() -> Iterator[PCM]:
        nonlocal n
        for chunk in chunks:
            n += chunk.size
            yield chunk

    f.write(id3_tag(tags, timeline))
    info_at = f.tell()
    # reserve room for the Info frame (a CBR frame without the padding bit)
    reserve = (144 if sample_rate >= 32000 else 72) * MP3_BITRATE * 1000 // sample_rate
    f.write(b"\0" * reserve)
    stream = frames = 0
    first_header: int | None = None
    for run in encode_runs(counted(), encoder):
        if first_header is None and run:
            first_header = struct.unpack(">I", run[0][:4])[0]
        frames += len(run)
        data = b"".join(run)
        f.write(data)
        stream += len(data)
    assert first_header is not None
    spf = encoder.samples_per_frame
    info = _info_frame(first_header, frames, stream, ENCODER_DELAY,
                       frames * spf - ENCODER_DELAY - n)
    if len(info) != reserve:
        raise RuntimeError("unexpected MP3 frame size")  # pragma: no cover
    f.seek(info_at)
    f.write(info)
    f.seek(0, io.SEEK_END)


MP3: Final = Format("mp3", ".mp3", "audio/mpeg", True, write_mp3, ("lameenc",), lossy=True,
                    podcast=True, prepare=prepare_mp3)
"""22.05 kHz mono, 64 kbit/s CBR, ID3v2.3 with cover and CHAP/CTOC chapters."""


@hookimpl
def register_formats(register: Register) -> None:
    """MP3: the default format."""
    register(MP3)
