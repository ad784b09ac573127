"""Encoding on every core with an encoder that runs one stream on one core (ffmpeg's
libopus and AAC): the mix cut into segments at quiet packet boundaries, each segment
encoded by its own process, and the packets joined into one stream.

A codec's packets cover a fixed number of samples, and an encoder's delay is the same
for every stream it starts, so packet ``i`` of a stream started at packet boundary
``b`` of the mix covers the samples of packet ``b + i`` of a serial encode. Then:

- every segment after the first starts encoding ``preroll`` packets before its join, so
  the encoder's analysis, prediction and resampler are warmed up on the samples the
  previous segment ended with; those packets are dropped. It also encodes ``overrun``
  packets past its end (encoders look ahead);
- the join falls at the quietest packet boundary near the nominal cut (a pause, where
  the guidance is), so what differs between two encoders' states is not heard;
- the format's :class:`Joiner` takes each segment's packets in order and writes the
  joined stream (headers from the first segment, the end from the last).

Where segments are cut depends only on the samples, never on the number of processes or
on how the mix arrived in chunks: the same mix gives the same bytes. A segment's bytes
depend only on its samples (each starts from a fresh encoder), so inside
:func:`reusing_segments` a second encode of a mix that dipped in
a few places takes every unchanged segment from the cache.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final, Protocol

from voiceguide.io.machine import reserved, scratch_file, scratch_write, usable_cpus

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voiceguide.audio import PCM


ENV_THREADS: Final = "VOICEGUIDE_ENCODE_THREADS"
"""Environment variable that caps the threads or processes of one encode."""


def encode_threads() -> int:
    """Threads (or encoder processes) for one encode: the CPUs this process may use,
    capped by ``VOICEGUIDE_ENCODE_THREADS``."""
    return usable_cpus(ENV_THREADS)


def le16(pcm: PCM) -> np.ndarray:
    """The samples as little-endian int16 (no copy when they are already)."""
    import numpy as np

    return np.ascontiguousarray(pcm, dtype="<i2")


class SegmentCache:
    """Encoded segments kept on disk, keyed by the encoder's settings and a digest of
    the samples it was given (so a hit is the very bytes that encoding them would give).
    Thread-safe; close it (or use it as a context manager) to drop the file."""

    def __init__(self) -> None:
        self._file: IO[bytes] = scratch_file()
        self._reserve = reserved()  # read here: encoder threads do not see the context
        self._index: dict[bytes, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._end = 0
        self.hits = 0
        """Segments taken from the cache rather than encoded."""
        self.misses = 0
        """Segments encoded."""

    @staticmethod
    def key(encoder: object, pcm: PCM) -> bytes:
        """What identifies an encode: the settings (their ``repr``) and the samples'
        SHA-256 digest (OpenSSL's, on the CPU's SHA instructions where it has them:
        1.4 GB/s on the benchmark machine, blake2b 0.54)."""
        h = hashlib.sha256(repr(encoder).encode())
        h.update(le16(pcm).data)
        return h.digest()

    def get(self, key: bytes) -> bytes | None:
        """The encoder's output stored under ``key``, if any."""
        with self._lock:
            where = self._index.get(key)
            if where is None or self._file.closed:
                self.misses += 1
                return None
            self.hits += 1
            self._file.seek(where[0])
            return self._file.read(where[1])

    def put(self, key: bytes, data: bytes) -> None:
        """Store the encoder's output under ``key`` (dropped if the disk is full)."""
        with self._lock:
            if key in self._index:
                return
            if self._file.closed:
                return
            with contextlib.suppress(OSError):
                self._file.seek(self._end)
            if not scratch_write(self._file, data, self._reserve):
                self._index.clear()  # given up: the track needs the space more
                return
            self._index[key] = (self._end, len(data))
            self._end += len(data)

    def close(self) -> None:
        """Drop the stored segments."""
        self._index.clear()
        self._file.close()

    def __enter__(self) -> SegmentCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_CACHE: contextvars.ContextVar[SegmentCache | None] = contextvars.ContextVar(
    "voiceguide_mp3_segments", default=None)


def current_segment_cache() -> SegmentCache | None:
    """The cache of the enclosing :func:`reusing_segments` block, if any (a segmented
    encoder of another format keeps its segments there too)."""
    return _CACHE.get()


@contextlib.contextmanager
def reusing_segments(cache: SegmentCache) -> Iterator[SegmentCache]:
    """Within the block, MP3 encodes started from this thread store their segments in
    ``cache`` and take unchanged ones from it."""
    token = _CACHE.set(cache)
    try:
        yield cache
    finally:
        _CACHE.reset(token)


@dataclass(frozen=True)
class Cuts:
    """Where a format's segments are cut, in packets."""

    segment: int
    """Nominal packets per segment."""
    quiet_search: int
    """Packets either side of the nominal cut searched for the quietest boundary."""
    preroll: int
    """Packets a segment encodes before its join to warm the encoder up."""
    overrun: int
    """Packets a segment encodes past its end."""


class SegmentEncoder(Protocol):
    """Encodes one segment from a fresh encoder (its ``repr`` names the settings: it
    keys the segment cache)."""

    def encode(self, pcm: PCM) -> bytes:
        """The stream a fresh encoder writes for ``pcm``."""
        ...


class Joiner(Protocol):
    """A format's side of a segmented encode."""

    @property
    def packet_samples(self) -> int:
        """Samples of the mix per packet."""
        ...

    @property
    def cuts(self) -> Cuts:
        """Where segments are cut."""
        ...

    @property
    def encoder(self) -> SegmentEncoder:
        """What encodes a segment."""
        ...

    def join(self, stream: bytes, first: int, keep: int, end: int | None) -> None:
        """Take packets ``keep`` up to ``end`` (None: the last segment) of the mix from
        ``stream``, a segment encoded from packet ``first`` of the mix on; segments come
        in order, the first with ``first == 0``."""
        ...


def encode_cached(encoder: object, encode: Callable[[PCM], bytes], pcm: PCM,
                  cache: SegmentCache | None) -> bytes:
    """``encode(pcm)``, or what ``cache`` holds for the same ``encoder`` settings and
    samples (stored there when it was missing)."""
    if cache is None:
        return encode(pcm)
    key = cache.key(encoder, pcm)
    data = cache.get(key)
    if data is None:
        data = encode(pcm)
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


class MixBuffer:
    """The mix as it arrives in chunks, kept from the earliest packet (codec frame of
    ``spp`` samples) a segment still needs."""

    def __init__(self, spp: int) -> None:
        import numpy as np

        self.spp = spp
        self.start = 0  # packet of the mix at buf[0]
        self.buf = np.zeros(0, dtype=np.int16)
        self.parts: list[np.ndarray] = []
        self.size = 0
        """Samples received."""

    def add(self, chunk: PCM) -> None:
        """Take the next chunk."""
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
        """Let go of the samples before ``packet``."""
        self.buf = self.packets(packet, None).copy()
        self.start = packet

    def loudness(self, a: int, b: int) -> npt.NDArray[np.float64]:
        """For each packet from ``a`` on, the energy of the six packets from it (the
        last window ends at ``b``)."""
        import numpy as np

        x = self.packets(a, b).astype(np.float64)
        energy = (x[: x.size // self.spp * self.spp].reshape(-1, self.spp) ** 2).sum(axis=1)
        window: npt.NDArray[np.float64] = np.convolve(energy, np.ones(6), "valid")
        return window

    def quiet(self, nominal: int, search: int) -> int:
        """The packet boundary within ``search`` packets of ``nominal`` in the middle of
        the quietest six packets."""
        import numpy as np

        window = self.loudness(nominal - search, nominal + search + 6)
        return nominal - search + int(np.argmin(window[: 2 * search])) + 3


def encode_segments(chunks: Iterable[PCM], joiner: Joiner, threads: int | None = None,
                    joins: list[int] | None = None) -> None:
    """Encode the mix in ``chunks`` in segments on ``threads`` processes at once (all
    usable CPUs by default) and hand their packets to ``joiner`` in order; the packet
    index of every join is appended to ``joins`` if given."""
    spp, cuts = joiner.packet_samples, joiner.cuts
    workers = threads or encode_threads()
    mix = MixBuffer(spp)
    cache = current_segment_cache()
    pending: deque[_Part] = deque()
    first = keep = 0
    nominal = cuts.segment
    need = cuts.quiet_search + cuts.overrun + 6 + cuts.segment // 4  # no short last part

    def submit(end: int | None) -> None:
        nonlocal first, keep
        pcm = mix.packets(first, None if end is None else end + cuts.overrun)
        enc = joiner.encoder
        pending.append(_Part(first, keep, end,
                             pool.submit(encode_cached, enc, enc.encode, pcm, cache)))
        if end is not None:
            keep, first = end, max(0, end - cuts.preroll)
            mix.drop_before(first)
            if joins is not None:
                joins.append(end)

    def settle(part: _Part) -> None:
        joiner.join(part.stream.result(), part.first, part.keep, part.end)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="encode") as pool:
        try:
            for chunk in chunks:
                mix.add(chunk)
                while mix.size // spp >= nominal + need:
                    end = mix.quiet(nominal, cuts.quiet_search)
                    submit(end)
                    nominal = end + cuts.segment
                    while len(pending) > workers or (pending and pending[0].stream.done()):
                        settle(pending.popleft())
            submit(None)
            while pending:
                settle(pending.popleft())
        finally:
            for part in pending:
                part.stream.cancel()
