"""MP3 frames from LAME, encoded on every core and joined without a seam.

LAME encodes one stream on one core. We cut the mix into segments of about 27 seconds,
encode them in threads (lameenc releases the GIL) and join their frames:

- every segment after the first starts encoding ``PREROLL`` frames plus a search window
  before its join, so the encoder's transform and psychoacoustic model are warmed up on
  the same samples the previous segment ended with, and frame ``i`` of every segment
  decodes to the same sample positions as frame ``i`` of a serial encode;
- the join is chosen after both sides are encoded, inside a window around the quietest
  point near the nominal cut: first where both encoders wrote the same bytes for the
  frames around it (their states have converged, the join is bit-exact), else where the
  audio is quietest;
- MP3 frames borrow bytes from the frames before them (the bit reservoir). The first
  frame after a join may point back into bytes that only the later segment wrote, so
  those bytes are copied into the free tail of the earlier segment's last frames. A join
  is only taken where that tail is large enough (the later frame reaches back no further
  than the earlier encoder's own next frame did).

Where segments are cut depends only on the samples, never on the number of threads or
on how the mix arrived in chunks: the same mix gives the same bytes on any machine.

A segment's frames depend only on its samples (each starts from a fresh encoder), so a
second encode of a nearly unchanged mix (delivery dips a few places the codec
overshot) takes the frames of every segment whose samples are byte-for-byte the same
from a :class:`~voiceguide.export.segmented.SegmentCache` of the first encode: the
result is the same bytes a full encode would give, at the cost of encoding only the
segments that changed.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from voiceguide.export.frames import (
    main_data_begin,
    side_info_size,
    split_frames,
)
from voiceguide.export.segmented import (
    MixBuffer,
    SegmentCache,
    current_segment_cache,
    encode_cached,
    encode_threads,
    le16,
)

if TYPE_CHECKING:

    from voiceguide.audio import PCM

SEGMENT_FRAMES: Final = 1024
"""Nominal frames per segment (1024 × 576 samples ≈ 26.7 s at 22.05 kHz)."""
QUIET_SEARCH: Final = 96
"""Frames either side of the nominal cut searched for the quietest point (2.5 s: far
enough to reach a pause between sentences; at 48 frames a join of a 15-min track over
rain fell in speech at -33 dBFS, -48.0 dB RMS from a serial encode within 50 ms, and at
96 the worst of five real tracks' joins went from -45.5 to -47.2 dB, the others below
-58 dB. Where a bed never falls quiet, two encodes differ by their codec noise: there
the parallel and serial decodes were both -26.7 dB from the mix at the worst join)."""
JOIN_WINDOW: Final = 16
"""Frames either side of the quiet point where the join itself may fall (the join is
the quietest of them, or one where both encoders wrote the same bytes). 16 rather than
32 costs a segment 32 fewer frames (3% of the encode); the joins stayed as seamless
(largest RMS difference from a serial encode within 50 ms: -77.9 dB against -62.3 on
morning-hips, -48.0 against -48.0 on a 15-min track); 12 and 8 did not (-45.7 dB)."""
PREROLL: Final = 16
"""Frames a segment encodes before its join window to warm the encoder up."""
OVERRUN: Final = 12
"""Frames a segment encodes past its join window (the encoder looks ahead)."""
MIN_TAIL: Final = 64
"""Frames the last segment keeps at least; shorter tails stay with the segment before."""
@dataclass(frozen=True)
class Encoder:
    """LAME settings for one stream."""

    sample_rate: int
    bitrate: int
    quality: int
    samples_per_frame: int = 576

    def encode(self, pcm: PCM) -> list[bytearray]:
        """The frames of ``pcm`` encoded from a fresh encoder, flushed."""
        return split_frames(self.encode_bytes(pcm))

    def encode_bytes(self, pcm: PCM) -> bytes:
        """What a fresh encoder writes for ``pcm``, flushed."""
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(self.bitrate)
        enc.set_in_sample_rate(self.sample_rate)
        enc.set_channels(1)
        enc.set_quality(self.quality)
        return bytes(enc.encode(le16(pcm).tobytes())) + bytes(enc.flush())


def _encode_segment(encoder: Encoder, pcm: PCM, cache: SegmentCache | None
                    ) -> list[bytearray]:
    return split_frames(encode_cached(encoder, encoder.encode_bytes, pcm, cache))


@dataclass
class _Segment:
    first: int
    """Global index of this segment's first encoded frame."""
    quiet: int | None
    """Quiet point its join with the next segment falls near (None for the last)."""
    energy: list[float]
    """Audio energy around each frame of the join window."""
    frames: Future[list[bytearray]]
    pcm: PCM
    """The samples it encodes (kept until it is joined: see :func:`_merged`)."""


def _quiet_point(samples: MixBuffer, nominal: int) -> tuple[int, list[float]]:
    """The frame near ``nominal`` around which the audio is quietest, and the energy
    around each frame of the join window centred on it."""
    import numpy as np

    margin = QUIET_SEARCH + JOIN_WINDOW + 3
    lo = nominal - margin
    window = samples.loudness(lo, nominal + margin)  # window[i]: frames lo+i .. lo+i+5
    first = JOIN_WINDOW  # window index of the quiet search's first frame (lo + 3 + JW)
    quiet = first + int(np.argmin(window[first : first + 2 * QUIET_SEARCH]))
    around = window[quiet - JOIN_WINDOW : quiet + JOIN_WINDOW]
    return lo + 3 + quiet, [float(v) for v in around]


def _choose_join(a: list[bytearray], a_first: int, b: list[bytearray], b_first: int,
                 quiet: int, energy: list[float]) -> int | None:
    """The global frame where segment ``b`` takes over from segment ``a``: among the
    frames within 6 dB of the quietest in the window, where both encoders wrote the same
    bytes if there is such a place, else the quietest. None where no frame of the window
    can be taken over: ``b``'s encoder needs more reservoir than ``a`` left free at every
    one of them (see :func:`_merged`)."""
    floor = 4.0 * min(energy) + 1.0
    best: tuple[tuple[int, float], int] | None = None
    for i, g in enumerate(range(quiet - JOIN_WINDOW, quiet + JOIN_WINDOW)):
        fa, fb = a[g - a_first], b[g - b_first]
        if main_data_begin(fb) > main_data_begin(fa):
            continue  # the later frame reaches back further than the free tail
        same = all(a[g + j - a_first] == b[g + j - b_first] for j in range(-2, 3))
        key = (0 if same and energy[i] <= floor else 1, energy[i])
        if best is None or key < best[0]:
            best = (key, g)
    return None if best is None else best[1]


def _merged(encoder: Encoder, a: _Segment, b: _Segment, cache: SegmentCache | None
            ) -> _Segment:
    """Segment ``b`` encoded again from where ``a`` starts, for when ``b`` cannot take
    over from ``a`` anywhere in the join window.

    That happens: LAME pads 48 of every 49 frames at 64 kbit/s and 22.05 kHz, in a
    pattern that runs from the encoder's first frame, so two encoders started a number
    of frames apart that is not a multiple of 49 lay the same frames out a byte apart.
    Where the later encoder is the one a byte ahead over the whole window, each of its
    frames reaches back one byte further than the earlier one left free (about 1 track
    in 100: morning-hips for "Dana" at 4 minutes). Encoded from ``a``'s first frame,
    ``b`` writes the very bytes ``a`` wrote up to the end of the window (a frame depends
    only on the samples up to a few frames after it; ``a`` was given :data:`OVERRUN`
    more), so the join is bit-exact. It costs one encode of both segments, once."""
    import numpy as np

    spf = encoder.samples_per_frame
    pcm = np.concatenate([a.pcm[: (b.first - a.first) * spf], b.pcm])
    done: Future[list[bytearray]] = Future()
    done.set_result(_encode_segment(encoder, pcm, cache))
    return _Segment(a.first, b.quiet, b.energy, done, pcm)


def _carry_reservoir(kept: list[bytearray], b: list[bytearray], at: int) -> None:
    """Copy the reservoir bytes frame ``b[at]`` reaches back for into the free tail of
    the frames already ``kept``."""
    need = main_data_begin(b[at])
    if not need:
        return
    header = struct.unpack(">I", b[at][:4])[0]
    head = side_info_size(header)
    res = b"".join(bytes(f[head:]) for f in b[max(0, at - 3) : at])[-need:]
    i, pos = len(kept) - 1, need
    while pos > 0:
        take = min(pos, len(kept[i]) - head)
        kept[i][len(kept[i]) - take :] = res[pos - take : pos]
        pos -= take
        i -= 1


def encode_frames(chunks: Iterable[PCM], encoder: Encoder, threads: int | None = None,
                  joins: list[int] | None = None) -> Iterator[bytes]:
    """MP3 frames of the mix in ``chunks``, one at a time (see :func:`encode_runs`)."""
    for run in encode_runs(chunks, encoder, threads, joins):
        yield from (bytes(f) for f in run)


def encode_runs(chunks: Iterable[PCM], encoder: Encoder, threads: int | None = None,
                joins: list[int] | None = None) -> Iterator[list[bytearray]]:
    """MP3 frames of the mix in ``chunks`` in runs of consecutive frames that will not
    change again (a writer takes a run in one call), encoded in segments on ``threads``
    threads (all usable CPUs by default) and joined seamlessly; the frames of a serial encode
    of the same samples have the same count and timing. The frame index of every join
    is appended to ``joins`` if given. Inside
    :func:`~voiceguide.export.segmented.reusing_segments`, segments are stored in and
    taken from its cache."""
    spf = encoder.samples_per_frame
    samples = MixBuffer(spf)
    need_ahead = QUIET_SEARCH + JOIN_WINDOW + OVERRUN + MIN_TAIL + 3
    pool = ThreadPoolExecutor(max_workers=threads or encode_threads(),
                              thread_name_prefix="mp3")
    pending: deque[_Segment] = deque()
    seg_first = 0
    join = 0  # global frame where the current segment's kept frames start
    nominal = SEGMENT_FRAMES
    kept: list[bytearray] = []  # frames held back: the next join may rewrite their tail
    prev: _Segment | None = None
    cache = current_segment_cache()

    def submit(quiet: int | None, energy: list[float]) -> None:
        nonlocal seg_first
        last = None if quiet is None else quiet + JOIN_WINDOW + OVERRUN
        pcm = samples.packets(seg_first, last)
        job = pool.submit(_encode_segment, encoder, pcm, cache)
        pending.append(_Segment(seg_first, quiet, energy, job, pcm))
        if quiet is not None:
            seg_first = max(0, quiet - JOIN_WINDOW - PREROLL)
            samples.drop_before(seg_first)

    def settle(seg: _Segment) -> Iterator[list[bytearray]]:
        """Join ``seg`` after the previous segment; yield the frames now final."""
        nonlocal prev, join, kept
        frames = seg.frames.result()
        if prev is None:
            kept = frames[: (seg.quiet + JOIN_WINDOW - seg.first) if seg.quiet else None]
        else:
            assert prev.quiet is not None
            a = prev.frames.result()
            g = _choose_join(a, prev.first, frames, seg.first, prev.quiet, prev.energy)
            if g is None:
                seg = _merged(encoder, prev, seg, cache)
                frames = seg.frames.result()
                g = _choose_join(a, prev.first, frames, seg.first, prev.quiet, prev.energy)
                if g is None:  # pragma: no cover - the same bytes as ``a`` in the window
                    raise RuntimeError("no MP3 join after encoding the segments as one")
            kept = kept[: g - join]
            _carry_reservoir(kept, frames, g - seg.first)
            yield kept
            join = g
            if joins is not None:
                joins.append(g)
            end = (seg.quiet + JOIN_WINDOW - seg.first) if seg.quiet else None
            kept = frames[g - seg.first : end]
        if seg.quiet is not None:
            # frames before the next join window cannot change: hand them out now
            safe = seg.quiet - JOIN_WINDOW - 4 - join
            if safe > 0:
                yield kept[:safe]
                kept = kept[safe:]
                join += safe
        prev = seg

    try:
        for chunk in chunks:
            samples.add(chunk)
            while samples.size // spf >= nominal + need_ahead:
                quiet, energy = _quiet_point(samples, nominal)
                submit(quiet, energy)
                nominal = quiet + SEGMENT_FRAMES
                while len(pending) > (threads or encode_threads()) or (
                        pending and pending[0].frames.done()):
                    yield from settle(pending.popleft())
        submit(None, [])
        while pending:
            yield from settle(pending.popleft())
        if kept:
            yield kept
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
