"""AAC encoded on every core (see :mod:`voiceguide.export.segmented`), joined into one
stream and muxed into MP4.

ffmpeg's AAC encoder runs on one core. Each segment is encoded to ADTS (frames that
carry their own length, so they split without a demuxer). AAC frames hold 1024 samples
and every stream starts with one priming frame, so frame ``i + 1`` of a segment started
at frame ``b`` of the mix covers the samples of frame ``b + i`` of a serial encode. The
joined stream is the first segment's priming frame, then each segment's frames from its
join on. AAC frames carry no back-pointers (MP3's bit reservoir has no counterpart), and
the decoder's overlap-add across a join mixes two encoders' halves of the same quiet
samples: within 50 ms of every join the decode differs from one ffmpeg's by far less
than -50 dB RMS.

ffmpeg then copies the frames into the MP4 file (tags, chapters, cover), with their
timestamps moved back by the priming frame and the last frame's duration cut to the
samples it holds: the edit list then says exactly what one ffmpeg's encode says, so
decoders give back exactly the samples mixed. The same numbers (:class:`Gapless`) go to
the caller, for players that read them from a tag instead of the edit list.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.errors import OutputError
from voiceguide.export.ffmpeg import StreamEncoder, encode
from voiceguide.export.segmented import Cuts, encode_segments

if TYPE_CHECKING:
    from voiceguide.audio import PCM

FRAME: Final = 1024
"""Samples per AAC frame."""
SEGMENT_SECONDS: Final = 60.0
"""Nominal length of a segment."""
QUIET_SECONDS: Final = 8.0
"""How far either side of the nominal cut the quietest frame boundary is looked for."""
PREROLL_SECONDS: Final = 2.0
"""How long a segment encodes before its join to warm the encoder up."""
OVERRUN: Final = 4
"""Frames a segment encodes past its end."""


@dataclass(frozen=True)
class Gapless:
    """Where the mixed samples lie in the decoded AAC stream, as the MP4 edit list says:
    after ``delay`` priming samples, ``samples`` long, then ``padding`` samples of the
    last frame that hold nothing mixed (``delay + samples + padding`` is a whole number
    of frames)."""

    delay: int
    padding: int
    samples: int

    @classmethod
    def of(cls, samples: int) -> Gapless:
        """The joined stream of ``samples`` mixed: one priming frame, then as many frames
        as hold them."""
        frames = 1 + -(-samples // FRAME)
        return cls(FRAME, frames * FRAME - FRAME - samples, samples)


def cuts(sample_rate: int) -> Cuts:
    """Where segments are cut at ``sample_rate``."""
    per_second = sample_rate / FRAME
    return Cuts(segment=round(SEGMENT_SECONDS * per_second),
                quiet_search=round(QUIET_SECONDS * per_second),
                preroll=round(PREROLL_SECONDS * per_second), overrun=OVERRUN)


def adts_frames(data: bytes) -> list[bytes]:
    """The frames of an ADTS stream."""
    out = []
    i = 0
    while i + 7 <= len(data):
        if data[i] != 0xFF or data[i + 1] & 0xF0 != 0xF0:
            raise OutputError("ffmpeg's AAC stream lost its frame sync")
        size = ((data[i + 3] & 3) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        if size < 7:
            raise OutputError("ffmpeg's AAC stream has a broken frame header")
        out.append(data[i : i + size])
        i += size
    return out


def aac_encoder(sample_rate: int, codec: Sequence[str]) -> StreamEncoder:
    """ffmpeg's AAC encoder with ``codec`` options, writing ADTS."""
    return StreamEncoder(sample_rate, tuple(codec), ("-f", "adts"))


class _AdtsJoiner:
    """Writes the joined ADTS frames to ``f`` and counts them."""

    packet_samples = FRAME

    def __init__(self, f: BinaryIO, encoder: StreamEncoder) -> None:
        self.f = f
        self.encoder = encoder
        self.cuts = cuts(encoder.sample_rate)
        self.frames = 0
        """Frames written after the priming frame."""

    def join(self, stream: bytes, first: int, keep: int, end: int | None) -> None:
        frames = adts_frames(stream)
        if first == 0:
            self.f.write(frames[0])  # the priming frame
        kept = frames[1 + keep - first : None if end is None else 1 + end - first]
        self.f.write(b"".join(kept))
        self.frames += len(kept)


def join_frames(f: BinaryIO, chunks: Iterable[PCM], encoder: StreamEncoder,
                threads: int | None = None, joins: list[int] | None = None) -> int:
    """Write the joined ADTS stream of the mix in ``chunks`` to ``f`` (encoded in
    segments on ``threads`` processes at once); returns the number of samples mixed."""
    total = 0

    def counted() -> Iterator[PCM]:
        nonlocal total
        for chunk in chunks:
            total += len(chunk)
            yield chunk

    joiner = _AdtsJoiner(f, encoder)
    encode_segments(counted(), joiner, threads, joins)
    if joiner.frames != -(-total // FRAME):
        raise OutputError(f"the joined AAC stream has {joiner.frames} frames for {total} "
                          "samples")
    return total


def write_joined(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int,
                 codec: Sequence[str], muxer: Sequence[str], *, metadata: str,
                 cover_png: bytes | None,
                 after: Callable[[Path, Gapless], None] | None = None) -> None:
    """Encode the mix to AAC in segments and mux it into ``muxer`` with ``metadata``
    (FFMETADATA) and the cover, as :func:`~voiceguide.export.ffmpeg.encode` would;
    ``after(path, gapless)`` may edit the finished file before it is copied into ``f``."""
    with tempfile.TemporaryDirectory(prefix="voiceguide-") as tmp:
        adts = Path(tmp) / "joined.aac"
        with adts.open("wb") as g:
            gapless = Gapless.of(join_frames(g, chunks, aac_encoder(sample_rate, codec)))
        last = -(-gapless.samples // FRAME)  # index of the last frame (priming is 0)
        rest = FRAME - gapless.padding  # samples the last frame holds
        # timestamps in the ADTS time base (a frame lasts FRAME/(SR*TB) of them), handed
        # on in samples: the MP4 chapter track takes the audio's time base, and ADTS's
        # (1/28224000 at 22.05 kHz) overflows its durations
        setts = (f"setts=ts=TS-{gapless.delay}/(SR*TB)"
                 f":duration=if(eq(N\\,{last})\\,{rest}/(SR*TB)\\,DURATION)"
                 f":time_base=1/{sample_rate}")
        encode(f, (), sample_rate, ["-c:a", "copy", "-bsf:a", setts], muxer,
               metadata=metadata, cover_png=cover_png, audio=["-f", "aac", "-i", str(adts)],
               after=None if after is None else lambda path: after(path, gapless))
