"""Mastering for delivery: the levels of a mix as measured on what the codec gives back
(its effect on loudness and true peak, tried on an excerpt, then on the decoded file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import to_int16
from voiceguide.io.machine import release_memory
from voiceguide.mix.loudness import LoudnessMeter, gated_loudness
from voiceguide.mix.master import to_db, true_peak

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.mix.mixer import Mixer


@dataclass(frozen=True)
class EncoderEffect:
    """What an encoder did to a piece of the mix, measured by decoding it again."""

    loudness_change: float
    """Integrated loudness after minus before (LU); negative when the codec lost some."""
    peak_change: float
    """True peak after minus before (dB); positive when the codec overshoots."""


def encoder_effect(before: npt.NDArray[np.floating], before_rate: int,
                   after: npt.NDArray[np.floating], after_rate: int) -> EncoderEffect:
    """Compare a piece of audio with what decoding its encoded form gave back."""
    def loud(x: npt.NDArray[np.floating], rate: int) -> float:
        meter = LoudnessMeter(rate)
        meter.feed(x)
        return meter.integrated()

    a = loud(before, before_rate)
    release_memory()  # the first measurement's float64 spectra, before the second's
    b = loud(after, after_rate)
    change = b - a if np.isfinite(a) and np.isfinite(b) else 0.0
    peak = to_db(true_peak(after)) - to_db(true_peak(before))
    return EncoderEffect(change, peak if np.isfinite(peak) else 0.0)


PEAK_MARGIN: Final = 0.3
"""dB kept under the true-peak ceiling beyond the overshoot measured (the whole track
has more peaks than the excerpt the encoder is tried on)."""

DELIVERY_TOLERANCE: Final = 0.5
"""LU a delivered track may miss its loudness target by without a warning."""
HEARD_TOLERANCE: Final = 0.2
"""LU the decoded file's loudness, where it is measured, may miss the target before the
track is mixed again (delivery is held to +-0.5 LU; meters differ by a few hundredths)."""

METER_MARGIN: Final = 0.15
"""dB the decoded file is held under the ceiling: true-peak meters differ by about a
tenth of a dB (ffmpeg's ebur128 oversamples to 192 kHz, others 4x with other filters)."""

Trial = Callable[["PCM"], tuple[npt.NDArray[np.float32], int]]
"""Encode int16 audio and decode it again: ``(samples, rate)``."""


class Mastering:
    """The levels of a mix for delivery, as measured on what the codec gives back.

    The mix is normalised to its loudness target. With a ``trial`` (a lossy format),
    an excerpt of the mix is encoded and decoded first: the loudness target moves past
    the loudness the codec loses or adds, and the true-peak ceiling comes down by the
    overshoot it adds (plus :data:`PEAK_MARGIN`). After the track is encoded,
    :meth:`check` takes the true peak of the decoded file: over the ceiling, the
    ceiling comes down by the excess, for another go.
    """

    def __init__(self, mixer: Mixer, trial: Trial | None) -> None:
        self.mixer = mixer
        self.ceiling_db = mixer.ceiling_db - METER_MARGIN
        """The ceiling the decoded file is held to (dBTP)."""
        self.change = 0.0
        """Loudness the codec adds (LU; negative when it loses some)."""
        target = mixer.target
        if trial is not None and target is not None:  # the margin first: the excerpt is
            mixer.ceiling_db -= PEAK_MARGIN  # made under it, and with no overshoot the level stands
        self.loudness = mixer.normalise()
        """Integrated loudness expected of the decoded file (None: not normalised)."""
        if trial is None or self.loudness is None or target is None:
            return
        release_memory()  # each step's arrays are dropped before the next one's peak
        excerpt = mixer.excerpt()
        release_memory()
        decoded, rate = trial(to_int16(excerpt))
        release_memory()
        effect = encoder_effect(excerpt, mixer.sr, decoded, rate)
        del excerpt, decoded
        release_memory()
        self.change = effect.loudness_change
        mixer.target = target - self.change
        self._lower(max(0.0, effect.peak_change))

    def _lower(self, by: float) -> None:
        self.mixer.ceiling_db -= by
        level = self.mixer.normalise()
        self.loudness = None if level is None else level + self.change

    def heard(self, hops: npt.NDArray[np.float64]) -> bool:
        """Whether the decoded file's integrated loudness (``hops``: its K-weighted mean
        square per 100 ms) is within :data:`HEARD_TOLERANCE` of the target; if not, the
        loudness model takes the codec's effect from the decode, hop by hop (see
        :meth:`LoudnessModel.hear_through`), and the mix is set again for another go.
        A codec can change the bed more than the voice (Opus takes about 1.5 dB off rain
        where no one speaks), and how many of a track's quiet blocks pass BS.1770's
        relative gate then moves its loudness by more than a few seconds of excerpt can
        tell, and not in step with the voice's gain."""
        target = self.mixer.target
        model = self.mixer.model
        if self.loudness is None or target is None or model is None:
            return True
        goal = target + self.change  # what the listener's decoder should measure
        loudness = gated_loudness(hops)
        if not np.isfinite(loudness) or abs(loudness - goal) <= HEARD_TOLERANCE:
            return True
        if loudness < goal and self.mixer.capped:
            return True  # the voice is as loud as it may go: mixed again, no louder
        model.hear_through(hops)
        self.change = 0.0  # the model predicts the decode itself now
        self.mixer.target = goal
        self.loudness = self.mixer.normalise()
        return False

    def short_of_target(self) -> str | None:
        """A warning when the track is left more than :data:`DELIVERY_TOLERANCE` under
        its loudness target because the voice may go no louder (see
        :data:`~voiceguide.mix.mixer.MAX_PUSH_DB`), or off it because no voice level
        meets it over the bed (see :data:`~voiceguide.mix.mixer.BED_NUDGES_DB`); None
        when it meets it."""
        target = self.mixer.target
        if self.loudness is None or target is None:
            return None
        goal = target + self.change
        if abs(self.loudness - goal) <= DELIVERY_TOLERANCE:
            return None
        if not self.mixer.capped:  # the bed moved as far as it may (BED_NUDGES_DB)
            if not self.mixer.ducking or not self.mixer.voice:
                return None  # nothing to set: no bed, or nothing spoken (a timer)
            return (f"the track is about {self.loudness:.1f} LUFS, not the {goal:g} LUFS "
                    "target: the bed's steady sound sits at the loudness meter's gate, "
                    "where no voice level meets it; a bed volume a few dB lower or "
                    "higher does")
        if self.loudness >= goal:
            return None
        return (f"the track is about {self.loudness:.1f} LUFS, under the {goal:g} LUFS "
                "target: it is mostly pauses between short phrases, which count in its "
                "loudness, and a louder voice would be squashed by the limiter; more "
                "voice and less pause (a slower rate, fewer minutes) brings it nearer")

    def check(self, decoded_peak: float) -> bool:
        """Whether the decoded file's true peak (linear) is under the ceiling; if not,
        the mix is set lower for another go."""
        over = to_db(decoded_peak) - self.ceiling_db
        if over <= 0:
            return True
        self._lower(over + PEAK_MARGIN)
        return False
