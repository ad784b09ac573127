"""Mix a timeline into audio, chunk by chunk: voice, chimes, ducked bed, loudness, limiter.

Nothing is built by concatenation or per-clip overlays: each chunk is one numpy buffer
into which the clips that overlap it are added at their sample offsets. The bed's gain
(ducking under speech, fades) is an envelope computed from the timeline at 100 Hz.
Loudness follows ITU-R BS.1770 (K-weighting, 400 ms blocks, absolute and relative
gates) measured chunk by chunk with the filter state carried over, so memory stays flat
for long tracks. Peaks are held under the ceiling by a look-ahead limiter applied to
each distinct phrase clip (they are the only loud parts), plus a final safety clip.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from voiceguide.audio import PCM, Audio
from voiceguide.mix.loudness import LoudnessMeter, gated_loudness
from voiceguide.mix.sounds import room_tone_loop
from voiceguide.settings import DEFAULT_LOUDNESS, TrackSettings
from voiceguide.timeline import Timeline

CHUNK_SECONDS: Final = 10.0
"""Mixing and encoding chunk length."""
BED_BLOCK: Final = 1 << 20
"""Samples of the bed filtered at a time when its loudness is measured."""
CONTROL_RATE: Final = 100
"""Envelope resolution (Hz) for ducking and fades."""
CEILING_DB: Final = -1.5
"""Sample-peak ceiling before encoding (leaves room for MP3 overshoot under -1 dBFS)."""
DUCK_DB: Final = 14.0
"""How far the bed drops under speech."""
DUCK_ATTACK: Final = 0.25
"""Seconds before speech the bed starts to drop."""
DUCK_RELEASE: Final = 0.5
"""Seconds after speech the bed is back up."""
BED_FADE_IN: Final = 2.0
BED_FADE_OUT: Final = 3.0
CHIME_LEVEL_DB: Final = -6.0
"""Chime peak relative to the ceiling."""
NORMALISE_STEPS: Final = 10
"""Most correction passes when meeting the loudness target."""
NORMALISE_TOLERANCE: Final = 0.1
"""LU within which the loudness target counts as met."""
ROOM_TONE_DB: Final = -64.0
"""Level (dBFS RMS) of the room tone laid under a track without a bed: far below the
voice, but no digital silence, so a listener with eyes closed knows it still plays."""
LIMITER_WINDOW: Final = 0.02
"""Look-ahead/hold of the clip limiter (seconds)."""



def db(x: float) -> float:
    """Decibels to linear gain."""
    return float(10 ** (x / 20))


def limit(x: npt.NDArray[np.float32], ceiling: float, sample_rate: int) -> Audio:
    """Smooth look-ahead peak limiter: never above ``ceiling``; gentle gain changes."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= ceiling:
        return x.astype(np.float32)
    w = max(1, int(LIMITER_WINDOW * sample_rate))
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-9))
    held = ndimage.minimum_filter1d(need, size=2 * w + 1, mode="nearest")
    smooth = ndimage.uniform_filter1d(held, size=w, mode="nearest")
    out = x * np.minimum(smooth, need)
    result: Audio = np.clip(out, -ceiling, ceiling).astype(np.float32)
    return result


class Mixer:
    """Renders a timeline chunk by chunk."""

    def __init__(
        self,
        timeline: Timeline,
        clips: Mapping[tuple[str, float], PCM],
        chimes: Mapping[tuple[str, int], Audio],
        settings: TrackSettings,
        bed: Audio | None = None,
        room_tone: bool = False,
    ) -> None:
        self.tl = timeline
        self.sr = timeline.sample_rate
        self.target = settings.loudness_target
        """Integrated loudness target (LUFS); None leaves the voice at its own level."""
        self.raw = {key: clip.astype(np.float32) / 32768.0 for key, clip in clips.items()}
        self.chimes = chimes
        self.ducking = bed is not None
        if bed is None and room_tone:
            bed = room_tone_loop(self.sr)  # not ducked: it is only there in the silences
        self.bed = bed
        self.cues = [c for c in timeline.cues if c.end > c.start]
        self.starts = np.array([c.start for c in self.cues], dtype=np.int64)
        self.ends = np.array([c.end for c in self.cues], dtype=np.int64)
        self.gain = 1.0
        self.voice: dict[tuple[str, float], Audio] = {}
        self.chime_audio: dict[tuple[str, int], Audio] = {}
        target = self.target if self.target is not None else DEFAULT_LOUDNESS
        self.bed_gain = db(target + settings.bed_volume) if self.ducking else db(ROOM_TONE_DB)
        self.envelope = self._envelope() if bed is not None else None
        self.set_gain(1.0, limited=self.target is None)

    def set_gain(self, gain: float, *, limited: bool = True) -> None:
        """Scale voice and chimes by ``gain`` and (if ``limited``) limit them."""
        self.gain = gain
        ceiling = db(CEILING_DB)
        for key, x in self.raw.items():
            y = (x * gain).astype(np.float32)
            self.voice[key] = limit(y, ceiling, self.sr) if limited else y
        for key, x in self.chimes.items():
            self.chime_audio[key] = (x * ceiling * db(CHIME_LEVEL_DB)).astype(np.float32)

    def _envelope(self) -> npt.NDArray[np.float64]:
        n = int(np.ceil(self.tl.total / self.sr * CONTROL_RATE)) + 2
        ducked = np.zeros(n)
        for c in self.tl.cues:
            if c.kind != "speech":
                continue
            a = max(0, int((c.start / self.sr - DUCK_ATTACK / 2) * CONTROL_RATE))
            b = min(n, int(np.ceil((c.end / self.sr + DUCK_RELEASE / 2) * CONTROL_RATE)))
            ducked[a:b] = 1.0
        width = max(1, int(DUCK_ATTACK * CONTROL_RATE))
        smooth = ndimage.uniform_filter1d(ducked, size=width, mode="nearest")
        smooth = np.maximum(smooth, ducked)  # fully ducked for the whole of the speech
        env = 10 ** (-DUCK_DB * smooth / 20) if self.ducking else np.ones(n)
        t = np.arange(n) / CONTROL_RATE
        total = self.tl.total / self.sr
        env *= np.clip(t / BED_FADE_IN, 0, 1)
        env *= np.clip((total - t) / BED_FADE_OUT, 0, 1)
        result: npt.NDArray[np.float64] = env
        return result

    def chunks(self, chunk_seconds: float = CHUNK_SECONDS) -> Iterator[Audio]:
        """The mix in consecutive float32 chunks."""
        size = int(chunk_seconds * self.sr)
        for a in range(0, self.tl.total, size):
            yield self.render(a, min(self.tl.total, a + size))

    def render(self, a: int, b: int) -> Audio:
        """Samples ``a`` to ``b`` of the mix."""
        out = np.zeros(b - a, dtype=np.float32)
        lo = int(np.searchsorted(self.ends, a, side="right"))
        hi = int(np.searchsorted(self.starts, b, side="left"))
        for cue in self.cues[lo:hi]:
            if cue.kind == "chime":
                clip = self.chime_audio[(cue.text, cue.end - cue.start)]
            else:
                clip = self.voice[(cue.text, cue.speed)]
            s = max(a, cue.start)
            e = min(b, cue.start + clip.size)
            if e > s:
                out[s - a : e - a] += clip[s - cue.start : e - cue.start]
        if self.bed is not None and self.envelope is not None:
            out += self._bed_part(a, b)
        ceiling = db(CEILING_DB)
        np.clip(out, -ceiling, ceiling, out=out)
        return out

    def _bed_part(self, a: int, b: int) -> Audio:
        """Samples ``a`` to ``b`` of the looped bed under its envelope: slices of the loop
        (no per-sample indexing) times an envelope interpolated linearly in 5 ms steps."""
        assert self.bed is not None and self.envelope is not None
        n = b - a
        size = self.bed.size
        parts = []
        pos = a % size
        left = n
        while left > 0:
            take = min(left, size - pos)
            parts.append(self.bed[pos : pos + take])
            left -= take
            pos = 0
        bed = parts[0] if len(parts) == 1 else np.concatenate(parts)
        step = max(1, self.sr // 200)
        blocks = -(-n // step)
        edges = (a + np.arange(blocks + 1) * step) / self.sr * CONTROL_RATE
        env = np.interp(edges, np.arange(self.envelope.size), self.envelope) * self.bed_gain
        frac = np.arange(step, dtype=np.float32) / step
        ramp = (env[:-1, None].astype(np.float32)
                + np.diff(env)[:, None].astype(np.float32) * frac[None, :]).ravel()[:n]
        result: Audio = (bed * ramp).astype(np.float32)
        return result

    def measure(self) -> float:
        """Integrated loudness (LUFS) of the mix at the current gain."""
        meter = LoudnessMeter(self.sr)
        for chunk in self.chunks():
            meter.feed(chunk)
        return meter.integrated()

    def normalise(self) -> float | None:
        """Set the voice gain so the mix meets the loudness target; returns the loudness
        of the result (None when not normalising).

        Loudness is predicted without rendering the track: K-weighting is linear, so each
        100 ms hop's energy is the sum of the energies of what plays in it (voice clips,
        chimes, bed; they are uncorrelated, so cross terms average out). Each distinct
        clip is filtered once per trial gain, after the limiter, and its energy is spread
        over the hops it covers at each of its placements; the bed's energy per hop comes
        from its filtered loop and the ducking envelope. A trial costs milliseconds where
        rendering and filtering the whole track costs seconds.
        """
        target = self.target
        if target is None:
            return None
        model = LoudnessModel(self)
        level = self._solve(model, target)
        if not np.isfinite(level):  # nothing spoken: leave the levels as they are
            self.set_gain(1.0)
            return None
        return level

    def _solve(self, model: LoudnessModel, target: float) -> float:
        """Secant steps on the voice gain (dB) until the predicted loudness is within
        tolerance of ``target``; the limiter makes loudness grow more slowly than gain."""

        def trial(gain_db: float, limited: bool = True) -> float:
            self.set_gain(db(gain_db), limited=limited)
            return model.loudness()

        first = trial(0.0, limited=False)
        if not np.isfinite(first):
            return first
        gain_db = target - first
        level = trial(gain_db)
        prev_gain, prev_level = 0.0, first
        for _ in range(NORMALISE_STEPS):
            if not np.isfinite(level) or abs(target - level) < NORMALISE_TOLERANCE:
                break
            slope = (level - prev_level) / (gain_db - prev_gain) if gain_db != prev_gain else 1.0
            slope = min(max(slope, 0.2), 1.0)
            prev_gain, prev_level = gain_db, level
            gain_db += (target - level) / slope
            level = trial(gain_db)
        return level


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
        self._peaks: dict[tuple[str, float], float] = {}
        self._unlimited: dict[tuple[str, float], tuple[npt.NDArray[np.int64],
                                                        npt.NDArray[np.float64]]] = {}
        self.bed_energy = self._bed()
        self.fixed = np.zeros(self.n_hops)
        for key, where in chime_starts.items():
            self._place(self.fixed, mixer.chime_audio[key], np.array(where, dtype=np.int64))

    def _filtered_energy(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        y = signal.sosfilt(self.meter.sos, np.concatenate([x.astype(np.float64),
                                                           np.zeros(self.tail)]))
        cs: npt.NDArray[np.float64] = np.concatenate([[0.0], np.cumsum(y * y)])
        return cs

    def _hops_of(self, clip: npt.NDArray[np.float32], starts: npt.NDArray[np.int64]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Hop indices and K-weighted energies of ``clip`` placed at each of ``starts``."""
        cs = self._filtered_energy(clip)
        n = cs.size - 1
        h = self.hop
        span = (n + h - 1) // h + 1
        ks = starts[:, None] // h + np.arange(span)[None, :]
        a = np.clip(ks * h - starts[:, None], 0, n)
        b = np.clip((ks + 1) * h - starts[:, None], 0, n)
        ok = ks < self.n_hops
        return ks[ok], (cs[b] - cs[a])[ok]

    def _place(self, energy: npt.NDArray[np.float64], clip: npt.NDArray[np.float32],
               starts: npt.NDArray[np.int64]) -> None:
        ks, e = self._hops_of(clip, starts)
        np.add.at(energy, ks, e)

    def _bed(self) -> npt.NDArray[np.float64]:
        energy = np.zeros(self.n_hops)
        m = self.mixer
        if m.bed is None or m.envelope is None or self.n_hops == 0:
            return energy
        loop = m.bed
        size = loop.size
        sos = self.meter.sos
        # the loop's steady-state K-weighted signal: filter it once to settle, then again;
        # a block at a time with the filter state carried (the same numbers as one pass),
        # so a long bed costs one float64 running sum, not several full-length copies
        zi = np.zeros((sos.shape[0], 2))
        for i in range(0, size, BED_BLOCK):
            _, zi = signal.sosfilt(sos, loop[i : i + BED_BLOCK].astype(np.float64), zi=zi)
        cs = np.empty(size + 1)
        cs[0] = 0.0
        for i in range(0, size, BED_BLOCK):
            y, zi = signal.sosfilt(sos, loop[i : i + BED_BLOCK].astype(np.float64), zi=zi)
            y *= y
            # cumsum from the running total: the same additions in the same order
            cs[i : i + y.size + 1] = np.cumsum(np.concatenate([cs[i : i + 1], y]))
        h = self.hop
        first = (np.arange(self.n_hops) * h) % size
        end = first + h
        wrapped = end > size
        loop_energy = cs[np.minimum(end, size)] - cs[first]
        loop_energy[wrapped] += cs[end[wrapped] - size]
        per_hop = int(round(h / m.sr * CONTROL_RATE))
        env2 = np.interp(np.arange(self.n_hops * per_hop) + 0.5 * (per_hop - 1) / per_hop,
                         np.arange(m.envelope.size), m.envelope) ** 2
        env2_hop = env2[: self.n_hops * per_hop].reshape(self.n_hops, per_hop).mean(axis=1)
        energy += loop_energy * env2_hop * m.bed_gain**2
        return energy

    def loudness(self) -> float:
        """Integrated loudness (LUFS) of the mix at the mixer's current gain."""
        m = self.mixer
        ceiling = db(CEILING_DB)
        energy = self.fixed + self.bed_energy
        for key, starts in self.starts.items():
            raw = m.raw[key]
            peak = self._peaks.get(key)
            if peak is None:
                peak = self._peaks[key] = float(np.max(np.abs(raw))) if raw.size else 0.0
            if peak * m.gain <= ceiling:
                # the limiter leaves this clip alone: its energy scales with gain squared
                if key not in self._unlimited:
                    self._unlimited[key] = self._hops_of(raw, starts)
                ks, e = self._unlimited[key]
                np.add.at(energy, ks, e * m.gain**2)
            else:
                ks, e = self._hops_of(m.voice[key], starts)
                np.add.at(energy, ks, e)
        return gated_loudness(energy / self.hop)
