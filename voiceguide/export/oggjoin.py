"""Opus encoded on every core (see :mod:`voiceguide.export.segmented`), joined into one
Ogg stream.

libopus encodes one stream on one core (about 65x real time here, five times slower
than LAME). Its packets are 20 ms and its lookahead (the pre-skip) is the same for
every stream, so packet ``i`` of a segment started at packet ``b`` of the mix is packet
``b + i`` of a serial encode, with the same granule positions. The joined stream keeps
the first segment's header pages (pre-skip, serial number) and the last segment's final
granule position, so decoders give back exactly the track's length, as with one ffmpeg.

libopus's VBR decisions depend on its whole history, so after the first join the
packets are not the bytes one ffmpeg writes: the two decodes differ as two encodings
do, and at the joins (in pauses, after 2 s of preroll) by less than -50 dB RMS.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from voiceguide.export.ffmpeg import StreamEncoder
from voiceguide.export.segmented import Cuts, encode_segments

if TYPE_CHECKING:
    from voiceguide.audio import PCM

PACKETS_PER_SECOND: Final = 50
"""Opus packets of 20 ms (ffmpeg's libopus default)."""
OPUS_RATE: Final = 48_000
"""Granule positions count samples at 48 kHz."""
CUTS: Final = Cuts(segment=3000, quiet_search=400, preroll=100, overrun=100)
"""Segments of about 60 s, cut at the quietest boundary within 8 s; 2 s of preroll
(with 0.5 s the two encodings differed by up to -50 dB at a join, with 2 s by -56 dB or
less) and 2 s of overrun (room to move a join to where both encoders share a mode)."""
PAGE_PACKETS: Final = 50
"""Packets per Ogg page (one second, as ffmpeg's muxer writes them)."""


def can_join(sample_rate: int) -> bool:
    """Whether a mix at ``sample_rate`` splits into whole 20 ms packets."""
    return sample_rate % PACKETS_PER_SECOND == 0


def opus_encoder(sample_rate: int, codec: Sequence[str]) -> StreamEncoder:
    """ffmpeg's libopus with ``codec`` options, writing Ogg."""
    return StreamEncoder(sample_rate, tuple(codec), ("-f", "ogg"))


def _ogg_packets(data: bytes) -> tuple[list[bytes], list[bytes], int, int]:
    """The header pages (as written), the audio packets, the serial number and the final
    granule position of an Ogg Opus stream."""
    from mutagen.ogg import OggPage

    f = io.BytesIO(data)
    pages: list[Any] = []
    while f.tell() < len(data):
        pages.append(OggPage(f))  # type: ignore[no-untyped-call]
    packets: list[bytes] = OggPage.to_packets(pages)  # type: ignore[no-untyped-call]
    headers: list[bytes] = [p.write() for p in pages[:2]]
    return headers, packets[2:], int(pages[0].serial), int(pages[-1].position)


def _mode(packet: bytes) -> int:
    """The coding mode of an Opus packet: 0 SILK, 1 hybrid, 2 CELT (RFC 6716, 3.1)."""
    config = packet[0] >> 3
    return 0 if config < 12 else 1 if config < 16 else 2


class _OggJoiner:
    """Writes the joined stream to ``f``: the first segment's header pages, then pages
    of :data:`PAGE_PACKETS` audio packets; the last page carries the final granule.

    A join is moved off the quiet point where the two encoders are in different coding
    modes there (a fresh encoder may code a quiet bed in CELT where one with the speech
    before it stays in hybrid): the decoder would switch modes without the transition
    an encoder adds when it switches itself, a soft burst of noise. The join moves to
    the nearest packet in the two streams' overlap where both are in the same mode on
    both sides of it."""

    cuts = CUTS

    def __init__(self, f: BinaryIO, encoder: StreamEncoder) -> None:
        self.f = f
        self.encoder = encoder
        self.packet_samples = encoder.sample_rate // PACKETS_PER_SECOND
        self.pending: list[bytes] = []
        """Packets kept and not yet paged (the last :data:`CUTS` preroll of them wait:
        a join may move back into them)."""
        self.tail: list[bytes] = []
        """The previous segment's packets past its nominal end (its overrun)."""
        self.written = 0  # audio packets paged
        self.sequence = 0
        self.serial = 0
        self.joins: list[int] = []
        """Packet of the mix where each segment after the first took over."""

    def join(self, stream: bytes, first: int, keep: int, end: int | None) -> None:
        headers, packets, serial, final = _ogg_packets(stream)
        if first == 0:
            for page in headers:
                self.f.write(page)
            self.sequence, self.serial = len(headers), serial
        else:
            moved = self._agreed(packets, first, keep)  # the kept packets end at keep
            if moved <= keep:
                del self.pending[moved - self.written :]
            else:
                self.pending += self.tail[: moved - keep]
            keep = moved
            self.joins.append(keep)
        stop = None if end is None else end - first
        self.pending += packets[keep - first : stop]
        self.tail = [] if stop is None else packets[stop:]
        # full pages out; a join may still move back into the last preroll of packets,
        # and the last page waits for the end (it carries the final granule)
        held = 0 if end is None else self.cuts.preroll
        while len(self.pending) > PAGE_PACKETS + held:
            self._page(self.pending[:PAGE_PACKETS], None)
            del self.pending[:PAGE_PACKETS]
        if end is None:
            self._page(self.pending, final + first * (OPUS_RATE // PACKETS_PER_SECOND))

    def _agreed(self, packets: list[bytes], first: int, keep: int) -> int:
        """The packet of the mix nearest ``keep`` where the previous segment (kept
        packets and overrun) and this one (``packets``, from ``first``) are in the same
        mode on both sides of the join; ``keep`` if there is none."""
        start = self.written
        before = self.pending + self.tail  # the previous stream, from packet ``start``
        lo = max(start + 2, first + self.cuts.preroll // 2)  # 1 s warm at least
        hi = min(start + len(before), first + len(packets)) - 2

        def agree(j: int) -> bool:  # two packets either side, in both streams: not just
            # after an encoder's own switch (the stream then switched at the packet
            # before the join: the new ducking's bed put one there, in bedtime-hips)
            modes = {_mode(p) for p in (*before[j - 2 - start : j + 2 - start],
                                        *packets[j - 2 - first : j + 2 - first])}
            return len(modes) == 1

        for j in sorted(range(lo, hi + 1), key=lambda j: (abs(j - keep), j)):
            if agree(j):
                return j
        return keep

    def _page(self, packets: list[bytes], final: int | None) -> None:
        from mutagen.ogg import OggPage

        page: Any = OggPage()  # type: ignore[no-untyped-call]
        page.serial, page.sequence = self.serial, self.sequence
        page.packets = packets
        self.written += len(packets)
        page.position = (self.written * (OPUS_RATE // PACKETS_PER_SECOND) if final is None
                         else final)
        page.last = final is not None
        self.f.write(page.write())
        self.sequence += 1


def encode_joined(f: BinaryIO, chunks: Iterable[PCM], encoder: StreamEncoder,
                  threads: int | None = None, joins: list[int] | None = None) -> None:
    """Write the Ogg Opus stream of the mix in ``chunks`` to ``f``, encoded in segments
    on ``threads`` ffmpeg processes at once and joined (see
    :func:`~voiceguide.export.segmented.encode_segments`). The sample rate must split
    into 20 ms packets (:func:`can_join`)."""
    joiner = _OggJoiner(f, encoder)
    encode_segments(chunks, joiner, threads)
    if joins is not None:
        joins += joiner.joins
