"""Length fitting: stretch what a routine marks elastic so a track lasts a target length.

The stage above script and timeline: it expands the routine (``script.expand``) with
trial values and lays each trial out (``timeline.schedule``) with the measured speech
lengths it is given. Elastic parts are of two kinds: whole steps (repetitions, breath
cycles, whole-second holds) and continuous ones (pauses and rests). All move together
from their minimum through the value the routine gives them to their maximum, so a
longer track stretches everything a little and a length near the routine's own keeps it
nearly as written; then, with the whole steps settled, the continuous parts take up what
is left. Where whole steps leave a gap the continuous parts cannot bridge, the
neighbouring settings of the whole steps are tried. Sides stay equal: both use the same
values. A target a little beyond what the routine can last is built at the nearest. A
setting that cannot be laid out (a phrase too long for its slot: a slow voice in a short
hold) is out of reach, as one too long is: the lengths are those of the settings that can.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from voiceguide.errors import PhraseTooLong, ScheduleError
from voiceguide.lengths import (
    NEAR_REACH,
    missed,
    out_of_reach,
    span_text,
    unbuildable,
)
from voiceguide.script.context import TooBig
from voiceguide.script.items import Elastic, Script, whole_steps
from voiceguide.timeline import (
    MAX_TRACK_SECONDS,
    ChimeLength,
    Measure,
    Timeline,
    schedule,
)

TOO_LONG: Final = 2.0 * MAX_TRACK_SECONDS
"""Seconds a fit takes a setting to last whose expansion passes a size limit (longer than
any track may be; a routine that does at its longest can last as long as a track may).
One that cannot be laid out lasts this long where it is longer in every part than one that
can, else minus this long (too short)."""
FIT_TOLERANCE: Final = 1.0
"""How close (seconds) the fitter aims to land on a target length."""
FIT_LIMIT: Final = 2.0
"""Largest miss (seconds) that still counts as the target."""
JUMP_GRID: Final = 1024
"""Positions per unit where the fitter looks for jumps of the whole steps' setting."""
FEW_JUMPS: Final = 3
"""Jumps a bracket may hold for the fitter to try the sides of one rather than cut it."""
WHOLE_RESOLUTION: Final = 1 / JUMP_GRID
"""Narrowest bracket of positions searched with the whole steps moving."""
PAUSE_RESOLUTION: Final = 1e-4
"""Narrowest bracket of positions searched for the pauses and rests alone."""
TAIL_GIVE: Final = FIT_LIMIT
"""Seconds the closing silence grows or shrinks by (from 3 s): a track lasts the minutes
asked to the sample."""
NEIGHBOURS: Final = 6
"""Settings of the whole steps tried on each side when the balanced one leaves a gap."""

Values = dict[str, float]


@dataclass
class Fit:
    """The result of fitting a target length."""

    values: Values
    script: Script
    timeline: Timeline
    reachable: tuple[float, float]
    """Shortest and longest reachable lengths in seconds."""
    target: float
    """The length asked for (seconds)."""
    missed: str = ""  # why the nearest length was built instead (empty: the target)
    told: Callable[[tuple[float, float]], tuple[float, float]] | None = field(
        default=None, repr=False, compare=False)
    """Makes :attr:`can_last` of the ends as a build asking for each tells its length
    (see :func:`~voiceguide.fitted.told_range`; None: as fitted)."""

    @property
    def can_last(self) -> tuple[float, float]:
        """Shortest and longest lengths (s) --minutes can ask for, the closing silence's
        :data:`FIT_LIMIT` either way included: where the narration says the length, each
        end as told by a build asking for it (worked out when asked: ``show``)."""
        ends = self.reachable[0] - FIT_LIMIT, self.reachable[1] + FIT_LIMIT
        return ends if self.told is None else self.told(ends)


def can_last(expand_at: Callable[[Mapping[str, float]], Script], measure: Measure,
             sample_rate: int, chime_length: ChimeLength | None, longest: bool) -> float:
    """The shortest (``longest``: the longest) length (s) --minutes can ask for of the
    routine that ``expand_at`` expands (with the narration it gives), as that end of
    :attr:`Fit.can_last`; the other end is not worked out."""
    _, seconds = _end(_Fitter(expand_at, measure, sample_rate, chime_length), longest)
    return seconds + FIT_LIMIT if longest else seconds - FIT_LIMIT


def _setting(lo: float, hi: float, default: float, grain: float, t: float) -> float:
    """An elastic part's value at position ``t``: its minimum at 0, the value the routine
    gives it at 0.5 and its maximum at 1, in a straight line between them; a whole
    number of ``grain`` steps inside ``lo..hi`` (where there is one), or (no grain) to the
    millisecond. Every part is as written at the same position, so a target near the
    routine's own length keeps it nearly as written (a line from minimum to maximum took
    a 13:02 routine to 13:00 by setting one part near its minimum, one above as written)."""
    default = min(max(default, lo), hi)
    v = lo + 2 * t * (default - lo) if t <= 0.5 else default + (2 * t - 1) * (hi - default)
    steps = whole_steps(lo, hi, grain) if grain else range(0)
    if not steps:
        return round(v, 3)
    return float(min(max(round(v / grain), steps[0]), steps[-1]) * grain)


class _Fitter:
    def __init__(self, expand_at: Callable[[Mapping[str, float]], Script], measure: Measure,
                 sample_rate: int, chime_length: ChimeLength | None) -> None:
        self.expand_at = expand_at
        self.measure = measure
        self.sr = sample_rate
        self.chime_length = chime_length
        self.base = expand_at({})
        self.elastics: dict[str, Elastic] = dict(self.base.elastics)
        self.tried: dict[tuple[tuple[str, float], ...],
                         tuple[float, tuple[Script, Timeline] | TooBig | PhraseTooLong]] = {}
        self.anchor: Values | None = None
        """A setting that lays out (None: the routine's own), to tell the side of one that
        does not: longer in every part is too long, any other too short."""
        self.limits: dict[str, str] = {}
        """Why no shorter (``shorter``) or longer (``longer``) setting lays out."""
        self.together: set[float] = set()
        """Positions laid out with every elastic part moving together."""
        self._whole: dict[tuple[int, float], tuple[tuple[str, float], ...]] = {}
        self._settings: dict[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]] = {}

    def values(self, whole: float, cont: float) -> Values:
        """Every elastic value at position ``whole`` (whole steps) and ``cont`` (pauses and
        rests) between its minimum (0) and maximum (1)."""
        return {key: _setting(e.lo, e.hi, e.default, e.grain, whole if e.grain else cont)
                for key, e in self.elastics.items()}

    def length(self, values: Values) -> float:
        """Seconds the routine lasts at ``values``; :data:`TOO_LONG` where its expansion
        passes a size limit (an attack: two nested repeats of up to 100 passed the 4-hour
        estimate at their longest, and every --minutes failed)."""
        key = tuple(sorted(values.items()))
        if key not in self.tried:
            try:
                script = self.expand_at(values)
            except TooBig as exc:
                self.tried[key] = (TOO_LONG, exc)
                return TOO_LONG
            # elastic parts can appear only at some lengths (inside extra repetitions)
            for k, e in script.elastics.items():
                self.elastics.setdefault(k, e)
            try:
                # unbounded: a routine that can outlast the 3-hour limit at its longest
                # still fits the lengths under it (what is built is checked in fit_routine)
                tl = schedule(script, self.measure, self.sr, self.chime_length, bounded=False)
            except PhraseTooLong as exc:  # its side is told when asked (see ``anchor``)
                self.tried[key] = (math.nan, exc)
            else:
                self.tried[key] = (tl.duration, (script, tl))
        seconds, got = self.tried[key]
        if isinstance(got, PhraseTooLong):
            anchor = self.anchor or self.values(0.5, 0.5)
            longer = values != anchor and all(values.get(k, v) >= v for k, v in anchor.items())
            return TOO_LONG if longer else -TOO_LONG
        return seconds

    def _outcome(self, values: Values) -> tuple[Script, Timeline] | TooBig | PhraseTooLong:
        """What laying out ``values`` gave (tried once: see :meth:`length`)."""
        self.length(values)
        return self.tried[tuple(sorted(values.items()))][1]

    def laid(self, values: Values) -> tuple[Script, Timeline]:
        """The script and timeline at ``values`` (or the error that stopped them)."""
        got = self._outcome(values)
        if isinstance(got, (TooBig, PhraseTooLong)):
            raise got
        return got

    def fails(self, values: Values) -> PhraseTooLong | None:
        """Why ``values`` cannot be laid out (None: they can)."""
        got = self._outcome(values)
        return got if isinstance(got, PhraseTooLong) else None

    def together_at(self, t: float) -> tuple[float, PhraseTooLong | None]:
        """Seconds everything at position ``t`` lasts, and why it cannot be laid out (None:
        it can)."""
        values = self.values(t, t)
        return self.length(values), self.fails(values)

    def end(self, at: float) -> tuple[float, float]:
        """Position (everything moving together) and seconds of the setting nearest ``at``
        (0: the shortest, 1: the longest) that can be laid out: the one at ``at``, or next
        to where a phrase stops fitting (:attr:`limits` says which), found by halving from
        a setting that fits: the routine's own, its longest or its shortest (none: the
        own one's error)."""
        seconds, why = self.together_at(at)
        if why is None:
            return at, seconds
        fits = [t for t in (0.5, 1.0, 0.0) if self.together_at(t)[1] is None]
        if not fits:
            self.laid(self.values(0.5, 0.5))  # raises what the routine's own setting says
        self.anchor = self.values(fits[0], fits[0])
        return self.edge(at, fits[0], "longer" if at else "shorter")

    def edge(self, end: float, good: float, side: str) -> tuple[float, float]:
        """Position and seconds of the setting nearest ``end`` that lays out: the whole
        steps' found by halving from ``good`` (one that does) to :data:`WHOLE_RESOLUTION`,
        the pauses and rests at ``end`` where they lay out with them (as a fit of a
        length past the position's own sets them); why the next setting of the whole
        steps does not lay out goes to :attr:`limits`."""
        bad, (seconds, why) = end, self.together_at(end)
        if why is None:
            return end, seconds
        while abs(good - bad) > WHOLE_RESOLUTION:
            mid = (bad + good) / 2
            why_mid = self.together_at(mid)[1]
            if why_mid is None:
                good = mid
            else:
                bad, why = mid, why_mid
        self.limits[side] = why.problem
        furthest = self.values(good, end)
        return good, self.length(furthest if self.fails(furthest) is None
                                 else self.values(good, good))

    def whole_at(self, whole: float) -> tuple[tuple[str, float], ...]:
        """The whole steps' setting at ``whole`` (the items of ``values(whole, any)`` with a
        grain, by key), once per position (the jump search asks at the same ones again)."""
        key = (len(self.elastics), whole)  # (elastic parts can appear as the fit goes)
        if (got := self._whole.get(key)) is None:  # one tuple per setting, shared (an
            got = tuple(sorted((k, _setting(e.lo, e.hi, e.default, e.grain, whole))
                               for k, e in self.elastics.items() if e.grain))
            got = self._whole[key] = self._settings.setdefault(got, got)  # hour has 40)
        return got

    def jumps(self, whole_of: Callable[[float], float], a: float, b: float
              ) -> list[tuple[float, float]]:
        """Where the whole steps' setting changes between ``a`` and ``b`` (positions
        whose whole steps are at ``whole_of(position)``), found on a grid, nothing laid
        out: pairs of the last position with the old setting and the first with the new."""
        out: list[tuple[float, float]] = []
        grid = [i / JUMP_GRID for i in range(math.floor(a * JUMP_GRID) + 1,
                                             math.ceil(b * JUMP_GRID))]
        last, prev = a, self.whole_at(whole_of(a))
        for t in [*grid, b]:
            now = self.whole_at(whole_of(t))
            if now != prev:
                out.append((last, t))
                prev = now
            last = t
        return out

    def search(self, target: float, at: Callable[[float], Values], resolution: float,
               a: float = 0.0, b: float = 1.0, laid: set[float] | None = None,
               whole_of: Callable[[float], float] = float) -> tuple[float, Values]:
        """The position in [a, b] whose length is closest to ``target`` (length grows
        with it); the positions laid out are added to ``laid``. ``at(position)`` has its
        whole steps at ``whole_of(position)``.

        Between jumps of the whole steps, length is close to linear in the position
        (pauses stretch linearly), so regula falsi (Illinois) lands in a layout or two.
        A bracket holding a few jumps lays out both sides of the one nearest the guess:
        the target is on one side of it, or in the gap (the nearer side is the answer).
        A step that does not halve the bracket is followed by a halving, so the search
        is never much slower than bisection."""
        best = (math.inf, a)

        def trial(t: float) -> float:
            nonlocal best
            got = self.length(at(t)) - target
            best = min(best, (abs(got), t))
            if laid is not None:
                laid.add(t)
            return got

        fa, fb = trial(a), trial(b)
        side, halve = 0, False
        while best[0] > FIT_TOLERANCE / 4 and b - a >= resolution and fa < 0 < fb:
            width = b - a
            guess = (a + b) / 2 if halve else (a * fb - b * fa) / (fb - fa)
            jumps = self.jumps(whole_of, a, b)
            if 0 < len(jumps) <= FEW_JUMPS:
                lo, hi = min(jumps, key=lambda j: abs(j[1] - guess))
                f_lo, f_hi = trial(lo), trial(hi)
                if f_lo >= 0:
                    b, fb = lo, f_lo
                elif f_hi <= 0:
                    a, fa = hi, f_hi
                else:
                    break  # the target falls in the jump: the nearer side is best
                side, halve = 0, False
                continue
            mid = min(max(guess, a + width / 64), b - width / 64)
            got = trial(mid)
            if got < 0:
                a, fa = mid, got
                fb = fb / 2 if side < 0 else fb  # the same end moved twice (Illinois)
                side = -1
            else:
                b, fb = mid, got
                fa = fa / 2 if side > 0 else fa
                side = 1
            halve = b - a > width / 2
        return best[1], at(best[1])

    def continuous(self, target: float, whole: float) -> Values:
        """With the whole steps at ``whole``, pauses and rests set to land on ``target``.

        A position laid out with everything moving together and the same whole steps is
        a point of this search already: the nearest such points either side of the
        target bracket it, so the ends are laid out only when none do."""
        line: Callable[[float], Values] = lambda t: self.values(whole, t)  # noqa: E731
        same = self.whole_at(whole)
        known = sorted(t for t in self.together if self.whole_at(t) == same)
        lengths = {t: self.length(line(t)) for t in known}
        lo = max((t for t in known if lengths[t] <= target), default=None)
        hi = min((t for t in known if lengths[t] >= target), default=None)
        if lo is None:
            if target <= self.length(line(0.0)):
                return line(0.0)
            lo = 0.0
        if hi is None:
            if target >= self.length(line(1.0)):
                return line(1.0)
            hi = 1.0
        return self.search(target, line, PAUSE_RESOLUTION, lo, hi,
                           whole_of=lambda _: whole)[1]

    def neighbours(self, whole: float) -> list[float]:
        """Positions of the settings of the whole steps next to ``whole``, nearest first."""
        grid = [i / 256 for i in range(257)]
        seen: dict[tuple[tuple[str, float], ...], float] = {}
        for t in sorted(grid, key=lambda g: abs(g - whole)):
            seen.setdefault(self.whole_at(t), t)
            if len(seen) > 2 * NEIGHBOURS:
                break
        return list(seen.values())


def _end(f: _Fitter, longest: bool) -> tuple[float, float]:
    """:meth:`_Fitter.end` of the shortest or the ``longest`` setting, the longest no
    longer than a track may be (the shortest's length where nothing is elastic)."""
    at, seconds = f.end(1.0 if longest else 0.0)
    if longest:
        seconds = min(seconds, MAX_TRACK_SECONDS - FIT_LIMIT) if f.elastics else f.end(0.0)[1]
    return at, seconds


def fit_length(expand_at: Callable[[Mapping[str, float]], Script], measure: Measure,
               sample_rate: int, target_seconds: float, chime_length: ChimeLength | None = None,
               *, strict: bool = False, title: str = "", near: float = NEAR_REACH) -> Fit:
    """Stretch the script's elastic parts so the track lasts ``target_seconds``.

    A target beyond the reachable range by more than ``near`` seconds is a ScheduleError
    saying the range and the minutes to ask for; nearer, or in a gap the whole steps leave,
    the nearest reachable length is built (``missed`` says why; ``strict``: an error).
    Reachable are the lengths of settings that can be laid out (at --rate 100, a hold at
    its shortest left "Die Hälfte ist geschafft." 1.44 s of the 1.66 it needs, and that
    one setting's error stopped every --minutes of the routine)."""
    f = _Fitter(expand_at, measure, sample_rate, chime_length)
    title = title or f.base.title
    (low_at, low), (high_at, high) = _end(f, False), _end(f, True)
    # what can be asked for: the closing silence takes up to FIT_LIMIT either way
    shortest, longest = low - FIT_LIMIT, high + FIT_LIMIT
    if not shortest - near <= target_seconds <= longest + near:
        raise out_of_reach(target_seconds, title, shortest, longest, f.limits)
    whole, values = f.search(target_seconds, lambda t: f.values(t, t), WHOLE_RESOLUTION,
                             low_at, high_at, laid=f.together)
    got = f.length(values)
    if abs(got - target_seconds) > FIT_TOLERANCE / 4:
        values = f.continuous(target_seconds, whole)
        got = f.length(values)
    if abs(got - target_seconds) > FIT_TOLERANCE:
        # the balanced setting of the whole steps leaves a gap: try the ones next to it
        for t in f.neighbours(whole):
            candidate = f.continuous(target_seconds, t)
            length = f.length(candidate)
            if abs(length - target_seconds) < abs(got - target_seconds):
                values, got = candidate, length
            if abs(got - target_seconds) <= FIT_TOLERANCE:
                break
    beyond = unbuildable(target_seconds < shortest, f.limits)
    why = "" if abs(got - target_seconds) <= FIT_LIMIT else (
        "its repetitions and breaths come in whole steps" if shortest <= target_seconds
        <= longest else "a little beyond what it can last" + (f"; {beyond}" if beyond else ""))
    if why and strict:
        if not shortest <= target_seconds <= longest:  # beyond, if only a little: the
            # range a length picker takes (an app team's review: 8:30 was a ScheduleError
            # without it, "the nearest is 8:21" where 8:23 builds)
            raise out_of_reach(target_seconds, title, shortest, longest, f.limits)
        raise ScheduleError(missed(target_seconds, title, why, got)
                            + f"; it can last {span_text(shortest, longest)}")
    return Fit(values, *f.laid(values), (low, high), target_seconds, why)
