"""Mastering for delivery: true-peak measurement and limiting (ITU-R BS.1770 Annex 2),
and the encoder's measured effect on loudness and peaks.

Players resample and lossy codecs overshoot, so sample peaks say little about what a
listener's device reconstructs. Peaks here are true peaks: the largest magnitude of the
signal oversampled 4x with a polyphase low-pass filter. The limiter works on that
envelope, and :class:`StreamLimiter` applies it to a stream of chunks with enough
look-ahead that the result does not depend on how the stream was cut into chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import Audio
from voiceguide.mix.dsp import firwin_kaiser, oversampled_peaks, running_mean

OVERSAMPLE: Final = 4
"""True-peak oversampling factor (BS.1770-4 Annex 2)."""
PHASE_TAPS: Final = 12
"""Taps of the interpolation filter per phase (48 in all, as in BS.1770-4 Annex 2)."""
LIMITER_WINDOW: Final = 0.02
"""Look-ahead and hold of the limiter (seconds)."""
_LIMIT_PASSES: Final = 3
"""Most passes of :func:`limit` before a residual over is scaled away."""
_BLOCK: Final = 256
"""Samples per block when screening out quiet audio (see :func:`peak_envelope`)."""

AIM: Final = 0.995
"""The limiters aim this much under their ceiling (-0.04 dB): a gain that changes near a
peak moves the oversampled peak by a hair."""

Envelope = npt.NDArray[np.float32]


def db(x: float) -> float:
    """Decibels to linear gain."""
    return float(10 ** (x / 20))


def to_db(x: float) -> float:
    """Linear magnitude to decibels (-inf for 0)."""
    return float(20 * np.log10(x)) if x > 0 else float("-inf")


@cache
def _interpolator() -> tuple[npt.NDArray[np.float32], float]:
    """The 4x interpolation filter (odd length, so its delay is whole samples) and the
    most any oversampled value can exceed the largest input sample near it (the largest
    sum of absolute taps of one phase)."""
    taps = firwin_kaiser(OVERSAMPLE * PHASE_TAPS + 1, 1 / OVERSAMPLE, 5.0) * OVERSAMPLE
    bound = max(float(np.abs(taps[p::OVERSAMPLE]).sum()) for p in range(OVERSAMPLE))
    return taps.astype(np.float32), bound


def true_peak_gain() -> float:
    """The most a true-peak value can exceed the largest sample within :data:`REACH` of
    it (a factor: the largest sum of absolute taps of one phase)."""
    return _interpolator()[1]


REACH: Final = PHASE_TAPS // 2 + 1
"""Input samples either side that one oversampled value depends on."""


def _exact(x: npt.NDArray[np.float32]) -> Envelope:
    taps, _ = _interpolator()
    env: Envelope = np.maximum(np.abs(x), oversampled_peaks(x, taps, OVERSAMPLE))
    return env


def peak_envelope(x: npt.NDArray[np.floating], floor: float = 0.0) -> Envelope:
    """Per-sample true-peak magnitude: the largest absolute value of the 4x oversampled
    signal from this sample up to the next.

    With ``floor``, audio that provably stays under it is not oversampled (its samples
    are returned as they are): in each block, the largest sample near it times the
    filter's gain bound is under ``floor``. Limiters and meters only care about what
    passes their threshold, and most of a guided track is pauses and a quiet bed.
    """
    x32 = np.asarray(x, dtype=np.float32)  # no copy of float32 audio
    n = x32.size
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    if floor <= 0:
        return _exact(x32)
    ax = np.abs(x32)
    _, bound = _interpolator()
    blocks = -(-n // _BLOCK)
    top = np.zeros(blocks * _BLOCK, dtype=np.float32)
    top[:n] = ax
    peak = top.reshape(blocks, _BLOCK).max(axis=1)
    near = np.maximum(peak, np.maximum(np.r_[peak[1:], 0], np.r_[0, peak[:-1]]))
    hot = near * bound > floor
    if not hot.any():
        return ax
    env = ax  # the exact values go over the samples' magnitudes in place
    edges = np.flatnonzero(np.diff(np.r_[0, hot.astype(np.int8), 0]))
    # the hot stretches, each with its context, side by side with zeros between (as
    # many as a stretch alone has beyond its ends): one oversampling call for all
    spans = []
    size = 0
    for b0, b1 in zip(edges[::2], edges[1::2], strict=True):
        a, b = int(b0) * _BLOCK, min(n, int(b1) * _BLOCK)
        lo, hi = max(0, a - REACH), min(n, b + REACH)
        spans.append((a, b, lo, hi, size))
        size += hi - lo + 2 * REACH
    joined = np.zeros(size, dtype=np.float32)
    for _, _, lo, hi, at in spans:
        joined[at : at + hi - lo] = x32[lo:hi]
    exact = _exact(joined)
    for a, b, lo, _, at in spans:
        env[a:b] = exact[at + a - lo : at + b - lo]
    return env


TRUE_PEAK_BLOCK: Final = 1 << 16
"""Samples :func:`true_peak` screens at a time (a long signal costs no more memory)."""


def true_peak(x: npt.NDArray[np.floating]) -> float:
    """True peak of ``x`` (linear; 1.0 is 0 dBTP)."""
    peak, _ = stream_overs((x[i : i + TRUE_PEAK_BLOCK]
                            for i in range(0, x.size, TRUE_PEAK_BLOCK)), float("inf"))
    return peak


def _gain(env: Envelope, ceiling: float, width: int) -> npt.NDArray[np.float64]:
    """Smooth gain that brings ``env`` under ``ceiling``: the needed gain held for
    ``width`` samples either side (so it is reached before the peak), then averaged."""
    over = np.flatnonzero(env > ceiling)
    return gain_at(env.size, over, ceiling / env[over].astype(np.float64), width)


def gain_at(size: int, over: npt.NDArray[np.intp], need: npt.NDArray[np.float64],
            width: int) -> npt.NDArray[np.float64]:
    """:func:`_gain` over ``size`` samples from only the samples over the ceiling: their
    indices ``over`` (ascending) and the gain each needs (``ceiling / envelope``, taken
    as at most 1: the test for over is made in the envelope's float32, the division in
    float64); everywhere else a sample needs none (1)."""
    return whole_gain(size, list(gain_stretches(size, over, need, width)))


def gain_stretches(size: int, over: npt.NDArray[np.intp], need: npt.NDArray[np.float64],
                   width: int) -> Iterator[tuple[int, int, npt.NDArray[np.float64]]]:
    """The stretches ``(a, b, gain)`` of :func:`gain_at` where the gain is not 1 (it is
    exactly 1 everywhere else), in order and apart. Each stretch is computed with
    enough context that its values are the same as a computation over the whole
    signal."""
    if not over.size:
        return
    reach = 2 * width + 2  # how far one sample's need moves the held and averaged gain
    breaks = np.flatnonzero(np.diff(over) > 4 * reach)
    lo = np.r_[0, breaks + 1]
    hi = np.r_[breaks + 1, over.size]
    needed = np.minimum(1.0, need)
    held = _held(size, over, needed, width)
    for i, j in zip(lo.tolist(), hi.tolist(), strict=True):
        first, last = int(over[i]), int(over[j - 1])
        a, b = max(0, first - 2 * reach), min(size, last + 2 * reach + 1)
        gain = np.minimum(running_mean(held[a:b], width), 1.0)
        at = over[i:j] - a
        gain[at] = np.minimum(gain[at], needed[i:j])
        yield a, b, gain


def _held(size: int, over: npt.NDArray[np.intp], needed: npt.NDArray[np.float64],
          half: int) -> npt.NDArray[np.float64]:
    """The limiter's hold: for each of ``size`` samples, the smallest gain ``needed`` by
    a sample over the ceiling (at ``over``, ascending) at most ``half`` samples away,
    and 1 where there is none: the minimum over a centred window of ``2 * half + 1``
    samples of the needed gain (1 but at ``over``), the signal's ends repeated.

    Made from the few samples over, not from every sample: the hold changes only where
    one of them comes into reach or leaves it, so it is one value per stretch between
    those places, each the minimum of a run of consecutive samples over (a sparse
    table of minima over runs of 2**level answers every run at once)."""
    count = over.size
    # where the hold may change (repeats only make empty stretches)
    bounds = np.sort(np.concatenate((np.zeros(1, dtype=np.int64), np.maximum(over - half, 0),
                                     np.minimum(over + half + 1, size))))
    bounds = bounds[: np.searchsorted(bounds, size)]
    first = np.searchsorted(over, bounds - half, "left")  # the samples over in reach
    runs = np.searchsorted(over, bounds + half, "right") - first
    value = np.ones(bounds.size)
    some = runs > 0
    if count and some.any():
        table = np.full((max(1, count.bit_length()), count), np.inf)
        table[0] = needed
        step = 1
        for row in range(1, table.shape[0]):  # minima of runs of 2**row from each
            table[row, : count - step] = np.minimum(table[row - 1, : count - step],
                                                    table[row - 1, step:])
            step *= 2
        first, runs = first[some], runs[some]
        level = np.frexp(runs.astype(np.float64))[1] - 1  # the largest 2**level <= runs
        value[some] = np.minimum(1.0, np.minimum(
            table[level, first], table[level, first + runs - (1 << level)]))
    held: npt.NDArray[np.float64] = np.repeat(value, np.diff(np.r_[bounds, size]))
    return held


Stretches = list[tuple[int, int, npt.NDArray[np.float64]]]
"""A gain as the stretches ``(a, b, gain)`` where it is not 1 (see :func:`gain_stretches`)."""


def limiter_stretches(env: Envelope, ceiling: float, sample_rate: int) -> Stretches | None:
    """:func:`limiter_gain` as the stretches where it is not 1."""
    aim = ceiling * AIM
    if not env.size or float(env.max()) <= aim:
        return None
    over = np.flatnonzero(env > aim)
    return list(gain_stretches(env.size, over, aim / env[over].astype(np.float64),
                               max(1, int(LIMITER_WINDOW * sample_rate))))


def whole_gain(size: int, stretches: Stretches) -> npt.NDArray[np.float64]:
    """The gain over ``size`` samples that ``stretches`` describe."""
    gain = np.ones(size, dtype=np.float64)
    for a, b, part in stretches:
        gain[a:b] = part
    return gain


def limiter_gain(env: Envelope, ceiling: float, sample_rate: int
                 ) -> npt.NDArray[np.float64] | None:
    """The gain one pass of :func:`limit` (``exact=False``) applies to a signal whose
    :func:`peak_envelope` is ``env``: None where it leaves the signal as it is."""
    stretches = limiter_stretches(env, ceiling, sample_rate)
    return None if stretches is None else whole_gain(env.size, stretches)


def limit(x: npt.NDArray[np.float32], ceiling: float, sample_rate: int,
          env: Envelope | None = None, *, exact: bool = True) -> Audio:
    """Look-ahead limiter on true peak: the result's 4x-oversampled peak stays under
    ``ceiling``; audio already under it is returned unchanged. ``env``: the signal's
    :func:`peak_envelope`, if known. ``exact=False`` makes one pass aimed a hair under the
    ceiling without checking the result (for clips a :class:`StreamLimiter` follows)."""
    width = max(1, int(LIMITER_WINDOW * sample_rate))
    aim = ceiling * AIM
    env = peak_envelope(x, aim) if env is None else env
    out = x.astype(np.float32)
    if not exact:
        gain = limiter_gain(env, ceiling, sample_rate)
        return out if gain is None else (out * gain).astype(np.float32)
    for _ in range(_LIMIT_PASSES):
        if not env.size or float(env.max()) <= ceiling:
            return out
        out = (out * _gain(env, aim, width)).astype(np.float32)
        env = peak_envelope(out, aim)
    over = float(env.max()) if env.size else 0.0
    if over > ceiling:  # what the passes left is a hair over: scale it away
        out = (out * (ceiling / over)).astype(np.float32)
    return out


class StreamLimiter:
    """:func:`limit` over a stream of chunks. Each output sample is computed with the
    full reach of the limiter on both sides, so the output is the same however the
    input is chunked; output lags input by the look-ahead (``flush`` returns the rest)."""

    def __init__(self, ceiling: float, sample_rate: int) -> None:
        self.ceiling = ceiling
        self.sample_rate = sample_rate
        self.width = max(1, int(LIMITER_WINDOW * sample_rate))
        self.reach = 2 * self.width + 2 * REACH
        """Samples of context either side an output sample depends on."""
        self.buf = np.zeros(0, dtype=np.float32)
        self.start = 0
        """Index in ``buf`` of the first sample not yet returned."""

    def _emit(self, end: int) -> Audio:
        buf = self.buf
        part = buf[self.start : end]
        env = peak_envelope(buf, self.ceiling * AIM)
        out = np.array(part, dtype=np.float32)
        # the gain is 1 but in stretches around the few samples over: only those move
        for a, b, gain in limiter_stretches(env, self.ceiling, self.sample_rate) or []:
            lo, hi = max(a, self.start), min(b, end)
            if lo < hi:
                out[lo - self.start : hi - self.start] = (
                    out[lo - self.start : hi - self.start] * gain[lo - a : hi - a])
        keep = max(0, end - self.reach)
        self.buf = buf[keep:]
        self.start = end - keep
        return out

    def feed(self, chunk: npt.NDArray[np.float32]) -> Audio:
        """Take the next input samples; return the output samples now decided."""
        self.buf = np.concatenate([self.buf, np.asarray(chunk, dtype=np.float32)])
        end = self.buf.size - self.reach
        if end <= self.start:
            return np.zeros(0, dtype=np.float32)
        return self._emit(end)

    def flush(self) -> Audio:
        """The output samples still held back (call once, at the end of the stream)."""
        return self._emit(self.buf.size)


OVER_GAP: Final = 2205
"""Samples between two overs that still count as one stretch (about 0.1 s)."""


def stream_overs(chunks: Iterable[npt.NDArray[np.floating]], ceiling: float,
                 where: list[int] | None = None
                 ) -> tuple[float, list[tuple[int, int, float]]]:
    """True peak (linear) of a stream of chunks, and the stretches where it passes
    ``ceiling``: ``(first, last, peak)`` sample indices and the largest value in each
    (overs closer than :data:`OVER_GAP` are one stretch). Constant memory, apart from
    the list of stretches. The sample index of the peak is appended to ``where``.

    A sample is judged once, when the :data:`REACH` samples after it have arrived (or
    the stream has ended), so the result is the whole signal's however it is chunked."""
    peak, at = 0.0, 0
    tail = np.zeros(0, dtype=np.float32)
    pos = 0  # stream index of tail[0]
    done = 0  # stream samples judged so far
    stretches: list[list[float]] = []

    def judge(buf: npt.NDArray[np.float32], hi: int) -> None:
        """Judge the stream samples from ``done`` up to ``pos + hi`` (``buf`` starts
        at ``pos``)."""
        nonlocal peak, at, done
        lo = done - pos
        if hi <= lo:
            return
        env = peak_envelope(buf, min(peak, ceiling))[lo:hi]
        top = int(np.argmax(env))
        if float(env[top]) > peak:
            peak, at = float(env[top]), done + top
        hot = np.flatnonzero(env > ceiling)
        if hot.size:
            for group in np.split(hot, np.flatnonzero(np.diff(hot) > OVER_GAP) + 1):
                a, b = done + int(group[0]), done + int(group[-1])
                value = float(env[group].max())
                if stretches and a - stretches[-1][1] <= OVER_GAP:
                    last = stretches[-1]
                    last[1], last[2] = max(last[1], b), max(last[2], value)
                else:
                    stretches.append([a, b, value])
        done = pos + hi

    for chunk in chunks:
        buf = np.concatenate([tail, chunk.astype(np.float32)])
        judge(buf, buf.size - REACH)  # the last REACH samples wait for what follows
        keep = min(buf.size, max(2 * REACH, pos + buf.size - done + REACH))
        pos += buf.size - keep
        tail = buf[buf.size - keep :]
    judge(tail, tail.size)  # the end of the stream: silence follows
    if where is not None:
        where.append(at)
    return peak, [(int(a), int(b), p) for a, b, p in stretches]
