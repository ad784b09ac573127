"""Joining the segments of a parallel MP3 encode (see :mod:`voiceguide.export.lame`):
where one segment takes over from the one before, the bit-reservoir bytes carried over
the join, and what is done where no frame of a join window can be taken over."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from voiceguide.export.frames import main_data_begin, side_info_size, split_frames
from voiceguide.export.segmented import SegmentCache, encode_cached

if TYPE_CHECKING:
    from voiceguide.audio import PCM


class Encoder(Protocol):
    """What encodes a segment (:class:`voiceguide.export.lame.Encoder`; its ``repr``
    names the settings: it keys the segment cache)."""

    @property
    def samples_per_frame(self) -> int:
        """Samples of the mix per frame."""
        ...

    def encode_bytes(self, pcm: PCM) -> bytes:
        """What a fresh encoder writes for ``pcm``, flushed."""
        ...


def encode_segment(encoder: Encoder, pcm: PCM, cache: SegmentCache | None
                   ) -> list[bytearray]:
    """The frames of ``pcm`` from a fresh encoder (or from ``cache``)."""
    return split_frames(encode_cached(encoder, encoder.encode_bytes, pcm, cache))


@dataclass
class Segment:
    """A segment of the mix and its frames (being encoded, or taken from the loop's)."""

    first: int
    """Global index of this segment's first encoded frame."""
    quiet: int | None
    """Quiet point its join with the next segment falls near (None for the last)."""
    energy: list[float]
    """Audio energy around each frame of the join window."""
    frames: Future[list[bytearray]]
    pcm: PCM
    """The samples it encodes (kept until it is joined: see :func:`merged`)."""
    reach: int
    """Frames either side of ``quiet`` where its join with the next segment may fall."""
    background: bool = False
    """Whether its frames are the background loop's, encoded once (see
    :mod:`voiceguide.export.loopframes`)."""


def choose_join(a: list[bytearray], a_first: int, b: list[bytearray], b_first: int,
                 quiet: int, energy: list[float]) -> int | None:
    """The global frame where segment ``b`` takes over from segment ``a``: among the
    frames within 6 dB of the quietest in the window, where both encoders wrote the same
    bytes if there is such a place, else the quietest. None where no frame of the window
    can be taken over: ``b``'s encoder needs more reservoir than ``a`` left free at every
    one of them (see :func:`merged`)."""
    floor = 4.0 * min(energy) + 1.0
    best: tuple[tuple[int, float], int] | None = None
    reach = len(energy) // 2
    for i, g in enumerate(range(quiet - reach, quiet + reach)):
        fa, fb = a[g - a_first], b[g - b_first]
        if main_data_begin(fb) > main_data_begin(fa):
            continue  # the later frame reaches back further than the free tail
        same = all(a[g + j - a_first] == b[g + j - b_first] for j in range(-2, 3))
        key = (0 if same and energy[i] <= floor else 1, energy[i])
        if best is None or key < best[0]:
            best = (key, g)
    return None if best is None else best[1]


def merged(encoder: Encoder, a: Segment, b: Segment, cache: SegmentCache | None
            ) -> Segment:
    """Segment ``b`` encoded again from where ``a`` starts, for when ``b`` cannot take
    over from ``a`` anywhere in the join window.

    That happens: LAME pads 48 of every 49 frames at 64 kbit/s and 22.05 kHz, in a
    pattern that runs from the encoder's first frame, so two encoders started a number
    of frames apart that is not a multiple of 49 lay the same frames out a byte apart.
    Where the later encoder is the one a byte ahead over the whole window, each of its
    frames reaches back one byte further than the earlier one left free (about 1 track
    in 100: morning-hips for "Dana" at 4 minutes). Encoded from ``a``'s first frame,
    ``b`` writes the very bytes ``a`` wrote up to the end of the window (a frame depends
    only on the samples up to a few frames after it; ``a`` was given
    :data:`~voiceguide.export.lame.OVERRUN` more), so the join is bit-exact. It costs
    one encode of both segments, once."""
    import numpy as np

    spf = encoder.samples_per_frame
    pcm = np.concatenate([a.pcm[: (b.first - a.first) * spf], b.pcm])
    return Segment(a.first, b.quiet, b.energy, done(encode_segment(encoder, pcm, cache)),
                    pcm, reach=b.reach)


def carry_reservoir(kept: list[bytearray], b: list[bytearray], at: int) -> None:
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


class Joiner:
    """Joins segments in order and hands out the frames that will not change again.

    The join into a stretch of background stays open until the segment after it has
    joined too: where that segment can take over from the background nowhere in its
    window, the stretch is encoded after all and both joins are made again (see
    :meth:`settle`)."""

    def __init__(self, encoder: Encoder, cache: SegmentCache | None,
                 joins: list[int] | None) -> None:
        self.encoder, self.cache, self.joins = encoder, cache, joins
        self.prev: Segment | None = None
        self.join = 0
        """Global frame where the ``kept`` frames start."""
        self.kept: list[bytearray] = []
        """Frames held back: the next join may rewrite their tail."""
        self.held: list[list[bytearray]] = []
        """Runs final once the open join into a stretch of background is confirmed."""
        self.undo: tuple[Segment | None, int, list[bytearray], int] | None = None
        """How things stood before that join: previous segment, join, kept frames
        (copies) and the number of joins reported."""

    def settle(self, seg: Segment) -> Iterator[list[bytearray]]:
        """Join ``seg`` after the previous segment; yield the frames now final."""
        prev = self.prev
        frames = seg.frames.result()
        if prev is None:
            self.kept = frames[: (seg.quiet + seg.reach - seg.first) if seg.quiet else None]
        else:
            assert prev.quiet is not None
            a = prev.frames.result()
            g = choose_join(a, prev.first, frames, seg.first, prev.quiet, prev.energy)
            if g is None and prev.background:
                yield from self._redo(prev, seg)
                return
            if g is None and seg.background:  # encode the stretch after all
                seg = self._encoded(seg)
                frames = seg.frames.result()
                g = choose_join(a, prev.first, frames, seg.first, prev.quiet, prev.energy)
            if g is None:
                seg = merged(self.encoder, prev, seg, self.cache)
                frames = seg.frames.result()
                g = choose_join(a, prev.first, frames, seg.first, prev.quiet, prev.energy)
                if g is None:  # pragma: no cover - the same bytes as ``a`` in the window
                    raise RuntimeError("no MP3 join after encoding the segments as one")
            if seg.background:
                self.undo = (prev, self.join, [bytearray(f) for f in self.kept],
                             len(self.joins) if self.joins is not None else 0)
            kept = self.kept[: g - self.join]
            carry_reservoir(kept, frames, g - seg.first)
            if seg.background:
                self.held.append(kept)
            else:
                yield from self.held
                self.held, self.undo = [], None
                yield kept
            self.join = g
            if self.joins is not None:
                self.joins.append(g)
            end = (seg.quiet + seg.reach - seg.first) if seg.quiet else None
            self.kept = frames[g - seg.first : end]
        if seg.quiet is not None and not seg.background:
            # frames before the next join window cannot change: hand them out now
            safe = seg.quiet - seg.reach - 4 - self.join
            if safe > 0:
                yield self.kept[:safe]
                self.kept = self.kept[safe:]
                self.join += safe
        self.prev = seg

    def _redo(self, stretch: Segment, seg: Segment) -> Iterator[list[bytearray]]:
        """``seg`` cannot take over from the background ``stretch``: encode the stretch,
        join it again where its own join began, then join ``seg`` after it."""
        assert self.undo is not None
        self.prev, self.join, self.kept, reported = self.undo
        if self.joins is not None:
            del self.joins[reported:]
        self.held, self.undo = [], None
        yield from self.settle(self._encoded(stretch))
        yield from self.settle(seg)

    def _encoded(self, stretch: Segment) -> Segment:
        """A stretch of background's segment with its frames encoded after all."""
        return dataclasses.replace(stretch, background=False, frames=done(
            encode_segment(self.encoder, stretch.pcm, self.cache)))

    def finish(self) -> Iterator[list[bytearray]]:
        """The frames still held back, once the last segment has joined."""
        yield from self.held
        if self.kept:
            yield self.kept


def done(frames: list[bytearray]) -> Future[list[bytearray]]:
    """``frames`` as a finished future."""
    done: Future[list[bytearray]] = Future()
    done.set_result(frames)
    return done
