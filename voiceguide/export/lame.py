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

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from voiceguide.export.frames import (
    split_frames,
)
from voiceguide.export.lamejoin import Joiner, Segment, encode_segment
from voiceguide.export.loopframes import NEAR, LoopFrames
from voiceguide.export.segmented import (
    MixBuffer,
    current_segment_cache,
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
MIN_STRETCH: Final = 90
"""Frames of background after a join window's centre that make a stretch of it worth
taking from the loop's frames: the segments either side encode about 50 of its frames
(their join windows, warm-up and look-ahead), so shorter stretches save little."""
STRETCH_REACH: Final = 6
"""Frames either side of the quiet point where a join into or out of a stretch of
background may fall (all of it equally quiet: the window only needs a frame where the
later side's reservoir fits)."""
STRETCH_PREROLL: Final = 4
"""Frames a segment after a stretch of background encodes before its join window: the
join is not bit-exact anyway, and in the room tone at -64 dBFS two warmed encoders'
differences are far below hearing."""
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

    def encode_bytes(self, pcm: PCM, turns: int = 1) -> bytes:
        """What a fresh encoder writes for ``pcm`` (repeated ``turns`` times, fed a turn
        at a time), flushed."""
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(self.bitrate)
        enc.set_in_sample_rate(self.sample_rate)
        enc.set_channels(1)
        enc.set_quality(self.quality)
        data = le16(pcm).tobytes()
        return b"".join([*(bytes(enc.encode(data)) for _ in range(turns)), bytes(enc.flush())])

    def encode_turns(self, pcm: PCM, turns: int) -> list[bytearray]:
        """The frames of ``turns`` turns of ``pcm`` from a fresh encoder, flushed."""
        return split_frames(self.encode_bytes(pcm, turns))


def _window_energy(samples: MixBuffer, quiet: int, reach: int) -> list[float]:
    """The energy around each frame of the join window ``quiet ± reach`` (as
    :func:`_quiet_point` gives it)."""
    lo = quiet - reach - 3
    window = samples.loudness(lo, quiet + reach + 3)
    return [float(v) for v in window[: 2 * reach]]


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
    taken from its cache; inside :func:`~voiceguide.export.loopframes.background`,
    stretches of the background loop take their frames from one encode of the loop."""
    spf = encoder.samples_per_frame
    samples = MixBuffer(spf)
    need_ahead = QUIET_SEARCH + JOIN_WINDOW + OVERRUN + MIN_TAIL + 3
    workers = threads or encode_threads()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mp3")
    loop = LoopFrames.current(encoder)
    stretch: int | None = None  # quiet point where a stretch of background took over
    pending: deque[Segment] = deque()
    seg_first = 0
    last_join = 0  # end of the last join window cut
    nominal = SEGMENT_FRAMES
    cache = current_segment_cache()
    joiner = Joiner(encoder, cache, joins)

    def submit(quiet: int | None, energy: list[float], background: bool = False,
               reach: int = JOIN_WINDOW, preroll: int = PREROLL) -> None:
        """A segment from ``seg_first`` to its join window ``quiet ± reach``; the next
        starts ``preroll`` frames before that window."""
        nonlocal seg_first, last_join
        last = None if quiet is None else quiet + reach + OVERRUN
        pcm = samples.packets(seg_first, last).copy()  # not a view: it would pin the buffer
        if background:
            assert loop is not None and last is not None
            job = loop.frames(seg_first, last - seg_first)
        else:
            job = pool.submit(encode_segment, encoder, pcm, cache)
        pending.append(Segment(seg_first, quiet, energy, job, pcm, reach, background))
        if quiet is not None:
            seg_first = max(0, quiet - reach - preroll)
            last_join = quiet + reach
            samples.drop_before(seg_first)

    def end_stretch(final: bool) -> bool:
        """Submit the stretch of background begun at ``stretch`` once its end is known."""
        nonlocal stretch, nominal
        assert loop is not None and stretch is not None
        cap = seg_first + loop.period - OVERRUN + NEAR  # its segment's most frames
        end = loop.stretch_end(stretch, cap)
        if end is None and not final and loop.flags.size < cap + MIN_TAIL:
            return False  # not known yet (nor whether the track ends just after it)
        if end is None:  # cut at its longest, or where the last segment still has room
            end = min(cap, loop.flags.size - MIN_TAIL)
        quiet = end - NEAR - STRETCH_REACH
        submit(quiet, _window_energy(samples, quiet, STRETCH_REACH), True, STRETCH_REACH,
               STRETCH_PREROLL)
        stretch, nominal = None, quiet + SEGMENT_FRAMES
        return True

    try:
        for chunk in chunks:
            samples.add(chunk)
            if loop is not None:
                loop.scan(samples)
            while True:
                if stretch is not None:
                    if not end_stretch(final=False):
                        break
                elif samples.size // spf < nominal + need_ahead:
                    break
                else:
                    begin = None if loop is None else loop.stretch_start(
                        last_join + STRETCH_REACH + 4, nominal, STRETCH_REACH + NEAR,
                        MIN_STRETCH)
                    if begin is not None:
                        submit(begin, _window_energy(samples, begin, STRETCH_REACH),
                               reach=STRETCH_REACH, preroll=STRETCH_PREROLL)
                        stretch = begin
                    else:
                        quiet, energy = _quiet_point(samples, nominal)
                        submit(quiet, energy)
                        nominal = quiet + SEGMENT_FRAMES
                # at most `workers` encodes in flight, and a few segments done behind
                # one still encoding (each holds its samples until it is joined)
                while sum(not p.frames.done() for p in pending) > workers or len(
                        pending) > 2 * workers or (pending and pending[0].frames.done()):
                    yield from joiner.settle(pending.popleft())
        if stretch is not None:
            end_stretch(final=True)
        submit(None, [])
        while pending:
            yield from joiner.settle(pending.popleft())
        yield from joiner.finish()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
