"""The phrase clips of a mix at the voice gain, limited: kept as the int16 clips plus the
few stretches the limiter changed.

A limited float copy of every clip would cost twice the int16 clips, and their true-peak
envelopes as much again: a 60-minute track holds minutes of speech. The float samples at
a gain are recomputed from the int16 clip wherever they are asked for (a conversion and
a multiply, the same arithmetic on the same samples, so the same values); only where
the limiter changed them are the limited samples kept. A clip's envelope is needed only
where it passes the limiter's threshold, so it is computed there alone (see
:func:`~voiceguide.mix.master.peak_envelope`), and only its maximum is kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import PCM, Audio
from voiceguide.mix.master import AIM, Envelope, limit, peak_envelope

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
    after another in ``values`` (stretch ``i`` from ``values[firsts[i]]``)."""

    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    firsts: npt.NDArray[np.int64]
    values: Audio

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

    def onto(self, out: Audio, lo: int = 0) -> None:
        """Write what falls in ``out`` (the clip's samples from ``lo`` on) into it."""
        hi = lo + out.size
        i = int(np.searchsorted(self.stops, lo, side="right"))
        j = int(np.searchsorted(self.starts, hi, side="left"))
        for a, b, f in zip(self.starts[i:j].tolist(), self.stops[i:j].tolist(),
                           self.firsts[i:j].tolist(), strict=True):
            s, e = max(lo, a), min(hi, b)
            out[s - lo : e - lo] = self.values[f + s - a : f + e - a]


@dataclass(frozen=True)
class _Spilled:
    """:class:`_Stretches` whose values lie in a file (float32, little-endian, from byte
    ``offset`` of the file open as ``fd``), read where they are asked for."""

    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    firsts: npt.NDArray[np.int64]
    fd: int
    offset: int

    def onto(self, out: Audio, lo: int = 0) -> None:
        """Write what falls in ``out`` (the clip's samples from ``lo`` on) into it: one
        read for all the stretches it meets."""
        hi = lo + out.size
        i = int(np.searchsorted(self.stops, lo, side="right"))
        j = int(np.searchsorted(self.starts, hi, side="left"))
        if i >= j:
            return
        first = int(self.firsts[i]) + max(0, lo - int(self.starts[i]))
        last = int(self.firsts[j - 1]) + min(hi, int(self.stops[j - 1])) - int(self.starts[j - 1])
        raw = os.pread(self.fd, 4 * (last - first), self.offset + 4 * first)
        if len(raw) != 4 * (last - first):
            raise OSError("the clip limiter's spilled samples came back short")
        values = np.frombuffer(raw, dtype="<f4")
        for a, b, f in zip(self.starts[i:j].tolist(), self.stops[i:j].tolist(),
                           self.firsts[i:j].tolist(), strict=True):
            s, e = max(lo, a), min(hi, b)
            out[s - lo : e - lo] = values[f + s - a - first : f + e - a - first]


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
        self._patches: dict[Key, _Stretches | _Spilled] = {}
        """Of each clip at the gain, the stretches the limiter changed."""

    def raw(self, key: Key) -> Audio:
        """Clip ``key`` as float32 at gain 1, unlimited."""
        return _float(self.clips[key])

    def peak(self, key: Key) -> float:
        """True peak of clip ``key`` at gain 1 (the largest value of its envelope)."""
        top = self._peaks.get(key)
        if top is None:
            env = peak_envelope(self.raw(key))
            top = self._peaks[key] = float(env.max()) if env.size else 0.0
            self._envs[key] = _Stretches.of(env, np.flatnonzero(env > ENV_KEEP * top))
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
        """Move the limited stretches into the empty file ``f`` (a 60-minute track's are
        about 13 MB); they are read back where a render asks for them, and a new
        :meth:`set_gain` keeps its own in memory again. Where the file cannot be written
        (or files cannot be read at an offset), they stay in memory."""
        if not hasattr(os, "pread"):
            return
        spilled: dict[Key, _Stretches | _Spilled] = {}
        pos = 0
        try:
            for key, p in self._patches.items():
                if isinstance(p, _Spilled):
                    return
                data = p.values.astype("<f4").tobytes()
                f.write(data)
                spilled[key] = _Spilled(p.starts, p.stops, p.firsts, f.fileno(), pos)
                pos += len(data)
            f.flush()
        except (OSError, ValueError):
            return
        self._patches = spilled

    def unspill(self) -> None:
        """Read spilled stretches back into memory (before their file is closed)."""
        for key, p in list(self._patches.items()):
            if isinstance(p, _Spilled):
                n = int(p.firsts[-1] + p.stops[-1] - p.starts[-1]) if p.starts.size else 0
                raw = os.pread(p.fd, 4 * n, p.offset)
                if len(raw) != 4 * n:
                    raise OSError("the clip limiter's spilled samples came back short")
                self._patches[key] = _Stretches(p.starts, p.stops, p.firsts,
                                                np.frombuffer(raw, dtype="<f4").copy())

    def forget_envelopes(self) -> None:
        """Drop the kept envelopes (a few MB for a long track; the limiter then computes
        what it needs above its threshold again, with the same result)."""
        self._envs = {}

    def set_gain(self, gain: float, ceiling: float | None) -> None:
        """Put the clips at ``gain`` and, with a ``ceiling``, through the clip limiter
        (:func:`~voiceguide.mix.master.limit`, one pass)."""
        self.gain = gain
        self._patches = {}
        if ceiling is None:
            return
        aim = ceiling * AIM
        for key in self.clips:
            top = self.peak(key)
            # the clip's envelope at the gain is float32, as the limiter would see it
            if float((np.array([top], dtype=np.float32) * gain)[0]) <= aim:
                continue  # the limiter leaves it as it is
            x = self.raw(key)
            env = self._envelope(key, x, aim / gain * (1 - FLOOR_MARGIN))
            y = (x * gain).astype(np.float32)
            out = limit(y, ceiling, self.sr, env * gain, exact=False)
            self._keep(key, y, out)

    def _keep(self, key: Key, before: Audio, after: Audio) -> None:
        changed = np.flatnonzero(before != after)
        if changed.size:
            self._patches[key] = _Stretches.of(after, changed)

    def size(self, key: Key) -> int:
        """Samples in clip ``key``."""
        return int(self.clips[key].size)

    def part(self, key: Key, lo: int, hi: int) -> Audio:
        """Samples ``lo`` to ``hi`` of clip ``key`` at the gain, limited."""
        out: Audio = (_float(self.clips[key][lo:hi]) * self.gain).astype(np.float32)
        patches = self._patches.get(key)
        if patches is not None:
            patches.onto(out, lo)
        return out

    def __getitem__(self, key: Key) -> Audio:
        return self.part(key, 0, self.size(key))

    def __iter__(self) -> Iterator[Key]:
        return iter(self.clips)

    def __len__(self) -> int:
        return len(self.clips)
