"""Where a hold's interval cues fall: at the hold's length, at the shortest ``--minutes``
may fit it to, and whether a halfway cue leaves the quiet it needs.

A cue anchored ``at`` a second from the start or ``remaining`` seconds before the end
must fall inside the hold, and out of its countdown, at every length the hold may be
fitted to: where it would not, the routine is refused with the fix. A halfway cue that
would leave less than :data:`HALFWAY_ROOM` before the countdown, or the end, is left
out: a short hold is held in quiet rather than said "Halfway." and "three, two, one" one
on top of the other.
"""

from __future__ import annotations

from typing import Final

from voiceguide.routine.steps import HoldCue, HoldSpec
from voiceguide.script.context import Ctx
from voiceguide.script.items import whole_steps

HALFWAY_ROOM: Final = 3.0
"""Seconds a halfway cue needs before the countdown or the hold's end (a listening audit: a
10 s hold counting down from 3 said "Já passou da metade." sped up to fit, 0.4 s before
"três, dois, um")."""


def _halfway_heard(cues: list[tuple[float, HoldCue, Ctx]], until: float
                  ) -> list[tuple[float, HoldCue, Ctx]]:
    """The interval cues of a hold, ``(offset, cue, context)``, that are said: a halfway
    cue only where :data:`HALFWAY_ROOM` is left before ``until`` (where the countdown
    starts, or the hold ends). Two cues close together are the routine's to mend, as
    they were written (see :mod:`voiceguide.script.timed`)."""
    return [(at, cue, cc) for at, cue, cc in cues
            if not cue.halfway or until - at >= HALFWAY_ROOM]


def _offset(cue: HoldCue, seconds: float) -> float:
    if cue.halfway:
        return seconds / 2
    if cue.at is not None:
        return cue.at
    assert cue.remaining is not None
    return seconds - cue.remaining


def _past_shortest(cc: Ctx, cue: HoldCue, shortest: float, spec: HoldSpec) -> str:
    """The problem of a cue that falls outside its hold once ``--minutes`` fits the hold
    to its ``min`` (it stopped every --minutes of the routine, each with this error)."""
    held = _held(shortest, spec)
    if cue.at is not None:
        return (f"{cc.where('at')}: this cue falls at {cue.at:g} s, past the end of the "
                f"hold at its shortest ({held}), so --minutes could not "
                f"shorten the hold; raise min above {cue.at:g} or anchor the cue to the "
                "end with 'remaining:'")
    return (f"{cc.where('remaining')}: this cue falls {cue.remaining:g} s before the end, "
            f"before the start of the hold at its shortest ({held}), so "
            f"--minutes could not shorten the hold; raise min to {cue.remaining:g} or more, or "
            "anchor the cue to the start with 'at:'")


def _at_min(shortest: float, spec: HoldSpec) -> str:
    return " (its min)" if shortest == spec.min else " (at its shortest)"


def _held(shortest: float, spec: HoldSpec) -> str:
    return f"{shortest:g} s{', its min' if shortest == spec.min else ''}"


def _shortest(spec: HoldSpec) -> float | None:
    """The shortest a hold is fitted to (None: it is not): its ``min``, up to a whole
    number of its grain (a breath-paced hold of 15-60 s in 10 s breaths is 20 s at its
    shortest, and a cue at 17 s in it was refused as past the end of a 15 s hold)."""
    if spec.elastic is None:
        return None
    grain = hold_grain(spec)
    steps = whole_steps(*spec.elastic, grain)
    return steps[0] * grain if steps else spec.elastic[0]


def _counted_at_min(cc: Ctx, spec: HoldSpec, cue: HoldCue, shortest: float,
                    seconds: float) -> str:
    """The problem of a cue in a breath-paced hold that falls inside its countdown once
    ``--minutes`` fits the hold to its ``min`` (as :func:`_past_shortest`: ``at: 17`` in a
    hold of 20-60 s counting down from 5 validated, and every --minutes stopped with
    "inside the countdown that ends the hold"); empty where it does not, or where it
    does at ``seconds`` too (said as the hold is laid out)."""
    until = shortest - spec.countdown
    at = _offset(cue, shortest)
    if cue.halfway and until - at < HALFWAY_ROOM:  # left out at that length (an attack:
        return ""  # "move the cue earlier", which a halfway cue cannot be)
    if spec.breath is None or not spec.countdown or at < until - 1e-9 or \
            spec.breath.inhale / 2 > until + 1e-9 or \
            _offset(cue, seconds) >= seconds - spec.countdown - 1e-9:
        return ""
    above = cue.at + spec.countdown if cue.at is not None else 2 * spec.countdown
    held = _held(shortest, spec)
    return (f"{cc.where()}: this cue falls at {at:g} s of the hold at its shortest "
            f"({held}), inside the countdown that ends it, so --minutes could not shorten "
            f"the hold; raise min above {above:g}, move the cue earlier or drop the "
            "countdown")


def hold_grain(spec: HoldSpec) -> float:
    """The steps a fitted hold moves in: whole seconds, and for a breath-paced hold whole
    breaths (where its range holds a whole number of them), so that it ends after an
    out-breath, not partway through a breath."""
    elastic = spec.elastic
    if spec.breath is None or elastic is None:
        return 1.0
    period = spec.breath.period
    return period if whole_steps(*elastic, period) else 1.0


def placed(c: Ctx, spec: HoldSpec, seconds: float) -> list[tuple[float, HoldCue, Ctx]]:
    """The interval cues of a hold of ``seconds`` (context ``c``) that are said, as
    ``(offset, cue, context)``; a cue that falls outside the hold or in its countdown at
    this length or at its shortest, and a countdown longer than the shortest hold, are
    added to the run's problems."""
    intervals: list[tuple[float, HoldCue, Ctx]] = []
    fitted = _shortest(spec)
    for i, cue in enumerate(spec.cues):
        cc = c.at("cues", i)
        offset = _offset(cue, seconds)
        if not 0 <= offset < seconds:
            c.run.problems.append(
                f"{cc.where()}: this cue falls at {offset:g} s, outside the {seconds:g} s hold"
            )
            continue
        if fitted is not None and not 0 <= _offset(cue, fitted) < fitted:
            c.run.problems.append(_past_shortest(cc, cue, fitted, spec))
            continue
        if fitted is not None and (counted := _counted_at_min(cc, spec, cue, fitted, seconds)):
            c.run.problems.append(counted)
            continue
        intervals.append((offset, cue, cc))
    # when fitted: a breath-paced hold of 15-60 s in 10 s breaths is 20 s at its shortest
    shortest = min(seconds, fitted) if fitted is not None else seconds
    if spec.countdown > shortest:  # its first numbers were dropped without a word
        at_min = fitted is not None and seconds >= spec.countdown  # when fitted short
        c.run.problems.append(
            f"{c.where('countdown')}: a countdown from {spec.countdown} does not fit a "
            f"{shortest:g} s hold{_at_min(shortest, spec) if at_min else ''}; "
            + (f"count from {int(shortest)} or less" if shortest >= 1 else "drop it")
            + (f", or raise min to {spec.countdown}" if at_min else
               f", or make the hold at least {spec.countdown} s"))
    return _halfway_heard(intervals, seconds - spec.countdown)
