"""Deliver a mix: master it, encode it, decode what was written and correct the codec.

A lossy codec overshoots: the decoded file can peak higher than the mix it was given.
The mix is mastered with the overshoot measured on an excerpt, but a long track meets
more peaks than an excerpt holds, so the written file is decoded and its true peak
measured. Where it is over the ceiling, the track is not mixed again at a lower level
(that moves every peak and the loudness with them): the mix of the first encode, kept
in a temporary file, is encoded again with the level dipped by the excess, for a few
tens of milliseconds around each place that was over. A codec's output scales with its
input over a frame, so the dips bring those places under the ceiling, and the rest of
the track, its loudness and its cue times stay as they were.

An MP3 encoded again differs from the first only in the segments a dip touched (the
encoder takes the others from the first encode, see :mod:`voiceguide.export.lame`), so
only the frames whose bytes changed are decoded again, with the frames before them that
their decoded samples depend on; the rest of the file decodes as it did the first time.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Final, Protocol

import numpy as np

from voiceguide.audio import PCM
from voiceguide.errors import OutputError
from voiceguide.export.ffmpeg import Decoder, roundtrip
from voiceguide.export.formats import Format
from voiceguide.export.frames import FrameMap, frame_map
from voiceguide.export.lame import SegmentCache, reusing_segments
from voiceguide.io.machine import release_memory
from voiceguide.mix.loudness import PEAK_MARGIN, Mastering
from voiceguide.mix.master import db, stream_overs, to_db
from voiceguide.mix.mixer import CEILING_DB, CHUNK_SECONDS, Mixer

CHECKS: Final = 3
"""Most encodes of a track before its decoded true peak is under the ceiling."""
DIP_HOLD: Final = 0.06
"""Seconds either side of a place that was over during which the level is dipped in
full (an MP3 frame and its window overlap reach about 52 ms at 22.05 kHz)."""
DIP_RAMP: Final = 0.03
"""Seconds over which a dip fades in and out (a raised cosine: no audible step)."""

DEPEND_FRAMES: Final = 4
"""MP3 frames before a frame that its decoded samples depend on (the bit reservoir
reaches back about one frame at 64 kbit/s and the filter banks overlap the next one;
decoding from three frames earlier gives the same samples as decoding from the start)."""
COPY_BLOCK: Final = 1 << 20
"""Bytes compared at a time when finding the frames an encode changed."""

Progress = Callable[[str, int, int], None]
Files = list[tuple[BinaryIO | Path, int]]
"""Written files: a stream and the offset the audio starts at, or a path."""


class Chunks(Protocol):
    """The mix as int16 chunks, with the seconds spent making them."""

    @property
    def seconds(self) -> float:
        """Seconds spent making the chunks so far."""
        ...

    def __iter__(self) -> Iterator[PCM]: ...


Write = Callable[[Chunks], Files]
"""Encode the chunks into the track's file(s); return what was written."""


@dataclass(frozen=True)
class Dip:
    """A stretch of the mix whose level goes down for the next encode."""

    start: int
    """First sample that was over (mix samples)."""
    end: int
    """Last sample that was over."""
    gain: float
    """Linear gain at the bottom of the dip."""


class _Recorded:
    """A mix stream passed through while a copy goes to ``store`` (dropped if the disk
    cannot hold it: the track is then mixed again instead)."""

    def __init__(self, stream: Chunks, store: IO[bytes] | None) -> None:
        self.stream, self.store = stream, store

    @property
    def seconds(self) -> float:
        return self.stream.seconds

    def __iter__(self) -> Iterator[PCM]:
        for chunk in self.stream:
            if self.store is not None:
                try:
                    self.store.write(chunk.astype("<i2").tobytes())
                except OSError:
                    self.store = None
            yield chunk


class _Replay:
    """The recorded mix again, with ``dips`` applied, chunk by chunk."""

    def __init__(self, store: IO[bytes], dips: list[Dip], sample_rate: int, total: int,
                 progress: Progress | None) -> None:
        self.store, self.dips, self.sr, self.total = store, dips, sample_rate, total
        self.progress = progress
        self.seconds = 0.0

    def __iter__(self) -> Iterator[PCM]:
        size = int(CHUNK_SECONDS * self.sr)
        count = max(1, -(-self.total // size))
        self.store.seek(0)
        pos = 0
        for done in range(1, count + 1):
            t = time.perf_counter()
            raw = self.store.read(size * 2)
            if not raw:
                return
            x = np.frombuffer(raw, dtype="<i2")
            gain = dip_gain(self.dips, pos, x.size, self.sr)
            chunk = x.astype(np.int16) if gain is None else \
                np.round(x * gain).clip(-32768, 32767).astype(np.int16)
            pos += x.size
            self.seconds += time.perf_counter() - t
            if self.progress:
                self.progress("encode", done, count)
            yield chunk


def dip_gain(dips: list[Dip], start: int, n: int, sample_rate: int
             ) -> np.ndarray | None:
    """The gain of ``dips`` over samples ``start`` to ``start + n`` (None: all 1)."""
    hold, ramp = int(DIP_HOLD * sample_rate), max(1, int(DIP_RAMP * sample_rate))
    gain: np.ndarray | None = None
    for d in dips:
        a, b = d.start - hold - ramp, d.end + hold + ramp
        if b <= start or a >= start + n:
            continue
        t = np.arange(start, start + n, dtype=np.float64)
        # 0 outside, 1 over the held stretch, a raised cosine between
        edge = np.minimum(t - a, b - t) / ramp
        shape = np.where(edge >= 1, 1.0, 0.5 - 0.5 * np.cos(np.pi * np.clip(edge, 0, 1)))
        g = 1.0 - (1.0 - d.gain) * shape
        gain = g if gain is None else gain * g
    return gain


Overs = list[tuple[int, int, float]]


@dataclass
class Checked:
    """An MP3 file whose decoded true peak was measured: a copy of its audio frames and
    where it was over, to check the next encode of the same mix only where it changed."""

    frames: FrameMap
    """Where its audio frames lie."""
    copy: IO[bytes]
    """Its audio frames' bytes (from the first frame's offset on)."""
    overs: Overs
    """The stretches over the ceiling (mix samples)."""
    total: int
    """Samples in the mix."""


def checked(files: Files, overs: Overs, total: int, stack: contextlib.ExitStack
            ) -> Checked | None:
    """A :class:`Checked` of a single MP3 file just measured (None for anything else,
    or when the disk cannot keep the copy); the copy closes with ``stack``."""
    if len(files) != 1 or isinstance(files[0][0], Path):
        return None
    src, start = files[0]
    assert not isinstance(src, Path)
    fm = frame_map(src, start)
    try:
        if fm is None:
            return None
        copy = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed by stack
        src.seek(fm.offsets[0])
        left = fm.offsets[-1] - fm.offsets[0]
        while left > 0:
            block = src.read(min(COPY_BLOCK, left))
            if not block:
                return None
            copy.write(block)
            left -= len(block)
    except OSError:
        return None
    finally:
        src.seek(0, 2)
    return Checked(fm, copy, overs, total)


def _changed_runs(src: BinaryIO, fm: FrameMap, before: Checked) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of the audio frames whose bytes differ from ``before``'s
    (the frames lie at the same offsets), runs closer than a decode's warm-up merged."""
    offsets = np.asarray(fm.offsets, dtype=np.int64)
    changed: list[np.ndarray] = []
    base = fm.offsets[0]
    src.seek(base)
    before.copy.seek(0)
    pos = 0
    while pos < offsets[-1] - base:
        a, b = src.read(COPY_BLOCK), before.copy.read(COPY_BLOCK)
        if not a:
            break
        x = np.frombuffer(a, np.uint8)
        y = np.frombuffer(b, np.uint8)[: x.size]
        diff = np.flatnonzero(x[: y.size] != y)
        if y.size < x.size:
            diff = np.r_[diff, np.arange(y.size, x.size)]
        if diff.size:
            frames = np.searchsorted(offsets, base + pos + diff, side="right") - 1
            changed.append(np.unique(frames))
        pos += x.size
    src.seek(0, 2)
    if not changed:
        return []
    idx = np.unique(np.concatenate(changed))
    idx = idx[idx < offsets.size - 1]
    if not idx.size:
        return []
    cuts = np.flatnonzero(np.diff(idx) > 4 * DEPEND_FRAMES) + 1
    return [(int(g[0]), int(g[-1])) for g in np.split(idx, cuts)]


def recheck(files: Files, ceiling: float, sample_rate: int, before: Checked
            ) -> tuple[float, Overs] | None:
    """The true peak and overs of an MP3 encode of the same mix as ``before`` (same
    frame layout, only some frames changed), from decoding only the changed frames and
    those their samples depend on; overs of ``before`` elsewhere still stand. The peak
    is of what was decoded and of the overs that stand (the rest was under the ceiling).
    None when the file cannot be compared that way (decode it all)."""
    if len(files) != 1 or isinstance(files[0][0], Path):
        return None
    src, start = files[0]
    assert not isinstance(src, Path)
    fm = frame_map(src, start)
    if fm is None or fm != before.frames:
        src.seek(0, 2)
        return None
    spf, n = fm.samples_per_frame, len(fm.offsets) - 1
    peak = 0.0
    overs: Overs = []
    scanned: list[tuple[int, int]] = []
    for c0, c1 in _changed_runs(src, fm, before):
        j0, j1 = max(0, c0 - 2 * DEPEND_FRAMES), min(n - 1, c1 + 2 * DEPEND_FRAMES)
        src.seek(fm.offsets[j0])
        raw = src.read(fm.offsets[j1 + 1] - fm.offsets[j0])
        with Decoder(io.BytesIO(raw), "mp3") as decoded:
            y = np.concatenate([np.zeros(0, np.float32), *decoded])
            rate = decoded.rate
        first = j0 * spf - fm.delay  # mix sample of y[0]
        lo = max(0, (j0 + DEPEND_FRAMES if j0 else j0) * spf - fm.delay)
        hi = min(before.total, first + y.size)
        if rate != sample_rate:
            return None
        if hi <= lo:
            continue
        top, found = stream_overs([y[lo - first : hi - first]], ceiling)
        peak = max(peak, top)
        overs += [(lo + a, lo + b, p) for a, b, p in found]
        scanned.append((lo, hi))
    src.seek(0, 2)
    for a, b, p in before.overs:
        if not any(lo <= a and b < hi for lo, hi in scanned):
            overs.append((a, b, p))  # that stretch did not change: it is still over
            peak = max(peak, p)
    return peak, sorted(overs)


def decoded_overs(files: Files, ceiling: float, sample_rate: int,
                  before: Checked | None = None) -> tuple[float, Overs]:
    """True peak (linear) of encoded files decoded, and the stretches over ``ceiling``
    as ``(first, last, peak)`` in mix samples (for a single file). With ``before`` (the
    previous encode of the same mix), only what changed is decoded when that can be
    done (see :func:`recheck`)."""
    if before is not None:
        again = recheck(files, ceiling, sample_rate, before)
        if again is not None:
            return again
    peak = 0.0
    overs: list[tuple[int, int, float]] = []
    for src, start in files:
        if not isinstance(src, Path):
            src.seek(start)
        with Decoder(src) as decoded:
            top, found = stream_overs(decoded, ceiling)
            scale = sample_rate / decoded.rate
            overs += [(int(a * scale), int(b * scale), p) for a, b, p in found]
            peak = max(peak, top)
        if not isinstance(src, Path):
            src.seek(0, 2)
    return peak, overs


def deliver(mixer: Mixer, fmt: Format, write: Write, progress: Progress | None = None
            ) -> tuple[Mastering, dict[str, float]]:
    """Master the mix and ``write`` it; a lossy file whose decoded true peak is over the
    ceiling is written again with dips where it was over (or, when the file is in parts
    or the mix could not be kept, mixed again lower)."""
    t0 = time.perf_counter()
    if progress:
        progress("loudness", 0, 1)
    sr = mixer.sr
    release_memory()  # what making the mixer dropped (its envelopes, the chimes)
    mastering = Mastering(mixer, (lambda pcm: roundtrip(fmt, pcm, sr)) if fmt.lossy else None)
    release_memory()
    if progress:
        progress("loudness", 1, 1)
    t1 = time.perf_counter()
    mixing = 0.0
    ceiling = db(mastering.ceiling_db)
    with contextlib.ExitStack() as stack:
        store: IO[bytes] | None = None
        if fmt.lossy:
            with contextlib.suppress(OSError):
                store = stack.enter_context(tempfile.TemporaryFile())
            with contextlib.suppress(OSError):
                # an MP3 encode again takes the segments no dip touched from the first
                stack.enter_context(reusing_segments(stack.enter_context(SegmentCache())))
        first = _Recorded(mixer.pcm(progress), store)
        stream: Chunks = first
        dips: list[Dip] = []
        before: Checked | None = None
        for _ in range(CHECKS):
            files = write(stream)
            mixing += stream.seconds
            if not fmt.lossy:
                break
            peak, overs = decoded_overs(files, ceiling, sr, before)
            if peak <= ceiling:
                break
            if len(files) == 1 and store is not None and first.store is not None:
                before = checked(files, overs, mixer.tl.total, stack)
                dips += [Dip(a, b, db(-(to_db(p) - mastering.ceiling_db + PEAK_MARGIN)))
                         for a, b, p in overs]
                stream = _Replay(store, dips, sr, mixer.tl.total, progress)
            else:  # parts, or the disk could not keep the mix: mix again lower
                mastering.check(peak)
                store, before = None, None
                stream = _Recorded(mixer.pcm(progress), None)
        else:
            raise OutputError(f"the {fmt.name} encoder keeps overshooting the {CEILING_DB:g} "
                              "dBTP ceiling; try another --format")
    return mastering, {"loudness": t1 - t0, "mix": mixing,
                       "encode+write": time.perf_counter() - t1 - mixing}
