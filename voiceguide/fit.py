"""Length fitting: stretch what a routine marks elastic so a track lasts a target length.

The stage above script and timeline: it expands the routine (``script.expand``) with
trial values and lays each trial out (``timeline.schedule``) with the measured speech
lengths it is given, until the length lands within :data:`FIT_LIMIT` seconds. It also
keeps a default build inside the routine's designed length range and renders the
narration once more when it tells the length ("about 12 minutes").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from voiceguide.errors import ScheduleError
from voiceguide.routine.load import Routine
from voiceguide.script.expand import expand
from voiceguide.script.items import Elastic, Script, walk_speech
from voiceguide.settings import TrackSettings
from voiceguide.timeline import ChimeLength, Measure, Timeline, schedule

FIT_TOLERANCE: Final = 1.0
"""How close (seconds) the fitter tries to land on a target length."""
FIT_LIMIT: Final = 2.0
"""Largest miss (seconds) accepted for a target length."""


@dataclass
class Fit:
    """The result of fitting a target length."""

    values: dict[str, float]
    script: Script
    timeline: Timeline
    reachable: tuple[float, float]
    """Shortest and longest reachable lengths in seconds."""


def _values(elastics: Mapping[str, Elastic], t: float, only: set[str] | None = None,
            base: Mapping[str, float] | None = None) -> dict[str, float]:
    out = dict(base or {})
    for key, e in elastics.items():
        if only is not None and key not in only:
            continue
        v = e.lo + t * (e.hi - e.lo)
        out[key] = float(round(v / e.grain) * e.grain) if e.grain else round(v, 3)
    return out


def fit_length(
    expand: Callable[[Mapping[str, float]], Script],
    measure: Measure,
    sample_rate: int,
    target_seconds: float,
    chime_length: ChimeLength | None = None,
) -> Fit:
    """Stretch the script's elastic parts so the track lasts ``target_seconds``.

    Every elastic value moves together from its minimum (t=0) to its maximum (t=1);
    a bisection finds t; then the continuous parts alone (pauses and rests) absorb what
    whole seconds and whole cycles could not. Sides stay equal because both sides use
    the same values. Raises :class:`ScheduleError` with the reachable range if the
    target cannot be met within :data:`FIT_LIMIT` seconds.
    """
    base_script = expand({})
    elastics = dict(base_script.elastics)

    def length(values: Mapping[str, float]) -> tuple[float, Script, Timeline]:
        script = expand(values)
        # elastic parts can appear only at some lengths (e.g. inside extra repetitions)
        for key, e in script.elastics.items():
            elastics.setdefault(key, e)
        tl = schedule(script, measure, sample_rate, chime_length)
        return tl.duration, script, tl

    lo_len, lo_script, lo_tl = length(_values(elastics, 0.0))
    hi_len, hi_script, hi_tl = length(_values(elastics, 1.0))
    reachable = (lo_len, hi_len)
    if not elastics:
        reachable = (lo_len, lo_len)
    if target_seconds < lo_len - FIT_LIMIT or target_seconds > hi_len + FIT_LIMIT:
        raise ScheduleError(
            f"a {_mmss(target_seconds)} track is out of reach for '{base_script.title}': "
            f"it can last from {_mmss(lo_len)} to {_mmss(hi_len)}"
        )
    best: tuple[float, dict[str, float], Script, Timeline] = min(
        (abs(lo_len - target_seconds), _values(elastics, 0.0), lo_script, lo_tl),
        (abs(hi_len - target_seconds), _values(elastics, 1.0), hi_script, hi_tl),
        key=lambda b: b[0],
    )
    a, b = 0.0, 1.0
    for _ in range(40):
        if best[0] <= FIT_TOLERANCE / 4:
            break
        mid = (a + b) / 2
        values = _values(elastics, mid)
        got, script, tl = length(values)
        if abs(got - target_seconds) < best[0]:
            best = (abs(got - target_seconds), values, script, tl)
        if got < target_seconds:
            a = mid
        else:
            b = mid
        if b - a < 1e-4:
            break
    continuous = {k for k, e in elastics.items() if e.grain == 0}
    if best[0] > FIT_TOLERANCE / 4 and continuous:
        base = dict(best[1])
        a, b = 0.0, 1.0
        for _ in range(40):
            mid = (a + b) / 2
            values = _values(elastics, mid, continuous, base)
            got, script, tl = length(values)
            if abs(got - target_seconds) < best[0]:
                best = (abs(got - target_seconds), values, script, tl)
            if best[0] <= FIT_TOLERANCE / 4 or b - a < 1e-5:
                break
            if got < target_seconds:
                a = mid
            else:
                b = mid
    if best[0] > FIT_LIMIT:
        raise ScheduleError(
            f"cannot land within {FIT_LIMIT:g} s of {_mmss(target_seconds)} for "
            f"'{base_script.title}' (closest: {_mmss(best[3].duration)}); its reachable range "
            f"is {_mmss(lo_len)} to {_mmss(hi_len)} in steps set by whole seconds, breaths "
            "and repetitions: give a rest or pause a min/max range to fill the gaps"
        )
    return Fit(best[1], best[2], best[3], reachable)


def _mmss(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


@dataclass
class Fitted:
    """A routine expanded and laid out for one listener's settings."""

    script: Script
    timeline: Timeline
    fit: Fit | None
    """How the elastic parts were set (None when the routine's own lengths were kept)."""


def fit_routine(routine: Routine, settings: TrackSettings, measure: Measure,
                sample_rate: int, chime_length: ChimeLength | None = None,
                script: Script | None = None) -> Fitted:
    """Expand and lay out ``routine`` for ``settings``: fitted to ``settings.minutes`` when
    given, else kept inside the routine's designed length range; the narration is
    rendered with the length it may tell. ``script`` is the plain expansion, if made."""
    spoken = int(round(settings.minutes)) if settings.minutes is not None else None

    def expand_at(values: Mapping[str, float]) -> Script:
        return expand(routine, settings, values, minutes=spoken)

    script = script or expand_at({})
    fit: Fit | None = None
    if settings.minutes is not None:
        fit = fit_length(expand_at, measure, sample_rate, settings.minutes * 60, chime_length)
        return Fitted(fit.script, fit.timeline, fit)
    timeline = schedule(script, measure, sample_rate, chime_length)
    designed = routine.spec.length
    if designed is not None and script.elastics:
        # keep the track inside the routine's designed length range
        low, high = designed.min * 60, designed.max * 60
        if not low <= timeline.duration <= high:
            goal = min(max(timeline.duration, low), high)
            fit = fit_length(expand_at, measure, sample_rate, goal, chime_length)
            script, timeline = fit.script, fit.timeline
    minutes = max(1, int(round(timeline.duration / 60)))
    # the narration may say the length ("about 12 minutes"): render it once more
    told = expand(routine, settings, fit.values if fit else {}, minutes=minutes)
    if walk_speech(told.root) != walk_speech(script.root):
        script = told
        timeline = schedule(script, measure, sample_rate, chime_length)
    return Fitted(script, timeline, fit)
