"""Loudness by ITU-R BS.1770: K-weighting, 400 ms blocks, absolute and relative gates,
measured chunk by chunk with the filter state carried over, so memory stays flat; and
the model that predicts a mix's loudness without rendering it (the mastering for a
codec is :mod:`voiceguide.mix.mastering`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import Loop
from voiceguide.mix.dsp import KFilter, impulse_length, k_filter
from voiceguide.mix.master import Stretches
from voiceguide.mix.memo import ClipMemo

if TYPE_CHECKING:
    from voiceguide.mix.mixer import Mixer

CONTROL_RATE: Final = 100
"""Envelope resolution (Hz) of the mixer's ducking and fades."""
FILTER_BLOCK: Final = 1 << 17
"""Samples K-weighted at a time by a :class:`LoudnessMeter` and for the bed's loudness
(6 s at 22.05 kHz: the float64 spectra stay a few MB whatever length is measured)."""
SETTLE: Final = 4
"""Impulse responses' length of a bed loop's end filtered to settle the K-weighting
before its start (the ringing carried over comes from the last one alone)."""


class LoudnessMeter:
    """BS.1770 integrated loudness of a mono signal fed in chunks."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.filter = KFilter(sample_rate)
        self.hop = int(round(0.1 * sample_rate))
        self.carry = np.zeros(0)
        self.hops: list[float] = []

    def feed(self, chunk: npt.NDArray[np.floating]) -> None:
        """Add the next samples (filtered :data:`FILTER_BLOCK` at a time: a long piece
        costs no more memory than a short one)."""
        for i in range(0, chunk.size, FILTER_BLOCK):
            self._feed(chunk[i : i + FILTER_BLOCK])

    def _feed(self, chunk: npt.NDArray[np.floating]) -> None:
        y = self.filter(chunk)
        y *= y  # in place (the filter's ringing it keeps lies past these samples)
        sq = np.concatenate([self.carry, y]) if self.carry.size else y
        whole = sq.size // self.hop * self.hop
        if whole:
            self.hops.extend(sq[:whole].reshape(-1, self.hop).mean(axis=1).tolist())
        self.carry = sq[whole:].copy()

    def integrated(self) -> float:
        """Integrated loudness in LUFS (-inf for silence)."""
        return gated_loudness(np.array(self.hops))


ENERGY_BLOCK: Final = 32
"""Samples per block of the K-weighted energies a :class:`LoudnessModel` keeps of each
clip (1.5 ms at 22.05 kHz; hops are 100 ms)."""


def _block_sums(y2: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Sums of ``y2`` over blocks of :data:`ENERGY_BLOCK` (the last one padded)."""
    blocks = -(-y2.size // ENERGY_BLOCK)
    padded = np.zeros(blocks * ENERGY_BLOCK)
    padded[: y2.size] = y2
    sums: npt.NDArray[np.float64] = padded.reshape(blocks, ENERGY_BLOCK).sum(axis=1)
    return sums


def _mean_square(gain: Stretches, blocks: int) -> npt.NDArray[np.float64]:
    """Of a clip's limiter gain (the stretches where it is not 1), the mean square over
    each of ``blocks`` blocks of :data:`ENERGY_BLOCK` samples: 1 less the block's mean
    shortfall, computed only for the blocks a stretch reaches (the others are 1; stretches
    that share a block are summed together, so each block sums its samples in order)."""
    mean = np.ones(blocks)
    i = 0
    while i < len(gain):
        a, b = gain[i][0], gain[i][1]
        j = i + 1
        while j < len(gain) and gain[j][0] // ENERGY_BLOCK < -(-b // ENERGY_BLOCK):
            b = gain[j][1]
            j += 1
        first = a // ENERGY_BLOCK * ENERGY_BLOCK
        short = np.zeros(-(-(b - first) // ENERGY_BLOCK) * ENERGY_BLOCK)  # whole blocks
        for lo, hi, part in gain[i:j]:
            short[lo - first : hi - first] = 1.0 - part * part
        mean[first // ENERGY_BLOCK : first // ENERGY_BLOCK + short.size // ENERGY_BLOCK] -= (
            _block_sums(short) / ENERGY_BLOCK)
        i = j
    return mean


def _running_sum(y2: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """0, then the running sum of ``y2``."""
    cs: npt.NDArray[np.float64] = np.empty(y2.size + 1)
    cs[0] = 0.0
    np.cumsum(y2, out=cs[1:])
    return cs


def gated_loudness(hops: npt.NDArray[np.float64]) -> float:
    """BS.1770 integrated loudness from mean squares of K-weighted 100 ms hops (400 ms
    blocks overlapping by 75%, absolute gate -70 LUFS, relative gate -10 LU)."""
    z = hops
    if z.size < 4:
        return float("-inf")
    blocks = (z[:-3] + z[1:-2] + z[2:-1] + z[3:]) / 4
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(blocks)
    gated = blocks[lk > -70]
    if gated.size == 0:
        return float("-inf")
    rel = -0.691 + 10 * np.log10(gated.mean()) - 10
    final = blocks[(lk > -70) & (lk > rel)]
    return float(-0.691 + 10 * np.log10(final.mean()))


def _sums_at(loop: Loop, sample_rate: int, starts: npt.NDArray[np.int64],
             ends: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Energy of the K-weighted loop (played on and on: the filter rings from its end
    into its start) from each of ``starts`` to each of ``ends``. The loop is filtered a
    block at a time and its running sum read only where it is asked for, so a long bed
    costs no full-length copy; the ringing into the start comes from the loop's last
    stretch, as long as the filter's impulse response and more."""
    size = loop.size
    kfilter = KFilter(sample_rate)
    kfilter(loop[max(0, size - SETTLE * impulse_length(sample_rate)) : size])
    points, where = np.unique(np.concatenate([starts, ends]), return_inverse=True)
    at = np.zeros(points.size)
    carry = 0.0
    for i in range(0, size, FILTER_BLOCK):
        y = kfilter(loop[i : i + FILTER_BLOCK])
        y *= y
        cs = carry + np.cumsum(y)
        lo, hi = np.searchsorted(points, [i + 1, i + y.size + 1])
        at[lo:hi] = cs[points[lo:hi] - i - 1]
        carry = float(cs[-1]) if cs.size else carry
    sums: npt.NDArray[np.float64] = at[where[starts.size :]] - at[where[: starts.size]]
    return sums


MEMO: ClipMemo[npt.NDArray[np.float64]] = ClipMemo(8 << 20)
"""Of the clips this process has weighted (:meth:`LoudnessModel._weighted`), the block
energies (8 MB at most: 8 bytes per 32 samples, those of about 25 minutes of distinct
speech at 22.05 kHz; a 15-minute track's 82 distinct phrases, 5.6 minutes of speech,
take 1.9 MB)."""


class LoudnessModel:
    """Predicts the integrated loudness of a :class:`Mixer`'s output from per-hop
    energies (see :meth:`Mixer.normalise`)."""

    def __init__(self, mixer: Mixer) -> None:
        self.mixer = mixer
        self.meter = LoudnessMeter(mixer.sr)
        self.hop = self.meter.hop
        self.n_hops = mixer.tl.total // self.hop
        self.tail = int(0.3 * mixer.sr)  # the filter rings on after a clip ends
        chime_starts: dict[tuple[str, int], list[int]] = {}
        speech: dict[tuple[str, float], list[int]] = {}
        for c in mixer.cues:
            if c.kind == "chime":
                chime_starts.setdefault((c.text, c.end - c.start), []).append(c.start)
            else:
                speech.setdefault((c.text, c.speed), []).append(c.start)
        self.starts = {k: np.array(v, dtype=np.int64) for k, v in speech.items()}
        self._unlimited: dict[tuple[str, float], tuple[npt.NDArray[np.int64],
                                                        npt.NDArray[np.float64]]] = {}
        self._blocks: dict[tuple[str, float], npt.NDArray[np.float64]] = {}
        self.bed_energy = self._bed()
        self.codec: npt.NDArray[np.float64] | None = None
        """Per-hop factor the codec applies to the mix's energy, once measured on a
        decode (see :meth:`hear_through`)."""
        self.hearings = 0
        """Times :meth:`hear_through` has taken a decode (a level known before is stale)."""
        self.chime_starts = {k: np.array(v, dtype=np.int64) for k, v in chime_starts.items()}
        self._fixed: tuple[float, npt.NDArray[np.float64]] | None = None

    def _chimes(self) -> npt.NDArray[np.float64]:
        """Energy per hop of the chimes at the mixer's ceiling (their level follows it)."""
        m = self.mixer
        if self._fixed is None or self._fixed[0] != m.ceiling_db:
            fixed = np.zeros(self.n_hops)
            for key, where in self.chime_starts.items():
                ks, e = self._hops(self._weighted_blocks(m.chime_audio[key]), where)
                np.add.at(fixed, ks, e)
            self._fixed = (m.ceiling_db, fixed)
        return self._fixed[1]

    def _weighted_blocks(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """``x`` K-weighted and squared, with the filter's ringing, summed over blocks
        of :data:`ENERGY_BLOCK` samples."""
        y = k_filter(x, self.mixer.sr)[: x.size + self.tail]
        return _block_sums(np.multiply(y, y, out=y))  # in place: no more copies

    def _weighted(self, key: tuple[str, float]) -> npt.NDArray[np.float64]:
        """:meth:`_weighted_blocks` of clip ``key`` at gain 1, unlimited (filtered once:
        see :meth:`loudness`; and once per process for the same samples, see
        :data:`MEMO`)."""
        e = self._blocks.get(key)
        if e is None:
            digest = self.mixer.voice.digest(key)
            e = MEMO.get(digest)
            if e is None:
                e = self._weighted_blocks(self.mixer.voice.raw(key))
                e.flags.writeable = False  # kept for other tracks: never changed
                MEMO.put(digest, e, e.nbytes)
            self._blocks[key] = e
        return e

    def _hops(self, blocks: npt.NDArray[np.float64], starts: npt.NDArray[np.int64]
              ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Hop indices and energies of a clip placed at each of ``starts``, from its
        block energies (:meth:`_weighted_blocks`; within a block, the energy is taken
        to come evenly)."""
        cs = _running_sum(blocks)
        n = blocks.size * ENERGY_BLOCK
        h = self.hop
        span = (n + h - 1) // h + 1
        ks = starts[:, None] // h + np.arange(span)[None, :]
        ok = ks < self.n_hops
        ks = ks[ok]
        a = ks * h - np.broadcast_to(starts[:, None], ok.shape)[ok]  # hop start in the clip
        grid = np.arange(cs.size) * ENERGY_BLOCK  # (np.interp holds the ends beyond it)
        return ks, np.interp(a + h, grid, cs) - np.interp(a, grid, cs)

    def _bed(self) -> npt.NDArray[np.float64]:
        energy = np.zeros(self.n_hops)
        m = self.mixer
        if m.bed is None or m.envelope is None or self.n_hops == 0:
            return energy
        loop = m.bed
        size = loop.size
        h = self.hop
        first = (np.arange(self.n_hops) * h) % size
        end = first + h
        wrapped = end > size
        # one pass over the loop: each hop to the loop's end, and a wrapped hop's rest
        # from its start
        sums = _sums_at(loop, m.sr, np.concatenate([first, np.zeros(int(wrapped.sum()),
                                                                    np.int64)]),
                        np.concatenate([np.minimum(end, size), end[wrapped] - size]))
        loop_energy = sums[: self.n_hops]
        loop_energy[wrapped] += sums[self.n_hops :]
        per_hop = int(round(h / m.sr * CONTROL_RATE))
        env2 = np.interp(np.arange(self.n_hops * per_hop) + 0.5 * (per_hop - 1) / per_hop,
                         np.arange(m.envelope.size), m.envelope) ** 2
        env2_hop = env2[: self.n_hops * per_hop].reshape(self.n_hops, per_hop).mean(axis=1)
        energy += loop_energy * env2_hop * m.bed_gain**2
        return energy

    def loudness(self) -> float:
        """Integrated loudness (LUFS) of the mix at the mixer's current gain.

        A clip the limiter changes is not filtered again at each gain: its limiter gain
        moves over tens of milliseconds, far slower than K-weighting reacts, so the
        weighted clip times that gain is the weighted limited clip, and the energy of a
        block of :data:`ENERGY_BLOCK` samples is that of the unlimited clip times the
        block's mean squared gain (to 1e-4 LU on a real track). Each clip is filtered
        once, at gain 1, and kept as block energies (a 32nd of its samples); a hop's
        share of a block it cuts is taken in proportion (about 0.5% of a hop's energy
        at a sharp onset, 0.01 LU or less of the whole)."""
        power = self.hop_power()
        if self.codec is not None:
            power *= self.codec
        return gated_loudness(power)

    def hop_power(self) -> npt.NDArray[np.float64]:
        """Mean square of the K-weighted mix in each 100 ms hop at the mixer's current
        gain (what :meth:`loudness` gates)."""
        m = self.mixer
        bed = self.bed_energy if m.bed_shift == 1.0 else self.bed_energy * m.bed_shift**2
        energy = self._chimes() + bed
        g2 = m.gain**2
        for key, starts in self.starts.items():
            lim = m.voice.limiter_stretches(key)
            if lim is None:
                # the limiter leaves this clip alone: its energy scales with gain squared
                if key not in self._unlimited:
                    self._unlimited[key] = self._hops(self._weighted(key), starts)
                ks, e = self._unlimited[key]
            else:
                blocks = self._weighted(key)
                ks, e = self._hops(blocks * _mean_square(lim, blocks.size), starts)
            np.add.at(energy, ks, e * g2)
        power: npt.NDArray[np.float64] = energy / self.hop
        return power

    def hear_through(self, heard: npt.NDArray[np.float64]) -> None:
        """Take the codec's effect from a decode: ``heard`` is the decoded file's
        mean square per 100 ms hop (a :class:`LoudnessMeter`'s hops), compared hop by
        hop with the mix at the current gain. :meth:`loudness` then predicts what the
        decoder gives back at any gain: BS.1770's gates are applied to the hops as
        heard (a codec that lowers the bed where no one speaks moves which quiet blocks
        pass the relative gate, which an overall correction cannot follow)."""
        mix = self.hop_power()
        n = min(mix.size, heard.size)
        factor = np.ones(mix.size)
        audible = mix[:n] > 1e-12  # silence (about -120 dB): no ratio to take
        factor[:n][audible] = heard[:n][audible] / mix[:n][audible]
        self.codec = factor
        self.hearings += 1

    def forget(self) -> None:
        """Drop the weighted clips (kept for the next trial)."""
        self._blocks = {}
