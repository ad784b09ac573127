"""A routine fitted for one listener's settings: to the minutes asked (see
:func:`~voiceguide.fit.fit_length`), or else into the length range it is designed for,
the narration telling the length built and the closing silence taking up what a fit
missed to the sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from voiceguide.fit import FIT_TOLERANCE, TAIL_GIVE, Fit, can_last, fit_length
from voiceguide.lengths import (
    LengthOutOfReach,
    designed_out_of_reach,
    fitted_into_range,
    missed,
    mmss,
    out_of_reach,
)
from voiceguide.routine.load import Routine
from voiceguide.script.expand import expand, spoken_minutes
from voiceguide.script.items import TAIL, Script, walk_speech
from voiceguide.settings import TrackSettings
from voiceguide.timeline import ChimeLength, Measure, Timeline, check_length, schedule


@dataclass
class Fitted:
    """A routine expanded and laid out for one listener's settings."""

    script: Script
    timeline: Timeline
    fit: Fit | None
    """How the elastic parts were set (None when the routine's own lengths were kept)."""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the routine's author should know (see :attr:`TrackPlan.notes`)."""


def fit_routine(routine: Routine, settings: TrackSettings, measure: Measure,
                sample_rate: int, chime_length: ChimeLength | None = None,
                script: Script | None = None) -> Fitted:
    """``routine`` expanded and laid out, fitted to ``settings.minutes`` or else into its
    designed range, telling the length built (``script``: the plain expansion, if made)."""
    spoken = spoken_minutes(settings.minutes) if settings.minutes is not None else None
    title = routine.spec.title

    def expand_at(values: Mapping[str, float]) -> Script:
        return expand(routine, settings, values, minutes=spoken)

    def told(values: Mapping[str, float], said: int | None, script: Script,
             timeline: Timeline) -> tuple[Script, Timeline]:  # rendered telling ``said``
        minutes = spoken_minutes(timeline.duration / 60)  # the length laid out tells these
        again = expand(routine, settings, values, minutes=minutes) if minutes != said else script
        if again is script or walk_speech(again.root) == walk_speech(script.root):
            return script, timeline
        return again, schedule(again, measure, sample_rate, chime_length)

    designed = routine.spec.length
    if settings.minutes is not None:
        def as_told(ends: tuple[float, float]) -> tuple[float, float]:
            return told_range(ends, spoken, lambda minutes, longest: can_last(
                lambda values: expand(routine, settings, values, minutes=minutes), measure,
                sample_rate, chime_length, longest))

        try:
            asked = fit_length(expand_at, measure, sample_rate, settings.minutes * 60,
                               chime_length, strict=settings.strict_minutes, title=title)
        except LengthOutOfReach as exc:  # the range as builds asking for its ends tell it
            ends = as_told(exc.reachable)
            if ends == exc.reachable:
                raise
            raise out_of_reach(settings.minutes * 60, title, *ends, why=exc.why) from None
        asked.told = as_told
        script, timeline = asked.script, asked.timeline
        short = round(settings.minutes * 60 * sample_rate) - timeline.total
        if short and abs(short) <= TAIL_GIVE * sample_rate:  # the last silence takes up
            # the miss: 12 minutes is 12:00.000 (a nearest length keeps its 3 s of it)
            script = script.ending(TAIL + short / sample_rate)
            timeline = schedule(script, measure, sample_rate, chime_length)
        else:  # the nearest length: told as built, not as asked ("about twenty minutes")
            script, timeline = told(asked.values, spoken, script, timeline)
            short = round(settings.minutes * 60 * sample_rate) - timeline.total
            below = settings.minutes * 60 < asked.reachable[0] - TAIL_GIVE
            if short > 0 or below:  # the silence grows toward a longer length, never
                # shrinks (an audit: 1 s after "Good night"), so the longest end told
                # builds as told; under the shortest end, that end as asking it builds
                # (4:03 built 4:06, where 4:04 built 4:04: an app team's review)
                script = script.ending(TAIL + max(-TAIL_GIVE, min(short / sample_rate,
                                                                  TAIL_GIVE)))
                timeline = schedule(script, measure, sample_rate, chime_length)
        check_length(timeline.total, sample_rate)  # the fit measured lengths unbounded
        warnings = [missed(settings.minutes * 60, title, asked.missed, timeline.duration)
                    + ", built instead"] if asked.missed else []
        if designed is not None and not designed.min <= settings.minutes <= designed.max:
            warnings.append(f"'{title}' is designed for {designed.min:g} to {designed.max:g} "
                            f"minutes; the track lasts {mmss(timeline.duration)}"
                            + ("" if asked.missed else " as asked"))
        return Fitted(script, timeline, asked, warnings)
    script = script or expand_at({})
    fit: Fit | None = None
    notes: list[str] = []
    # unbounded: as written it may outlast the 3-hour limit and fit its range under it
    timeline = schedule(script, measure, sample_rate, chime_length, bounded=False)
    if designed is not None and script.elastics:
        # keep the track inside the routine's designed length range (aim a little inside,
        # so landing within the tolerance never falls outside)
        low, high = designed.min * 60, designed.max * 60
        if not low <= timeline.duration <= high:
            goal = low + FIT_TOLERANCE if timeline.duration < low else high - FIT_TOLERANCE
            try:
                fit = fit_length(expand_at, measure, sample_rate, goal, chime_length,
                                 title=title, near=0)
            except LengthOutOfReach as exc:  # the fix is in the routine's ``length:``
                raise designed_out_of_reach(routine, settings.level or routine.spec.level,
                                            exc.reachable, exc.why) from None
            changes = [f"{e.label} {round(e.default, 1):g} to {round(v, 1):g}"
                       for k, e in script.elastics.items()
                       if abs((v := fit.values.get(k, e.default)) - e.default) >= 0.05]
            notes.append(fitted_into_range(routine, timeline.duration,
                                           fit.timeline.duration, changes))
            script, timeline = fit.script, fit.timeline
    check_length(timeline.total, sample_rate)
    # the narration may say the length ("about 12 minutes"): render it once more
    script, timeline = told(fit.values if fit else {}, None, script, timeline)
    # a length aimed at inside the range is no listener's ask: no "1:29 is not possible"
    return Fitted(script, timeline, fit, [], notes)


def told_range(ends: tuple[float, float], spoken: int | None,
               end_told: Callable[[int, bool], float]) -> tuple[float, float]:
    """The shortest and longest lengths (s) --minutes can ask for, ``ends`` as fitted with
    the narration telling ``spoken`` minutes, each made again as the narration of a build
    asking for it tells it (``end_told(minutes, longest)``: that end with the narration
    telling ``minutes``). Where the narration says the length, the words move the ends: a
    range shown as "3:59 to 7:42" built 7:40 for --minutes 7:42 ("a little beyond")."""
    found = list(ends)
    for i, shown in ((0, math.ceil), (1, math.floor)):
        said = spoken
        for _ in range(3):  # a new end may be told in other minutes again (rarely)
            minutes = spoken_minutes(shown(found[i] + (1e-6 if i else -1e-6)) / 60)
            if minutes == said:
                break
            said = minutes
            found[i] = end_told(minutes, bool(i))
    return found[0], found[1]
