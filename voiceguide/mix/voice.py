"""The phrase clips of a mix at the voice gain, limited: kept as the int16 clips plus the
few stretches the limiter changed.

A limited float copy of every clip would cost twice the int16 clips, and their true-peak
envelopes as much again: a 60-minute track holds minutes of speech. The float samples at
a gain are recomputed from the int16 clip wherever they are asked for (a conversion and
a multiply, the same arithmetic on the same samples, so the same values); only where
the limiter changed them are the limited samples kept. A clip's envelope is needed only
where it passes the limiter's threshold, so it is computed there alone (see
:func:`~voiceguide.mix.master.peak_envelope`), and only its maximum and the stretches
over :data:`ENV_KEEP` of it are kept (the limiter's gain at a trial gain is made from
those stretches alone).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import IO, Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import PCM, Audio
from voiceguide.io.machine import drop_scratch, scratch_fits
from voiceguide.mix.master import (
    AIM,
    LIMITER_WINDOW,
    Envelope,
    Stretches,
    gain_stretches,
    limiter_stretches,
    peak_envelope,
    whole_gain,
)
from voiceguide.mix.memo import ClipMemo, clip_digest

Key = tuple[str, float]
"""A clip: its text and speed."""
JOIN_GAP: Final = 64
"""Samples between two kept stretches that still make one (fewer, longer stretches)."""
FLOOR_MARGIN: Final = 1e-3
"""How far under the limiter's threshold the envelope is still exact, so no rounding
can move a sample it passes over."""
ENV_KEEP: Final = 0.25
"""Envelope values kept of each clip: those over this fraction of its true peak (12 dB
down; elsewhere the limiter sees the samples' magnitudes, which are smaller). A gain that
takes a clip further over the ceiling has its envelope computed again above the
threshold."""


@dataclass(frozen=True)
class _Stretches:
    """Some stretches of a clip's samples: ``[starts[i], stops[i])``, their samples one
    after another in ``values`` (stretch ``i`` from ``values[firsts[i]]``), or in a file
    (see :meth:`to_file`)."""

    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    firsts: npt.NDArray[np.int64]
    values: Audio
    in_file: tuple[int, int] | None = None
    """Where the values lie instead (float32, little-endian): a file descriptor open for
    reading and the byte offset of the first value; ``values`` is then empty."""

    @classmethod
    def of(cls, x: Audio, where: npt.NDArray[np.intp]) -> _Stretches:
        """The stretches of ``x`` that hold the (sorted) indices ``where``, joined
        across gaps up to :data:`JOIN_GAP`."""
        cuts = np.flatnonzero(np.diff(where) > JOIN_GAP)
        starts = np.r_[where[:1], where[cuts + 1]].astype(np.int64)
        stops = np.r_[where[cuts] + 1, where[-1:] + 1].astype(np.int64)
        sizes = stops - starts
        firsts = np.cumsum(sizes) - sizes
        index = np.arange(int(sizes.sum()), dtype=np.int64) + np.repeat(starts - firsts, sizes)
        return cls(starts, stops, firsts, x[index])

    @property
    def nbytes(self) -> int:
        """Bytes these stretches hold in memory."""
        return int(self.starts.nbytes + self.stops.nbytes + self.firsts.nbytes
                   + self.values.nbytes)

    def _values(self, first: int, last: int) -> Audio:
        """Values ``first`` to ``last`` (one read when they are in a file)."""
        if self.in_file is None:
            return self.values[first:last]
        fd, offset = self.in_file
        raw = os.pread(fd, 4 * (last - first), offset + 4 * first)
        if len(raw) != 4 * (last - first):
            raise OSError("the clip limiter's stretches came back short from their file")
        got: Audio = np.frombuffer(raw, dtype="<f4")
        return got

    def onto(self, out: Audio, lo: int = 0) -> None:
        """Write what falls in ``out`` (the clip's samples from ``lo`` on) into it."""
        hi = lo + out.size
        i = int(np.searchsorted(self.stops, lo, side="right"))
        j = int(np.searchsorted(self.starts, hi, side="left"))
        if i >= j:
            return
        first = int(self.firsts[i]) + max(0, lo - int(self.starts[i]))
        last = int(self.firsts[j - 1]) + min(hi, int(self.stops[j - 1])) - int(self.starts[j - 1])
        values = self._values(first, last)
        for a, b, f in zip(self.starts[i:j].tolist(), self.stops[i:j].tolist(),
                           self.firsts[i:j].tolist(), strict=True):
            s, e = max(lo, a), min(hi, b)
            out[s - lo : e - lo] = values[f + s - a - first : f + e - a - first]

    def to_file(self, f: IO[bytes]) -> _Stretches:
        """These stretches with their values written at the end of ``f`` (as they are,
        if their values are in a file already)."""
        if self.in_file is not None:
            return self
        at = f.seek(0, 2)
        f.write(self.values.astype("<f4").tobytes())
        return replace(self, values=np.zeros(0, dtype=np.float32), in_file=(f.fileno(), at))

    def to_memory(self) -> _Stretches:
        """These stretches with their values read back from their file, if there."""
        if self.in_file is None:
            return self
        n = int(self.firsts[-1] + self.stops[-1] - self.starts[-1]) if self.starts.size else 0
        return replace(self, values=self._values(0, n).copy(), in_file=None)


PEAKS: ClipMemo[tuple[float, _Stretches]] = ClipMemo(0)
"""Of the clips this process has mixed, their true peak and the stretches of their
envelope :class:`VoiceClips` keeps: none unless a pack's worker asks for them (see
:func:`keep_peaks`); a single build keeps its own only as long as it needs them, which
its peak memory counts on."""
PACK_PEAKS: Final = 32 << 20
"""What a pack's worker keeps of :data:`PEAKS` (32 MB: the envelopes of about 35
minutes of distinct speech; a 15-minute track's 82 distinct phrases, 5.6 minutes of
speech, keep 4.7-5.0 MB)."""


def keep_peaks(limit: int = PACK_PEAKS) -> None:
    """Keep up to ``limit`` bytes of clips' envelopes for the tracks this process builds
    next (a pack's worker: track after track of the same phrases)."""
    PEAKS.limit = limit


def _float(pcm: PCM) -> Audio:
    out: Audio = pcm.astype(np.float32) / np.float32(32768.0)
    return out


class VoiceClips(Mapping[Key, Audio]):
    """int16 phrase clips as float32 at a gain, limited under a ceiling (see
    :meth:`set_gain`); ``clips[key]`` is a whole clip, :meth:`part` a stretch of it."""

    def __init__(self, clips: Mapping[Key, PCM], sample_rate: int) -> None:
        self.clips = clips
        self.sr = sample_rate
        self.gain = 1.0
        """The voice gain the clips are at."""
        self._peaks: dict[Key, float] = {}
        self._envs: dict[Key, _Stretches] = {}
        """Of each clip's envelope, the stretches over :data:`ENV_KEEP` of its peak."""
        self.ceiling: float | None = None
        """The clip limiter's ceiling (None: not limited)."""
        self._digests: dict[Key, bytes] = {}
        self._made: set[Key] = set(clips)
        """The clips whose limited stretches at the gain are made (see :meth:`_patch`)."""
        self._patches: dict[Key, _Stretches] = {}
        """Of the clips made so far at the gain (:attr:`_made`), the stretches the limiter
        changed; :meth:`_limited` makes them all."""

    def digest(self, key: Key) -> bytes:
        """Clip ``key``'s identity by its samples (see :mod:`voiceguide.mix.memo`)."""
        found = self._digests.get(key)
        if found is None:
            found = self._digests[key] = clip_digest(self.clips[key], self.sr)
        return found

    def raw(self, key: Key) -> Audio:
        """Clip ``key`` as float32 at gain 1, unlimited."""
        return _float(self.clips[key])

    def peak(self, key: Key) -> float:
        """True peak of clip ``key`` at gain 1 (the largest value of its envelope)."""
        top = self._peaks.get(key)
        if top is None:
            kept = PEAKS.get(self.digest(key)) if PEAKS.limit else None
            if kept is None:
                env = peak_envelope(self.raw(key))
                top = float(env.max()) if env.size else 0.0
                kept = (top, _Stretches.of(env, np.flatnonzero(env > ENV_KEEP * top)))
                if PEAKS.limit:
                    kept[1].values.flags.writeable = False  # kept for other tracks
                    PEAKS.put(self.digest(key), kept, kept[1].nbytes)
            self._peaks[key], self._envs[key] = kept
            top = kept[0]
        return top

    def _envelope(self, key: Key, x: Audio, floor: float) -> Envelope:
        """The envelope of ``x`` (clip ``key`` at gain 1), exact wherever it is over
        ``floor``, under ``floor`` elsewhere."""
        kept = self._envs.get(key) if floor >= ENV_KEEP * self.peak(key) else None
        if kept is None:
            return peak_envelope(x, floor)
        env: Envelope = np.abs(x)
        kept.onto(env)
        return env

    def spill(self, f: IO[bytes]) -> None:
        """Move the limited stretches into the file ``f`` (a 60-minute track's are about
        13 MB); they are read back where a render asks for them, and a new
        :meth:`set_gain` keeps its own in memory again. Where the file cannot be written
        (or files cannot be read at an offset), they stay in memory."""
        if not hasattr(os, "pread"):
            return
        limited = self._limited()
        try:
            if not scratch_fits(f, sum(4 * p.values.size for p in limited.values())):
                drop_scratch(f)  # the track needs the room more
                return
            spilled = {key: p.to_file(f) for key, p in limited.items()}
            f.flush()
        except (OSError, ValueError):
            drop_scratch(f)  # not flushed again (and failing) when the build ends
            return
        self._patches = spilled

    def unspill(self) -> None:
        """Read spilled stretches back into memory (before their file is closed)."""
        self._patches = {key: p.to_memory() for key, p in self._patches.items()}

    def forget_envelopes(self) -> None:
        """Drop the kept envelopes (a few MB for a long track; the limiter then computes
        what it needs above its threshold again, with the same result), once the
        limited stretches at the current gain are made with their help."""
        self._limited()
        self._envs = {}

    def set_gain(self, gain: float, ceiling: float | None) -> None:
        """Put the clips at ``gain`` and, with a ``ceiling``, through the clip limiter
        (:func:`~voiceguide.mix.master.limit`, one pass). The limited samples are made
        when a clip's samples are first asked for: a loudness trial asks only for the
        limiter's gain (:meth:`limiter_gain`)."""
        self.gain = float(gain)  # a NumPy float64 would make the envelope maths float64
        self.ceiling = ceiling
        self._patches = {}
        self._made = set()

    def limiter_gain(self, key: Key) -> npt.NDArray[np.float64] | None:
        """The clip limiter's gain over clip ``key`` at the current gain and ceiling
        (None: it leaves the clip as it is)."""
        stretches = self.limiter_stretches(key)
        return None if stretches is None else whole_gain(self.size(key), stretches)

    def limiter_stretches(self, key: Key) -> Stretches | None:
        """:meth:`limiter_gain` as the stretches where it is not 1."""
        if self.ceiling is None:
            return None
        aim = self.ceiling * AIM
        top = self.peak(key)
        # the clip's envelope at the gain is float32, as the limiter would see it
        if float((np.array([top], dtype=np.float32) * self.gain)[0]) <= aim:
            return None
        floor = aim / self.gain * (1 - FLOOR_MARGIN)
        kept = self._envs.get(key) if floor >= ENV_KEEP * top else None
        if kept is None:
            env = self._envelope(key, self.raw(key), floor)
            return limiter_stretches(env * self.gain, self.ceiling, self.sr)
        # every sample over the threshold lies in the kept envelope (it is exact there
        # and the clip is under the threshold elsewhere): the limiter's gain is made
        # from those samples alone, with the same values as from the whole envelope
        at_gain = kept.values * self.gain  # float32, as the limiter sees the envelope
        hot = np.flatnonzero(at_gain > aim)
        if not hot.size:
            return None
        k = np.searchsorted(kept.firsts, hot, side="right") - 1
        over = kept.starts[k] + (hot - kept.firsts[k])
        return list(gain_stretches(self.size(key), over,
                                   aim / at_gain[hot].astype(np.float64),
                                   max(1, int(LIMITER_WINDOW * self.sr))))

    def _limited(self) -> dict[Key, _Stretches]:
        """Of each clip at the gain, the stretches the limiter changed."""
        for key in self.clips:
            self._patch(key)
        return self._patches

    def _patch(self, key: Key) -> _Stretches | None:
        """The stretches of clip ``key`` the limiter changed at the gain (made once per
        :meth:`set_gain`, when first asked for: a render of a few places, such as an
        encoder's trial excerpt, limits only the clips it plays)."""
        if key not in self._made:
            lim = self.limiter_gain(key)
            if lim is not None:
                y = (self.raw(key) * self.gain).astype(np.float32)
                out = (y * lim).astype(np.float32)
                changed = np.flatnonzero(y != out)
                if changed.size:
                    self._patches[key] = _Stretches.of(out, changed)
            self._made.add(key)  # only once made: a failure leaves it to make again
        return self._patches.get(key)

    def size(self, key: Key) -> int:
        """Samples in clip ``key``."""
        return int(self.clips[key].size)

    def part(self, key: Key, lo: int, hi: int) -> Audio:
        """Samples ``lo`` to ``hi`` of clip ``key`` at the gain, limited."""
        out: Audio = (_float(self.clips[key][lo:hi]) * self.gain).astype(np.float32)
        patches = self._patch(key)
        if patches is not None:
            patches.onto(out, lo)
        return out

    def __getitem__(self, key: Key) -> Audio:
        return self.part(key, 0, self.size(key))

    def __iter__(self) -> Iterator[Key]:
        return iter(self.clips)

    def __len__(self) -> int:
        return len(self.clips)
