"""How lengths are told: ``12:00``, ranges of minutes to ask for, and the errors and
warnings of a length a routine cannot last or was fitted to (the fitter's words)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from voiceguide.errors import ScheduleError, option
from voiceguide.limits import MAX_CHAPTERS

if TYPE_CHECKING:
    from voiceguide.routine.load import Routine
    from voiceguide.timeline import Interval, Timeline

NEAR_REACH: Final = 15.0
"""Seconds a target may lie beyond the lengths a routine can last and still be built, at
the nearest (with a warning; an error with ``strict_minutes``): a coach's --minutes 8 for
a routine that can last 8:01 was refused."""
LONG_SILENCE: Final = 30.0
"""Seconds with nothing to hear that a track without a bed is warned of (NARRATION: a
long silence needs a quiet presence, or the listener thinks the track has stopped)."""


def mmss(seconds: float) -> str:
    """``12:00`` for 720 s (rounded to the second)."""
    s = int(round(max(0.0, seconds)))
    return f"{s // 60}:{s % 60:02d}"


def near_miss(asked: float, built: float) -> str:
    """``8:01``: the length ``built`` for ``asked``, with how far off where the two read
    alike to the second (``0:52 (+0.2 s)``, ``7:42 (-0.001 s)``)."""
    off = built - asked
    return mmss(built) if mmss(built) != mmss(asked) else \
        f"{mmss(built)} ({off:+.{1 if abs(off) >= 0.05 else 3}f} s)"


def span_text(low: float, high: float) -> str:
    """``3:58 to 8:33``: seconds to the second, rounded inwards (every time shown can be had)."""
    a, b = math.ceil(low - 1e-6), math.floor(high + 1e-6)
    return f"{mmss(a)} to {mmss(b)}" if b >= a else f"about {mmss((low + high) / 2)}"


class LengthOutOfReach(ScheduleError):
    """A length a routine cannot last (at a listener's settings)."""

    def __init__(self, message: str, reachable: tuple[float, float], why: str = "") -> None:
        self.reachable = reachable
        """Shortest and longest lengths it can last, in seconds."""
        self.why = why
        """Why no length beyond the end asked past can be laid out (see
        :func:`unbuildable`; empty: those are only too long or too short)."""
        super().__init__(message)

    def __reduce__(self) -> tuple[type[LengthOutOfReach],
                                  tuple[str, tuple[float, float], str]]:
        return type(self), (self.message, self.reachable, self.why)  # from a pack's worker


def out_of_reach(target: float, title: str, shortest: float, longest: float,
                 limits: dict[str, str] | None = None, why: str | None = None
                 ) -> LengthOutOfReach:
    """The error for a ``target`` (seconds) beyond the ``shortest`` to ``longest`` lengths
    ``--minutes`` can ask for, saying ``why`` the end it is beyond is there where a setting
    past it cannot be laid out (by default from ``limits``: see :func:`unbuildable`)."""
    why = unbuildable(target < shortest, limits or {}) if why is None else why
    return LengthOutOfReach(
        f"{mmss(target)} is not possible for '{title}'; it can last "
        f"{span_text(shortest, longest)}: {ask_for(shortest, longest)}"
        + (f" ({why})" if why else ""), (shortest, longest), why)


def unbuildable(shorter: bool, limits: dict[str, str]) -> str:
    """Why no setting ``shorter`` (else longer) than those that can be laid out can be:
    ``any shorter and a phrase does not fit: <the problem>`` (``limits``: the problem by side,
    ``shorter`` and ``longer``), or nothing where such settings are only too long."""
    side = "shorter" if shorter else "longer"
    return f"any {side} and a phrase does not fit: {limits[side]}" if side in limits else ""


def missed(target: float, title: str, why: str, built: float) -> str:
    """What a build of ``built`` seconds for a ``target`` it cannot meet says."""
    return f"{mmss(target)} is not possible for '{title}' ({why}); the nearest is " \
        f"{near_miss(target, built)}"


def designed_out_of_reach(routine: Routine, level: str, reachable: tuple[float, float],
                          why: str = "") -> ScheduleError:
    """The error for a routine whose ``length:`` it cannot last: the line, a range to set
    (and ``why`` it cannot last more, where a setting past it cannot be laid out)."""
    designed = routine.spec.length
    low, high = reachable
    a, b = minute_range(low, high)
    asked = f"is designed for {designed.min:g} to {designed.max:g} minutes, but " \
        if designed is not None else ""
    line, col = routine.doc.where(("length",), key=True)
    return ScheduleError(
        f"{routine.doc.path}:{line}:{col}: length: '{routine.spec.title}' {asked}at the {level} "
        f"level it can last {span_text(low, high)}; set length: {{min: {a:g}, max: "
        f"{max(a, b):g}}} (or a range inside it), or add or remove steps"
        + (f" ({why})" if why else ""))


def minute_range(low: float, high: float) -> tuple[float, float]:
    """The minutes to ask for, inside the reachable seconds: whole minutes where they hold
    two (8 and 18), else tenths (4.2, 4.8), else hundredths (3:55 to 3:58 holds no tenth)."""
    for per_minute in (1, 10, 100):
        a = math.ceil(low / 60 * per_minute - 1e-9) / per_minute
        b = math.floor(high / 60 * per_minute + 1e-9) / per_minute
        if b > a or (per_minute == 100 and b == a):
            return a, b
    return round((low + high) / 120, 3), round((low + high) / 120, 3)


def minutes_between(low: float, high: float) -> str:
    """:func:`minute_range` as words (``8 to 18``)."""
    a, b = minute_range(low, high)
    return f"{a:g} to {b:g}" if b > a else f"{a:g}"


def ask_for(shortest: float, longest: float) -> str:
    """What to ask for, for a routine that can last ``shortest`` to ``longest`` seconds:
    ``choose 4 to 8 minutes``, or, where that is under the shortest length --minutes
    takes, to leave it out."""
    from voiceguide.settings import MIN_MINUTES

    if minute_range(shortest, longest)[1] < MIN_MINUTES:
        return (f"leave {option('minutes')} out (it takes {MIN_MINUTES:g} minutes at the "
                "least, more than the routine can last) or add steps to the routine")
    return f"choose {minutes_between(max(shortest, MIN_MINUTES * 60), longest)} minutes"


def fitted_into_range(routine: Routine, written: float, fitted: float,
                      changes: list[str]) -> str:
    """The warning for a track whose routine, as written, lasts ``written`` seconds
    outside its ``length:`` range, so that its elastic parts were set (``changes``,
    such as ``repetitions 12 to 8``) to last ``fitted`` instead."""
    designed = routine.spec.length
    assert designed is not None
    line, col = routine.doc.where(("length",), key=True)
    over = written > designed.max * 60
    side, bound = ("over", designed.max * 60) if over else ("under", designed.min * 60)
    shown = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4
                                      else "")
    return (f"{routine.doc.path}:{line}:{col}: length: as written, '{routine.spec.title}' "
            f"lasts {near_miss(bound, written)}, {side} the {designed.min:g} to "
            f"{designed.max:g} minutes "
            f"it is designed for, so it was fitted to {mmss(fitted)}"
            + (f" ({shown})" if shown else "")
            + "; to play it as written, widen length: (or give --minutes)")


SILENT: Final = "with no bed, the track is silent for more than"
"""How :func:`silences`' warning begins (``validate`` keeps the worst of its plans')."""


def quiet_stretches(timeline: Timeline) -> list[tuple[int, int]]:
    """Where a track is silent for more than :data:`LONG_SILENCE` seconds between two
    sounds: ``(first sample, samples)`` of each stretch."""
    sr = timeline.sample_rate
    found: list[tuple[int, int]] = []
    end = 0
    for cue in sorted(timeline.cues, key=lambda c: c.start):
        if cue.start - end > LONG_SILENCE * sr:
            found.append((end, cue.start - end))
        end = max(end, cue.end)
    return found


def silences(timeline: Timeline) -> list[str]:
    """A warning for a track with no bed that is silent for more than
    :data:`LONG_SILENCE` seconds between two sounds (a listening audit: bedtime-hips at
    12 minutes with ``--bed none`` was silent for 53 s, then 52 s twice)."""
    sr = timeline.sample_rate
    found = quiet_stretches(timeline)
    if not found:
        return []
    said = ", ".join(f"{n / sr:.0f} s at {mmss(a / sr)}" for a, n in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    kinds = {i.kind for a, n in found for i in timeline.intervals
             if i.start < a + n and i.end > a and i.kind in _QUIET_FIXES}
    fixes = [fix for kind, fix in _QUIET_FIXES.items() if kind in kinds] or ["shorter pauses"]
    return [f"{SILENT} {LONG_SILENCE:g} s {len(found)} "
            f"time{'s' if len(found) > 1 else ''} ({said}{more}): a listener may think it "
            "has stopped; choose a bed (rain, ocean or drone), or "
            + ", ".join(dict.fromkeys(fixes))]


_QUIET_FIXES: Final = {
    "pause": "shorter pauses", "rest": "shorter pauses",
    "hold": "a cue in the middle of the hold (cues: [{halfway: true, say: ...}])",
    "breath": "more guided breaths (guided:) or fewer (max_cycles:)",
    "transition": "less time to move (transition seconds:)"}
"""What makes a long silence shorter, by the kind of step it is in (a breathing step's
unvoiced breaths were told 'shorter pauses': a new user's review)."""


def check_chapters(timeline: Timeline, path: object) -> None:
    """A :class:`ScheduleError` for a track of more chapters than :data:`MAX_CHAPTERS`
    (the MP3 writer failed after the whole mix; a WAV's ID3 tag holds them too)."""
    if len(timeline.chapters) > MAX_CHAPTERS:
        raise ScheduleError(
            f"{path}: the track would have {len(timeline.chapters)} chapters; the most is "
            f"{MAX_CHAPTERS} (an MP3's chapter list holds no more): put steps together in "
            "fewer sections and exercises")


CROWDED_SHARE: Final = 0.85
"""Most of a breath or a repetition's phase its words may fill before a warning
(NARRATION: a sentence that fills 89% of a 4-second inhale is too long)."""


def crowded(timeline: Timeline) -> list[str]:
    """A warning for each wording that fills more than :data:`CROWDED_SHARE` of the breath
    or phase it opens, leaving the listener no room to breathe or move (a listening
    audit: at --rate 120, 4.47 s of a 5 s in-breath, the next words 0.53 s after)."""
    starts = {i.start: i for i in timeline.intervals if i.kind in ("breath", "phase")}
    worst: dict[tuple[str, str], tuple[float, Interval]] = {}
    for cue in timeline.speech_cues():  # (one sped up to fit is told so: speed_warnings)
        phase = starts.get(cue.start) if cue.speed == 1.0 else None
        share = (cue.end - cue.start) / (phase.end - phase.start) if phase else 0.0
        if phase is not None and share > CROWDED_SHARE and share > worst.get(
                (cue.where, cue.text), (0.0, phase))[0]:
            worst[cue.where, cue.text] = (share, phase)
    return [f"{where}: \"{text}\" fills {share:.0%} of its "
            f"{(phase.end - phase.start) / timeline.sample_rate:.3g} s {phase.kind}, leaving no "
            f"room to breathe or move; use fewer words, a longer {phase.kind} or a faster rate"
            for (where, text), (share, phase) in worst.items()]


HEARD_WORDS: Final = 30
"""Fewest words heard before the rate they are heard at is judged."""
HEARD_OFF: Final = (0.6, 1.7)
"""Heard rate over asked rate, outside which an engine is warned of: the built-in
engines keep within 0.9-1.35 of the rate asked at every rate."""


def rate_warnings(timeline: Timeline, rate: int, engine: str) -> list[str]:
    """A rate above :data:`~voiceguide.settings.CALM_RATE`, and a voice heard far off the
    rate asked (a plugin review: an engine that gave twice the samples its sample rate
    said was heard at 75 words per minute for --rate 140, without a word)."""
    from voiceguide.settings import CALM_RATE, DEFAULT_RATE

    said = [f"a rate of {rate} words per minute is faster than calm guidance (130-150, "
            f"{DEFAULT_RATE} by default): with the eyes closed, a listener may not follow"
            ] if rate > CALM_RATE else []
    heard = timeline.heard_rate()
    words = sum(len(c.text.split()) for c in timeline.speech_cues())
    if words >= HEARD_WORDS and not HEARD_OFF[0] <= heard / rate <= HEARD_OFF[1]:
        said.append(f"the voice is heard at {heard:.0f} words per minute at a rate of "
                    f"{rate}: "
                    f"the {engine} engine may not keep to the rate it is given, or may give "
                    "its samples at another sample rate than it says")
    return said
