"""Measure a delivered file as a listener's decoder gives it back: its true peak and
the places it passes the ceiling (ITU-R BS.1770 true peak of ffmpeg's decode).

A first MP3 encode is screened by a fast in-process decode (see
:mod:`voiceguide.export.screen`), and only the places that come near the ceiling, and
the loudest one, are decoded by ffmpeg; what that finds is what a decode of the whole
file by ffmpeg finds there (the decoders are checked to agree at the loudest place,
else the whole file is decoded). Given the mix's levels, the fast decode covers only the
frames near where they say the file can come near the ceiling. An MP3 encoded again
differs from the first only in the segments a dip touched (the encoder takes the others
from the first encode, see :mod:`voiceguide.export.lame`), so only the frames whose
bytes changed (or moved) are decoded again, with the frames before them that their
decoded samples depend on; the rest of the file decodes as it did the first time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Final

import numpy as np
import numpy.typing as npt

from voiceguide.export.ffmpeg import Decoder
from voiceguide.export.frames import FrameMap, frame_map
from voiceguide.export.screen import (
    Levels,
    candidate_runs,
    decoded_runs,
    fast_frames,
    fast_mp3,
    ffmpeg_frames,
)
from voiceguide.io.machine import (
    drop_scratch,
    scratch_file,
    scratch_fits,
    scratch_write,
)
from voiceguide.mix.loudness import LoudnessMeter
from voiceguide.mix.master import (
    OVER_GAP,
    REACH,
    TRUE_PEAK_BLOCK,
    db,
    peak_envelope,
    stream_overs,
    true_peak_gain,
)

DEPEND_FRAMES: Final = 4
"""MP3 frames before a frame that its decoded samples depend on (the bit reservoir
reaches back about one frame at 64 kbit/s and the filter banks overlap the next one;
decoding from three frames earlier gives the same samples as decoding from the start)."""
SCREEN_DB: Final = 0.1
"""A first encode is decoded exactly only where a fast decode comes this near the
ceiling (dB); two accurate MP3 decoders differ by about 0.0005 dB at full scale."""
LOUDEST_DB: Final = 3.0
"""With the mix's levels, the screen also decodes where the file can come within this
many dB of the mix's loudest sample (its loudest place must be among what it decodes)."""
SCREEN_AGREE: Final = 1e-3
"""Most the two decoders' true peaks may differ at the loudest place (linear, about
0.01 dB) for the screen to be trusted; beyond it the file is decoded whole."""
RECHECK_SHARE: Final = 4
"""An encode is checked only where it changed while that is at most this fraction
(1/4) of its frames; beyond it, it is decoded whole (in constant memory)."""
MAX_RUNS: Final = 32
"""Most places a first encode is decoded at exactly (one ffmpeg each); beyond them, or
beyond :data:`RECHECK_SHARE` of its frames, it is decoded whole in constant memory."""
COPY_BLOCK: Final = 1 << 20
"""Bytes compared at a time when finding the frames an encode changed."""

Files = list[tuple[BinaryIO | Path, int]]
"""Written files: a stream and the offset the audio starts at, or a path."""
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
        copy = stack.enter_context(scratch_file())
        src.seek(fm.offsets[0])
        left = fm.offsets[-1] - fm.offsets[0]
        if not scratch_fits(copy, left):  # not half a copy
            drop_scratch(copy)
            return None
        while left > 0:
            block = src.read(min(COPY_BLOCK, left))
            if not block or not scratch_write(copy, block):
                return None
            left -= len(block)
    except OSError:
        return None
    finally:
        src.seek(0, 2)
    return Checked(fm, copy, overs, total)


def _changed_runs(src: BinaryIO, fm: FrameMap, before: Checked) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of the audio frames whose bytes differ from the same frame
    of ``before``, wherever each lies (a re-encoded segment may join at another frame
    and pad its frames differently: later frames move by a byte, their bytes the same,
    and decode the same), runs closer than a decode's warm-up merged."""
    new = np.asarray(fm.offsets, dtype=np.int64)
    old = np.asarray(before.frames.offsets, dtype=np.int64)
    n = new.size - 1
    changed: list[np.ndarray] = []
    k = 0
    while k < n:  # a block of frames at a time
        k1 = max(k + 1, min(n, int(np.searchsorted(new, new[k] + COPY_BLOCK, "right")) - 1))
        src.seek(int(new[k]))
        a = src.read(int(new[k1] - new[k]))
        before.copy.seek(int(old[k] - old[0]))
        b = before.copy.read(int(old[k1] - old[k]))
        rel_a, rel_b = new[k : k1 + 1] - new[k], old[k : k1 + 1] - old[k]
        if np.array_equal(rel_a, rel_b) and len(a) == len(b) == int(rel_a[-1]):
            diff = np.flatnonzero(np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8))
            if diff.size:
                changed.append(np.unique(np.searchsorted(rel_a, diff, "right") - 1) + k)
        else:  # frames moved: compare each with its own old bytes
            changed.append(np.asarray(
                [i for i in range(k, k1) if a[rel_a[i - k] : rel_a[i - k + 1]]
                 != b[rel_b[i - k] : rel_b[i - k + 1]]], dtype=np.int64))
        k = k1
    src.seek(0, 2)
    idx = np.unique(np.concatenate([np.zeros(0, np.int64), *changed]))
    if not idx.size:
        return []
    cuts = np.flatnonzero(np.diff(idx) > 4 * DEPEND_FRAMES) + 1
    return [(int(g[0]), int(g[-1])) for g in np.split(idx, cuts)]


def _exact_runs(src: BinaryIO, fm: FrameMap, runs: list[tuple[int, int]], ceiling: float,
                sample_rate: int, total: int, fast: bool = False
                ) -> tuple[float, Overs, list[tuple[int, int]], int] | None:
    """True peak and overs of the frames of ``runs`` decoded by ffmpeg (``fast``: by
    dr_mp3), each run with the frames its samples depend on, the stretches of mix
    samples whose true peak was taken exactly, and the first sample at the peak (None
    when the decoder's rate is not ``sample_rate``)."""
    spf, n = fm.samples_per_frame, len(fm.offsets) - 1
    peak, peak_at = 0.0, 0
    overs: Overs = []
    scanned: list[tuple[int, int]] = []
    starts = [max(0, c0 - 2 * DEPEND_FRAMES) for c0, _ in runs]

    def raw(k: int) -> bytes:
        j0, j1 = starts[k], min(n - 1, runs[k][1] + 2 * DEPEND_FRAMES)
        src.seek(fm.offsets[j0])
        return src.read(fm.offsets[j1 + 1] - fm.offsets[j0])

    def decode(k: int, data: bytes) -> tuple[np.ndarray, int]:
        if not fast:
            return ffmpeg_frames(data)
        return fast_frames(data, min(n - 1, runs[k][1] + 2 * DEPEND_FRAMES) + 1 - starts[k],
                           spf, sample_rate)

    for j0, (y, rate) in zip(starts, decoded_runs(raw, len(runs), decode), strict=True):
        first = j0 * spf - fm.delay  # mix sample of y[0]
        lo = max(0, (j0 + DEPEND_FRAMES if j0 else j0) * spf - fm.delay)
        hi = min(total, first + y.size)
        if rate != sample_rate:
            return None
        if hi <= lo:
            continue
        # a sample's true peak needs REACH exact samples either side of it (beyond the
        # file's ends, zeros: as in a decode of the whole file)
        a = lo + (REACH if lo > 0 else 0)
        b = hi - (REACH if hi < total else 0)
        if b <= a:
            continue
        # the envelope a block at a time, each with REACH samples of context: the same
        # values as of the whole run, without its 4x-oversampled copies (a run a dip
        # re-encoded is tens of seconds: 20 MB more at the peak of a 60-minute build)
        seg = y[lo - first : hi - first]
        hot_at, hot_env = [], []
        for i in range(a - lo, b - lo, TRUE_PEAK_BLOCK):
            j = min(b - lo, i + TRUE_PEAK_BLOCK)
            c0, c1 = max(0, i - REACH), min(seg.size, j + REACH)
            # exact wherever it can pass the ceiling or the peak so far (see
            # stream_overs): the same peak and overs as the exact envelope's
            env = peak_envelope(seg[c0:c1], min(peak, ceiling))[i - c0 : j - c0]
            top = int(np.argmax(env))
            if float(env[top]) > peak:
                peak, peak_at = float(env[top]), lo + i + top
            hot = np.flatnonzero(env > ceiling)
            hot_at.append(hot + lo + i)
            hot_env.append(env[hot])
        at, value = np.concatenate(hot_at), np.concatenate(hot_env)
        for g in np.split(np.arange(at.size), np.flatnonzero(np.diff(at) > OVER_GAP) + 1):
            if g.size:
                overs.append((int(at[g[0]]), int(at[g[-1]]), float(value[g].max())))
        scanned.append((a, b))
    src.seek(0, 2)
    return peak, overs, scanned, peak_at


def screened(files: Files, ceiling: float, sample_rate: int, levels: Levels | None = None,
             total: int | None = None) -> tuple[float, Overs] | None:
    """True peak and overs of a single MP3 file as a whole decode by ffmpeg finds them,
    from a fast decode (see :mod:`voiceguide.export.screen`) and ffmpeg's decode of the
    places where that comes within :data:`SCREEN_DB` of ``ceiling`` and of its loudest
    place. With the ``levels`` of the mix encoded (``total`` samples), the fast decode
    is of the places that can come that near alone (:func:`_fast_places`); else of all
    of it. None when that cannot be done, or when the two decoders differ there by more
    than :data:`SCREEN_AGREE` (decode it all)."""
    if len(files) != 1 or isinstance(files[0][0], Path):
        return None
    src, start = files[0]
    assert not isinstance(src, Path)
    fm = frame_map(src, start)
    places = None if fm is None or levels is None or total is None else \
        _fast_places(src, fm, levels, ceiling, sample_rate, total)
    fast = None if fm is None or places is not None else \
        fast_mp3(src, start, sample_rate, fm.position)
    if fm is None or (fast is None and places is None):
        src.seek(0, 2)
        return None
    loudest: list[int] = []
    count = [0]  # the samples decoded

    def counted(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for chunk in chunks:
            count[0] += chunk.size
            yield chunk

    if places is not None:
        assert total is not None  # (places are found only knowing it)
        (top, near, at), count[0] = places, total
        loudest.append(at)
    else:
        assert fast is not None
        top, near = stream_overs(counted(fast), ceiling * db(-SCREEN_DB), loudest)
    spf = fm.samples_per_frame  # every frame of each near stretch, not only its ends
    spans = [np.arange((a + fm.delay) // spf, (b + fm.delay) // spf + 1) for a, b, _ in near]
    frames = np.unique(np.concatenate(
        [*spans, (np.asarray(loudest, dtype=np.int64) + fm.delay) // spf]))
    cuts = np.flatnonzero(np.diff(frames) > 4 * DEPEND_FRAMES) + 1
    runs = [(int(g[0]), int(g[-1])) for g in np.split(frames, cuts) if g.size]
    if len(runs) > MAX_RUNS or sum(c1 - c0 + 1 for c0, c1 in runs) > \
            (len(fm.offsets) - 1) // RECHECK_SHARE:
        src.seek(0, 2)
        return None  # near the ceiling in many places: a streamed whole decode is cheaper
    exact = _exact_runs(src, fm, runs, ceiling, sample_rate, count[0])
    # the decoders must agree at the loudest place (the exact decode covers it)
    if exact is None or abs(exact[0] - top) > SCREEN_AGREE:
        return None
    peak, overs, _, _ = exact
    return peak, sorted(overs)


def _fast_places(src: BinaryIO, fm: FrameMap, levels: Levels, ceiling: float,
                 sample_rate: int, total: int) -> tuple[float, Overs, int] | None:
    """The true peak, its first sample and the stretches within :data:`SCREEN_DB` of
    ``ceiling`` of a fast decode of only the frames that can come that near or near the
    loudest of the mix (:func:`~voiceguide.export.screen.candidate_runs`): what a fast
    decode of all of it finds. None when the loudest place decoded is quieter than the
    mix's loudest block allowed for (decode it all), or dr_mp3 cannot be used."""
    blocks = levels.blocks()
    if not blocks.size:
        return None
    floor = min(ceiling * db(-SCREEN_DB), float(blocks.max()) * db(-LOUDEST_DB))
    runs = candidate_runs(blocks, true_peak_gain(), floor, fm.delay, fm.samples_per_frame,
                          len(fm.offsets) - 1, 4 * DEPEND_FRAMES)
    try:
        got = _exact_runs(src, fm, runs, ceiling * db(-SCREEN_DB), sample_rate, total, True)
    except (ImportError, RuntimeError):
        got = None
    src.seek(0, 2)
    if got is None or got[0] < floor:
        return None
    return got[0], got[1], got[3]


def recheck(files: Files, ceiling: float, sample_rate: int, before: Checked
            ) -> tuple[float, Overs] | None:
    """The true peak and overs of an MP3 encode of the same mix as ``before`` (as many
    frames; only some changed or moved), from decoding only the changed frames and
    those their samples depend on; overs of ``before`` elsewhere still stand. The peak
    is of what was decoded and of the overs that stand (the rest was under the ceiling).
    None when the file cannot be compared that way, or most of it changed (decode it
    all)."""
    if len(files) != 1 or isinstance(files[0][0], Path):
        return None
    src, start = files[0]
    assert not isinstance(src, Path)
    fm = frame_map(src, start)
    old = before.frames
    if fm is None or (fm.samples_per_frame, fm.delay, len(fm.offsets), fm.offsets[0]) != (
            old.samples_per_frame, old.delay, len(old.offsets), old.offsets[0]):
        src.seek(0, 2)
        return None
    n = len(fm.offsets) - 1
    runs = _changed_runs(src, fm, before)
    if sum(c1 - c0 + 1 for c0, c1 in runs) > n // RECHECK_SHARE:
        return None  # most of it changed: a streamed decode of all of it costs no more
    exact = _exact_runs(src, fm, runs, ceiling, sample_rate, before.total)
    if exact is None:
        return None
    peak, overs, scanned, _ = exact
    src.seek(0, 2)
    for a, b, p in before.overs:
        if not any(lo <= a and b < hi for lo, hi in scanned):
            overs.append((a, b, p))  # that stretch did not change: it is still over
            peak = max(peak, p)
    return peak, sorted(overs)


def _upto(chunks: Iterator[np.ndarray], count: int) -> Iterator[np.ndarray]:
    """The first ``count`` samples of a stream of chunks."""
    for chunk in chunks:
        if count <= 0:
            return
        yield chunk[:count]
        count -= chunk.size


@dataclass(frozen=True)
class Heard:
    """What decoding the written file(s) found."""

    peak: float
    """True peak (linear)."""
    overs: Overs
    """Stretches over the ceiling, as ``(first, last, peak)`` in mix samples."""
    hops: npt.NDArray[np.float64] | None = None
    """The K-weighted mean square of each 100 ms of all of it (BS.1770's hops), when
    every file was decoded whole; None when only places were decoded (see
    :func:`screened` and :func:`recheck`)."""


def decoded(files: Files, ceiling: float, sample_rate: int, before: Checked | None = None,
            total: int | None = None, levels: Levels | None = None) -> Heard:
    """True peak (linear) of encoded files decoded, and the stretches over ``ceiling``
    (for a single file). With ``before`` (the previous encode of the same mix), only
    what changed is decoded when that can be done (see :func:`recheck`); a first MP3
    encode is screened (see :func:`screened`; ``levels``: the mix's, to screen only the
    places that can come near the ceiling). ``total``: the mix's samples; a single
    file decoded whole is measured up to there, as a gapless player plays it (a decode
    through a pipe keeps the encoder's padding, which would stand in for the silence
    after the last samples). Files decoded whole (Opus, AAC, parts, or an MP3 the screen
    could not take) are metered on the way (:attr:`Heard.hops`)."""
    again = screened(files, ceiling, sample_rate, levels, total) if before is None else \
        recheck(files, ceiling, sample_rate, before)
    if again is not None:
        return Heard(again[0], again[1])
    peak = 0.0
    overs: list[tuple[int, int, float]] = []
    meter: LoudnessMeter | None = None
    for src, start in files:
        if not isinstance(src, Path):
            src.seek(start)
        with Decoder(src) as stream:
            meter = meter or LoudnessMeter(stream.rate)
            count = None if total is None or len(files) != 1 else \
                -(-total * stream.rate // sample_rate)
            top, found = stream_overs(_metered(
                stream if count is None else _upto(iter(stream), count), meter), ceiling)
            scale = sample_rate / stream.rate
            overs += [(int(a * scale), int(b * scale), p) for a, b, p in found]
            peak = max(peak, top)
        if not isinstance(src, Path):
            src.seek(0, 2)
    return Heard(peak, overs, None if meter is None else np.array(meter.hops))


def _metered(chunks: Iterable[np.ndarray], meter: LoudnessMeter) -> Iterator[np.ndarray]:
    """``chunks`` as they are, fed to ``meter`` on the way."""
    for chunk in chunks:
        meter.feed(chunk)
        yield chunk
