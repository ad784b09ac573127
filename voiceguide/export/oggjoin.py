"""Opus encoded on every core: the mix cut into segments at quiet packet boundaries,
each segment encoded by its own ffmpeg, and the packets joined into one Ogg stream.

libopus encodes one stream on one core (about 65x real time here, five times slower
than LAME), so a long Opus track spends most of its build in the encoder. Opus packets
are 20 ms and the encoder's lookahead (the pre-skip) is the same for every stream, so
packet ``i`` of a stream started at packet boundary ``b`` of the mix is packet ``b + i``
of a serial encode: same samples, same granule positions.

- Every segment after the first starts encoding :data:`PREROLL` packets before its join,
  so the encoder's analysis, prediction and resampler are warmed up on the samples the
  previous segment ended with; those packets are dropped. It also encodes
  :data:`OVERRUN` packets past its end (the encoder looks ahead).
- The join falls at the quietest packet boundary near the nominal cut (a pause, where
  the speech is), so what differs between two encoders' states is not heard. libopus's
  VBR decisions depend on its whole history, so after the first join the packets are
  not the bytes a serial encode writes: they differ as two encodings do (codec noise),
  and at the joins no more than anywhere else.
- The joined stream keeps the first segment's headers (pre-skip, serial number) and the
  last segment's final granule position, so decoders give back exactly the track's
  length, as with a serial encode.

A segment's packets depend only on its samples (each starts from a fresh encoder), so
inside :func:`~voiceguide.export.lame.reusing_segments` a second encode of a mix that
only dipped in a few places takes every unchanged segment from the cache.
"""

from __future__ import annotations

import io
import subprocess
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from voiceguide.errors import OutputError
from voiceguide.export.ffmpeg import ffmpeg_exe
from voiceguide.export.lame import SegmentCache, current_segment_cache, encode_threads

if TYPE_CHECKING:
    import numpy as np

    from voiceguide.audio import PCM

PACKETS_PER_SECOND: Final = 50
"""Opus packets of 20 ms (ffmpeg's libopus default)."""
OPUS_RATE: Final = 48_000
"""Granule positions count samples at 48 kHz."""
SEGMENT_PACKETS: Final = 3000
"""Nominal packets per segment (60 s)."""
QUIET_SEARCH: Final = 400
"""Packets either side of the nominal cut searched for the quietest boundary (8 s)."""
PREROLL: Final = 100
"""Packets a segment encodes before its join to warm the encoder up (2 s: with 0.5 s,
the two encodings differed by up to -50 dB at a join, with 2 s by -56 dB or less)."""
OVERRUN: Final = 10
"""Packets a segment encodes past its end (the encoder looks ahead)."""
PAGE_PACKETS: Final = 50
"""Packets per Ogg page (one second, as ffmpeg's muxer writes them)."""


def can_join(sample_rate: int) -> bool:
    """Whether a mix at ``sample_rate`` splits into whole 20 ms packets."""
    return sample_rate % PACKETS_PER_SECOND == 0


@dataclass(frozen=True)
class OpusEncoder:
    """ffmpeg's libopus with ``codec`` options, from int16 mono at ``sample_rate``."""

    sample_rate: int
    codec: tuple[str, ...]

    def encode(self, pcm: PCM) -> bytes:
        """The Ogg Opus stream ffmpeg writes for ``pcm`` (bit-exact: no version strings,
        a fixed serial number)."""
        import numpy as np

        argv = [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "s16le", "-ar",
                str(self.sample_rate), "-ac", "1", "-i", "pipe:0", "-map_metadata", "-1",
                *self.codec, "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "ogg",
                "pipe:1"]
        proc = subprocess.run(argv, input=np.ascontiguousarray(pcm, dtype="<i2").tobytes(),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OutputError("ffmpeg could not encode the track ("
                              + (lines[-1] if lines else f"exit code {proc.returncode}") + ")")
        return proc.stdout


def _encode(encoder: OpusEncoder, pcm: PCM, cache: SegmentCache | None) -> bytes:
    if cache is None:
        return encoder.encode(pcm)
    key = cache.key(encoder, pcm)
    data = cache.get(key)
    if data is None:
        data = encoder.encode(pcm)
        cache.put(key, data)
    return data


@dataclass
class _Part:
    first: int
    """Packet of the mix the segment's stream starts at (its preroll included)."""
    keep: int
    """Packet of the mix where the kept packets start (its join)."""
    end: int | None
    """Packet of the mix where the next segment takes over (None: the last)."""
    stream: Future[bytes]


class _Mix:
    """The mix as it arrives, kept from the earliest packet still needed."""

    def __init__(self, spp: int) -> None:
        import numpy as np

        self.spp = spp
        self.start = 0  # packet of the mix at buf[0]
        self.buf = np.zeros(0, dtype=np.int16)
        self.parts: list[np.ndarray] = []
        self.size = 0  # samples received

    def add(self, chunk: PCM) -> None:
        self.parts.append(chunk)
        self.size += len(chunk)

    def packets(self, a: int, b: int | None) -> np.ndarray:
        """Samples of packets ``a`` up to ``b`` (the end if None), as far as they came."""
        import numpy as np

        if self.parts:
            self.buf = np.concatenate([self.buf, *self.parts])
            self.parts = []
        lo = (a - self.start) * self.spp
        hi = None if b is None else (b - self.start) * self.spp
        return self.buf[max(0, lo) : hi]

    def drop_before(self, packet: int) -> None:
        self.buf = self.packets(packet, None).copy()
        self.start = packet

    def quiet(self, nominal: int) -> int:
        """The packet boundary near ``nominal`` in the middle of the quietest 120 ms."""
        import numpy as np

        lo = nominal - QUIET_SEARCH
        x = self.packets(lo, nominal + QUIET_SEARCH + 6).astype(np.float64)
        energy = (x[: x.size // self.spp * self.spp].reshape(-1, self.spp) ** 2).sum(axis=1)
        window = np.convolve(energy, np.ones(6), "valid")  # window[i]: packets lo+i..lo+i+5
        return lo + int(np.argmin(window[: 2 * QUIET_SEARCH])) + 3


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


class _OggWriter:
    """Writes the joined stream: the first segment's header pages, then pages of
    :data:`PAGE_PACKETS` audio packets; the last page carries the final granule."""

    def __init__(self, f: BinaryIO, samples_per_packet: int) -> None:
        self.f = f
        self.spp48 = samples_per_packet
        self.pending: list[bytes] = []
        self.written = 0  # audio packets written
        self.sequence = 0
        self.serial = 0

    def start(self, headers: Sequence[bytes], serial: int) -> None:
        for page in headers:
            self.f.write(page)
        self.sequence, self.serial = len(headers), serial

    def add(self, packets: Iterable[bytes]) -> None:
        self.pending.extend(packets)
        while len(self.pending) > PAGE_PACKETS:  # the last page waits for the end
            self._page(self.pending[:PAGE_PACKETS], None)
            del self.pending[:PAGE_PACKETS]

    def finish(self, granule: int) -> None:
        self._page(self.pending, granule)
        self.pending = []

    def _page(self, packets: list[bytes], final: int | None) -> None:
        from mutagen.ogg import OggPage

        page: Any = OggPage()  # type: ignore[no-untyped-call]
        page.serial, page.sequence = self.serial, self.sequence
        page.packets = packets
        self.written += len(packets)
        page.position = self.written * self.spp48 if final is None else final
        page.last = final is not None
        self.f.write(page.write())
        self.sequence += 1


def encode_joined(f: BinaryIO, chunks: Iterable[PCM], encoder: OpusEncoder,
                  threads: int | None = None, joins: list[int] | None = None) -> None:
    """Write the Ogg Opus stream of the mix in ``chunks`` to ``f``, encoded in segments on
    ``threads`` ffmpeg processes at once (all usable CPUs by default) and joined; the
    packet index of every join is appended to ``joins`` if given. The sample rate must
    split into 20 ms packets (:func:`can_join`)."""
    spp = encoder.sample_rate // PACKETS_PER_SECOND
    spp48 = OPUS_RATE // PACKETS_PER_SECOND
    workers = threads or encode_threads()
    mix = _Mix(spp)
    out = _OggWriter(f, spp48)
    cache = current_segment_cache()
    pending: deque[_Part] = deque()
    first = keep = 0
    nominal = SEGMENT_PACKETS
    need = QUIET_SEARCH + OVERRUN + 6 + SEGMENT_PACKETS // 4  # a short last part stays

    def submit(end: int | None) -> None:
        nonlocal first, keep
        pcm = mix.packets(first, None if end is None else end + OVERRUN)
        job = pool.submit(_encode, encoder, pcm, cache)
        pending.append(_Part(first, keep, end, job))
        if end is not None:
            keep, first = end, max(0, end - PREROLL)
            mix.drop_before(first)
            if joins is not None:
                joins.append(end)

    def settle(part: _Part) -> None:
        headers, packets, serial, final = _ogg_packets(part.stream.result())
        if part.first == 0:
            out.start(headers, serial)
        lo = part.keep - part.first
        out.add(packets[lo : None if part.end is None else part.end - part.first])
        if part.end is None:
            out.finish(final + part.first * spp48)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opus") as pool:
        try:
            for chunk in chunks:
                mix.add(chunk)
                while mix.size // spp >= nominal + need:
                    end = mix.quiet(nominal)
                    submit(end)
                    nominal = end + SEGMENT_PACKETS
                    while len(pending) > workers or (pending and pending[0].stream.done()):
                        settle(pending.popleft())
            submit(None)
            while pending:
                settle(pending.popleft())
        finally:
            for part in pending:
                part.stream.cancel()
