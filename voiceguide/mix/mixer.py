"""Mix a timeline into audio, chunk by chunk: voice, chimes, ducked bed, loudness, limiter.

Nothing is built by concatenation or per-clip overlays: each chunk is one numpy buffer
into which the clips that overlap it are added at their sample offsets. The bed's gain
(ducking under speech, fades) is an envelope computed from the timeline at 100 Hz.
Loudness follows ITU-R BS.1770 (K-weighting, 400 ms blocks, absolute and relative
gates) measured chunk by chunk with the filter state carried over, so memory stays flat
for long tracks. True peaks (4x oversampled, :mod:`voiceguide.mix.master`) are held
under the ceiling by a look-ahead limiter applied to each distinct phrase clip (they are
the only loud parts), then by a streaming limiter on the whole mix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import PCM, Audio, Loop, to_int16
from voiceguide.mix.duck import bed_envelope
from voiceguide.mix.loudness import CONTROL_RATE, LoudnessMeter, LoudnessModel
from voiceguide.mix.master import StreamLimiter, db, to_db
from voiceguide.mix.sounds import chimes, room_tone_loop
from voiceguide.mix.voice import VoiceClips
from voiceguide.settings import DEFAULT_LOUDNESS, TrackSettings
from voiceguide.timeline import Timeline

CHUNK_SECONDS: Final = 10.0
"""Mixing and encoding chunk length."""
CEILING_DB: Final = -1.0
"""True-peak ceiling of what players reconstruct (dBTP), as podcast apps ask."""
CHIME_LEVEL_DB: Final = -6.0
"""Chime peak relative to the ceiling."""
NORMALISE_STEPS: Final = 10
"""Most correction passes when meeting the loudness target."""
NORMALISE_TOLERANCE: Final = 0.1
"""LU within which the loudness target counts as met."""
MAX_PUSH_DB: Final = 12.0
"""The most the voice gain may take a typical phrase's true peak (the median clip's) over
the ceiling, for the clip limiter to bring back: a guided track at a usual rate needs
3-8 dB. Where a track is mostly bed between short phrases, the bed's blocks pass
BS.1770's relative gate and the target would take the voice 70 dB into the limiter
(a squashed voice); the track is then left under the target, with a warning."""
BED_NUDGES_DB: Final = (-1.0, 1.0, -2.0, 2.0, -3.0, 3.0)
"""dB the bed may move from the level asked, tried in turn, when no voice gain meets the
loudness target: a steady bed (rain) whose quiet blocks sit at BS.1770's relative gate
makes the loudness jump as the gate passes them all at once (-21.3 to -18.7 LUFS), and a
target in the jump (-20) was missed by more than 1 LU."""
PROBE_WINDOWS: Final = 10
"""Pieces of the mix an encoder is tried on (see :meth:`Mixer.excerpt`)."""
PROBE_SECONDS: Final = 3.0
"""Length of each piece."""
PROBE_FADE: Final = 0.05
"""Fade at the ends of each piece, so the joins are not clicks."""
ROOM_TONE_DB: Final = -64.0
"""Level (dBFS RMS) of the room tone laid under a track without a bed: far below the
voice, but no digital silence, so a listener with eyes closed knows it still plays."""

_Solution = tuple[float, float, float, tuple[float, float, int]]
"""A solve's end: voice gain (dB), slope, loudness, and its ceiling, bed shift, hearings."""


class Mixer:
    """Renders a timeline chunk by chunk."""

    def __init__(
        self,
        timeline: Timeline,
        clips: Mapping[tuple[str, float], PCM],
        chimes: Mapping[tuple[str, int], Audio],
        settings: TrackSettings,
        bed: Loop | None = None,
        room_tone: bool = False,
    ) -> None:
        self.tl = timeline
        self.sr = timeline.sample_rate
        self.target = settings.loudness_target
        """Integrated loudness target (LUFS); None leaves the voice at its own level."""
        self.voice = VoiceClips(clips, self.sr)
        """The clips at the voice gain, limited (made from the int16 clips where they
        are asked for: a long track keeps no float copy of its phrases)."""
        self.chimes = chimes
        self.ducking = bed is not None
        if bed is None and room_tone:
            bed = room_tone_loop(self.sr)  # not ducked: it is only there in the silences
        self.bed: Loop | None = bed
        self.cues = [c for c in timeline.cues if c.end > c.start]
        self.starts = np.array([c.start for c in self.cues], dtype=np.int64)
        self.ends = np.array([c.end for c in self.cues], dtype=np.int64)
        self.gain = 1.0
        self.ceiling_db = CEILING_DB
        """True-peak ceiling (dBTP) of the mix: lower than the delivery ceiling by the
        headroom the encoder needs."""
        self.chime_audio: dict[tuple[str, int], Audio] = {}
        target = self.target if self.target is not None else DEFAULT_LOUDNESS
        self.bed_gain = db(target + settings.bed_volume) if self.ducking else db(ROOM_TONE_DB)
        self.bed_shift = 1.0
        """The bed's gain over the level asked (see :data:`BED_NUDGES_DB`)."""
        self.envelope = self._envelope() if bed is not None else None
        self._model: LoudnessModel | None = None
        self._solved: _Solution | None = None
        self.capped = False
        """Whether the last loudness solve stopped at :data:`MAX_PUSH_DB`, short of it."""
        self.set_gain(1.0, limited=self.target is None)

    def set_gain(self, gain: float, *, limited: bool = True) -> None:
        """Scale voice and chimes by ``gain`` and (if ``limited``) limit them."""
        self.gain = gain
        ceiling = db(self.ceiling_db)
        self.voice.set_gain(gain, ceiling if limited else None)
        for key, x in self.chimes.items():
            self.chime_audio[key] = (x * ceiling * db(CHIME_LEVEL_DB)).astype(np.float32)

    def _envelope(self) -> npt.NDArray[np.float64]:
        speech = [(c.start / self.sr, c.end / self.sr) for c in self.tl.cues
                  if c.kind == "speech"]
        return bed_envelope(speech, self.tl.total / self.sr, CONTROL_RATE, self.ducking)

    def chunks(self, chunk_seconds: float = CHUNK_SECONDS) -> Iterator[Audio]:
        """The mix in consecutive float32 chunks, true-peak limited to the ceiling."""
        size = int(chunk_seconds * self.sr)
        limiter = StreamLimiter(db(self.ceiling_db), self.sr)
        for a in range(0, self.tl.total, size):
            out = limiter.feed(self.render(a, min(self.tl.total, a + size)))
            if out.size:
                yield out
        tail = limiter.flush()
        if tail.size:
            yield tail

    def pcm(self, progress: Callable[[str, int, int], None] | None = None) -> PCMStream:
        """The mix as int16 chunks (see :class:`PCMStream`)."""
        return PCMStream(self, progress)

    @property
    def own_sounds(self) -> bool:
        """Whether every sound of the mix is speech or the package's own (a built-in bed
        or room tone, chimes): not a user's bed file, which can be any audio (an attack's
        bed decoded to 3.8 times its largest sample, past what a screen of the encode
        may take from the mix's levels: see :mod:`voiceguide.export.screen`)."""
        return self.bed is None or isinstance(self.bed, np.ndarray)

    def background(self) -> PCM | None:
        """One turn of the built-in bed or room tone as the mix's int16 samples hold it
        wherever nothing else plays and the bed is at its full level (None with a bed
        file, or neither): where the mix is this loop, an encoder may take frames it
        encoded once (see :mod:`voiceguide.export.loopframes`)."""
        if not isinstance(self.bed, np.ndarray):
            return None
        return to_int16(self.bed * np.float32(self.bed_gain))

    def excerpt(self) -> Audio:
        """A few seconds of the mix as delivered, to try an encoder on:
        :data:`PROBE_WINDOWS` pieces evenly spread over the track (so speech, pauses and
        the bed weigh as they do in the whole), faded at their ends, joined, limited."""
        n = int(PROBE_SECONDS * self.sr)
        if self.tl.total <= PROBE_WINDOWS * n:  # a short track: all of it
            return np.concatenate([np.zeros(0, np.float32), *self.chunks()])
        step = self.tl.total / PROBE_WINDOWS
        picks = [int((i + 0.5) * step) - n // 2 for i in range(PROBE_WINDOWS)]
        fade = np.minimum(1.0, np.minimum(np.arange(n) + 1, n - np.arange(n))
                          / (PROBE_FADE * self.sr)).astype(np.float32)
        limiter = StreamLimiter(db(self.ceiling_db), self.sr)
        parts = [limiter.feed(self.render(a, a + n) * fade) for a in picks]
        return np.concatenate([*parts, limiter.flush()])

    @property
    def model(self) -> LoudnessModel | None:
        """The loudness model :meth:`normalise` solves with (None before it runs)."""
        return self._model

    def forget_trials(self, spill: IO[bytes] | None = None) -> None:
        """Drop what only the loudness trials use (the clips' kept envelopes and the
        model's weighted clips), once the limited stretches of every clip at the current
        gain are made, and move those stretches to the empty file ``spill`` if given: a
        long track is then encoded with less memory (see :meth:`VoiceClips.spill`; call
        :meth:`unspill` before the file is closed). A later trial makes them again."""
        self.voice.forget_envelopes()
        if self._model is not None:
            self._model.forget()
        if spill is not None:
            self.voice.spill(spill)

    def unspill(self) -> None:
        """Take back what :meth:`forget_trials` moved to its file (before it is closed)."""
        self.voice.unspill()

    def render(self, a: int, b: int) -> Audio:
        """Samples ``a`` to ``b`` of the mix."""
        out = np.zeros(b - a, dtype=np.float32)
        lo = int(np.searchsorted(self.ends, a, side="right"))
        hi = int(np.searchsorted(self.starts, b, side="left"))
        for cue in self.cues[lo:hi]:
            s = max(a, cue.start)
            if cue.kind == "chime":
                clip = self.chime_audio[(cue.text, cue.end - cue.start)]
                e = min(b, cue.start + clip.size)
                if e > s:
                    out[s - a : e - a] += clip[s - cue.start : e - cue.start]
                continue
            key = (cue.text, cue.speed)
            e = min(b, cue.start + self.voice.size(key))
            if e > s:  # the clip's samples made for this stretch only
                out[s - a : e - a] += self.voice.part(key, s - cue.start, e - cue.start)
        if self.bed is not None and self.envelope is not None:
            out += self._bed_part(a, b)
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
        first = a // step * step  # steps on the track's grid: any cut renders the same
        blocks = -(-(b - first) // step)
        edges = (first + np.arange(blocks + 1) * step) / self.sr * CONTROL_RATE
        # only the envelope's points these edges fall between (the same interpolation
        # as over all of them, without an index array of the whole track per chunk)
        lo = min(self.envelope.size - 1, int(edges[0]))
        hi = min(self.envelope.size, int(edges[-1]) + 2)
        env = np.interp(edges, np.arange(lo, hi, dtype=np.float64),
                        self.envelope[lo:hi]) * self.bed_gain
        frac = np.arange(step, dtype=np.float32) / step
        ramp = (env[:-1, None].astype(np.float32)
                + np.diff(env)[:, None].astype(np.float32) * frac[None, :]).ravel()[
                    a - first : a - first + n]
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
        clip is filtered once, and a trial gain scales its energy and applies the clip
        limiter's gain (see :meth:`LoudnessModel.loudness`); the energy is spread over
        the hops it covers at each of its placements; the bed's energy per hop comes
        from its filtered loop and the ducking envelope. A trial costs a limiter pass
        over the clips where rendering and filtering the whole track costs seconds.
        """
        target = self.target
        if target is None:
            return None
        if self._model is None:
            self._model = LoudnessModel(self)
        level = self._solve(self._model, target)
        if self.ducking and np.isfinite(level) and not self.capped \
                and abs(target - level) >= NORMALISE_TOLERANCE:
            level = self._nudge_bed(self._model, target, level)
        if not np.isfinite(level):  # nothing spoken: leave the levels as they are
            self.set_gain(1.0)
            return None
        return level

    def _solve(self, model: LoudnessModel, target: float) -> float:
        """Secant steps on the voice gain (dB) until the predicted loudness is within
        tolerance of ``target`` (the limiter slows its growth); solving again starts
        from the last solution, its slope and, where nothing else moved, its loudness."""

        def trial(gain_db: float, limited: bool = True) -> float:
            self.set_gain(db(gain_db), limited=limited)
            return model.loudness()

        self.capped = False
        same = (self.ceiling_db, self.bed_shift, model.hearings)
        if self._solved is None:  # the clips' peaks found while the unlimited mix is weighed
            with ThreadPoolExecutor(1, "peaks") as pool:
                peaks = pool.submit(self._most_gain_db)
                prev_gain, prev_level, slope = 0.0, trial(0.0, limited=False), 1.0
            if not np.isfinite(cap := peaks.result()):  # nothing spoken: no gain to set
                return prev_level
        else:
            cap, (prev_gain, slope, last, was) = self._most_gain_db(), self._solved
            known = was == same and self.gain == db(prev_gain)  # the mix still as it was
            prev_level = last if known else trial(prev_gain)
            if abs(target - prev_level) < NORMALISE_TOLERANCE:
                return prev_level
        if not np.isfinite(prev_level):
            return prev_level
        gain_db = min(cap, prev_gain + (target - prev_level) / slope)
        level = trial(gain_db)
        for _ in range(NORMALISE_STEPS):
            if not np.isfinite(level) or abs(target - level) < NORMALISE_TOLERANCE or (
                    gain_db >= cap and level < target):  # as loud as the voice may go
                break
            slope = (level - prev_level) / (gain_db - prev_gain) if gain_db != prev_gain else 1.0
            slope = min(max(slope, 0.2), 1.0)
            prev_gain, prev_level = gain_db, level
            gain_db = min(cap, gain_db + (target - level) / slope)
            level = trial(gain_db)
        if np.isfinite(level):
            self._solved = (gain_db, slope, level, same)
        self.capped = gain_db >= cap and level < target - NORMALISE_TOLERANCE
        return level

    def _nudge_bed(self, model: LoudnessModel, target: float, level: float) -> float:
        """Solve again with the bed a little lower or higher (:data:`BED_NUDGES_DB`) until
        a voice gain meets ``target``; else keep the bed level that came nearest."""
        asked = self.bed_gain / self.bed_shift
        solved = self._solved
        best = (abs(target - level), self.bed_shift)
        for nudge in BED_NUDGES_DB:
            self._move_bed(asked, db(nudge), solved)
            got = self._solve(model, target)
            if np.isfinite(got) and not self.capped and abs(target - got) < NORMALISE_TOLERANCE:
                return got
            if np.isfinite(got) and abs(target - got) < best[0]:
                best = (abs(target - got), self.bed_shift)
        self._move_bed(asked, best[1], solved)
        return self._solve(model, target)

    def _move_bed(self, asked: float, shift: float, solved: _Solution | None) -> None:
        self.bed_shift = shift
        self.bed_gain = asked * shift
        self._solved = solved  # each try starts from the same solution

    def _most_gain_db(self) -> float:
        """The voice gain (dB) that takes the median clip's true peak :data:`MAX_PUSH_DB`
        over the ceiling (no limit without clips)."""
        peaks = [self.voice.peak(key) for key in self.voice]
        top = float(np.median(peaks)) if peaks else 0.0
        return self.ceiling_db + MAX_PUSH_DB - to_db(top) if top > 0 else float("inf")


def mixer_for(timeline: Timeline, clip: Callable[[str, float], PCM], settings: TrackSettings,
              bed: Loop | None, room_tone: bool) -> Mixer:
    """The mixer of a planned track: ``clip(text, speed)`` gives each phrase's clip, the
    chimes are made for the lengths they ring."""
    sr = timeline.sample_rate
    clips = {(c.text, c.speed): clip(c.text, c.speed) for c in timeline.speech_cues()}
    rings = chimes(((c.text, c.end - c.start) for c in timeline.cues if c.kind == "chime"), sr)
    return Mixer(timeline, clips, rings, settings, bed, room_tone)


class PCMStream:
    """The mastered mix as int16 chunks, timing the mixing (``seconds``) and reporting
    ``progress("encode", done, total)`` as chunks go out."""

    def __init__(self, mixer: Mixer, progress: Callable[[str, int, int], None] | None
                 ) -> None:
        self.mixer, self.progress = mixer, progress
        self.seconds = 0.0
        """Seconds spent mixing (the rest of an encode is the encoder's)."""

    def __iter__(self) -> Iterator[PCM]:
        m = self.mixer
        it = m.chunks()
        total = max(1, -(-m.tl.total // int(CHUNK_SECONDS * m.sr)))
        done = 0
        while True:
            t = time.perf_counter()
            chunk = next(it, None)
            if chunk is None:
                return
            pcm = to_int16(chunk)
            self.seconds += time.perf_counter() - t
            done = min(total, done + 1)
            if self.progress:
                self.progress("encode", done, total)
            yield pcm
