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
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from voiceguide.engines import PCM
from voiceguide.sounds import Audio
from voiceguide.timeline import Timeline

CHUNK_SECONDS: Final = 10.0
"""Mixing and encoding chunk length."""
CONTROL_RATE: Final = 100
"""Envelope resolution (Hz) for ducking and fades."""
DEFAULT_LOUDNESS: Final = -16.0
"""Integrated loudness target (LUFS), as podcast apps use."""
DEFAULT_CEILING_DB: Final = -1.5
"""Sample-peak ceiling before encoding (leaves room for MP3 overshoot under -1 dBFS)."""
DEFAULT_BED_DB: Final = -14.0
"""Bed level in holds, in dB relative to the loudness target."""
DEFAULT_DUCK_DB: Final = 14.0
"""How far the bed drops under speech."""
DUCK_ATTACK: Final = 0.25
"""Seconds before speech the bed starts to drop."""
DUCK_RELEASE: Final = 0.5
"""Seconds after speech the bed is back up."""
BED_FADE_IN: Final = 2.0
BED_FADE_OUT: Final = 3.0
CHIME_LEVEL_DB: Final = -6.0
"""Chime peak relative to the ceiling."""
NORMALISE_STEPS: Final = 5
"""Most correction passes when meeting the loudness target."""
NORMALISE_TOLERANCE: Final = 0.2
"""LU within which the loudness target counts as met."""
LIMITER_WINDOW: Final = 0.02
"""Look-ahead/hold of the clip limiter (seconds)."""


@dataclass(frozen=True)
class MixSettings:
    """How to mix."""

    loudness: float | None = DEFAULT_LOUDNESS
    """Integrated loudness target in LUFS; None leaves the voice at its own level."""
    ceiling_db: float = DEFAULT_CEILING_DB
    """Peak ceiling in dBFS."""
    bed_db: float = DEFAULT_BED_DB
    """Bed RMS in holds relative to the loudness target (dB)."""
    duck_db: float = DEFAULT_DUCK_DB
    """Bed reduction under speech (dB)."""


def db(x: float) -> float:
    """Decibels to linear gain."""
    return float(10 ** (x / 20))


class LoudnessMeter:
    """BS.1770 integrated loudness of a mono signal fed in chunks."""

    def __init__(self, sample_rate: int) -> None:
        import pyloudnorm

        meter = pyloudnorm.Meter(sample_rate)
        sos = [np.concatenate([f.b, f.a]) for f in meter._filters.values()]
        self.sos = np.array(sos, dtype=np.float64)
        self.zi = np.zeros((self.sos.shape[0], 2))
        self.hop = int(round(0.1 * sample_rate))
        self.carry = np.zeros(0)
        self.hops: list[float] = []

    def feed(self, chunk: npt.NDArray[np.floating]) -> None:
        """Add the next samples."""
        y, self.zi = signal.sosfilt(self.sos, chunk.astype(np.float64), zi=self.zi)
        sq = np.concatenate([self.carry, y * y])
        whole = sq.size // self.hop * self.hop
        if whole:
            self.hops.extend(sq[:whole].reshape(-1, self.hop).mean(axis=1).tolist())
        self.carry = sq[whole:]

    def integrated(self) -> float:
        """Integrated loudness in LUFS (-inf for silence)."""
        z = np.array(self.hops)
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
        settings: MixSettings,
        bed: Audio | None = None,
    ) -> None:
        self.tl = timeline
        self.sr = timeline.sample_rate
        self.settings = settings
        self.raw = {key: clip.astype(np.float32) / 32768.0 for key, clip in clips.items()}
        self.chimes = chimes
        self.bed = bed
        self.cues = [c for c in timeline.cues if c.end > c.start]
        self.starts = np.array([c.start for c in self.cues], dtype=np.int64)
        self.ends = np.array([c.end for c in self.cues], dtype=np.int64)
        self.gain = 1.0
        self.voice: dict[tuple[str, float], Audio] = {}
        self.chime_audio: dict[tuple[str, int], Audio] = {}
        target = settings.loudness if settings.loudness is not None else DEFAULT_LOUDNESS
        self.bed_gain = db(target + settings.bed_db)
        self.envelope = self._envelope() if bed is not None else None
        self.set_gain(1.0, limited=settings.loudness is None)

    def set_gain(self, gain: float, *, limited: bool = True) -> None:
        """Scale voice and chimes by ``gain`` and (if ``limited``) limit them."""
        self.gain = gain
        ceiling = db(self.settings.ceiling_db)
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
        env = 10 ** (-self.settings.duck_db * smooth / 20)
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
            idx = np.arange(a, b)
            bed = self.bed[idx % self.bed.size]
            env = np.interp(idx / self.sr * CONTROL_RATE, np.arange(self.envelope.size),
                            self.envelope)
            out += (bed * env * self.bed_gain).astype(np.float32)
        ceiling = db(self.settings.ceiling_db)
        np.clip(out, -ceiling, ceiling, out=out)
        return out

    def measure(self) -> float:
        """Integrated loudness (LUFS) of the mix at the current gain."""
        meter = LoudnessMeter(self.sr)
        for chunk in self.chunks():
            meter.feed(chunk)
        return meter.integrated()

    def normalise(self) -> float | None:
        """Set the voice gain so the mix meets the loudness target; returns the loudness
        measured before the final small correction (None when not normalising)."""
        target = self.settings.loudness
        if target is None:
            return None
        self.set_gain(1.0, limited=False)
        first = self.measure()
        if not np.isfinite(first):
            return None
        # the limiter makes loudness grow more slowly than gain: secant steps in dB
        gain_db = target - first
        self.set_gain(db(gain_db))
        level = self.measure()
        prev_gain, prev_level = 0.0, first
        for _ in range(NORMALISE_STEPS):
            if not np.isfinite(level) or abs(target - level) < NORMALISE_TOLERANCE:
                break
            slope = (level - prev_level) / (gain_db - prev_gain) if gain_db != prev_gain else 1.0
            slope = min(max(slope, 0.2), 1.0)
            prev_gain, prev_level = gain_db, level
            gain_db += (target - level) / slope
            self.set_gain(db(gain_db))
            level = self.measure()
        return level


def to_int16(chunk: npt.NDArray[np.float32]) -> PCM:
    """Float samples in [-1, 1] to int16 (rounded, clipped)."""
    return np.clip(np.round(chunk * 32767.0), -32768, 32767).astype(np.int16)
