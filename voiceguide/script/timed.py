"""Timed steps: holds (with interval cues and breath pacing), paced breathing, repetitions.

Breath is the clock. In a breath-paced hold every phase boundary gets its breath cue,
through to the end of the hold (a last phase that the release would cut to less than
half gets none); an interval cue ("Halfway.") that falls inside a phase is spoken
together with that phase's breath cue, at its boundary ("Halfway. Breathe in."), and its
``remaining`` is counted from there. Two interval cues in one phase cannot both be said
there: that is an error naming both. A countdown takes over from the breath for its last
seconds: an interval cue inside the count is an error too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from voiceguide.routine.steps import (
    Breath,
    Breathe,
    BreathWords,
    Hold,
    HoldCue,
    Repeat,
)
from voiceguide.script.context import Ctx, count, say, span
from voiceguide.script.holdcues import hold_grain, placed
from voiceguide.script.items import (
    DEFAULT_GAP,
    Item,
    Slot,
    SlotCue,
    Speech,
    estimate_speech_seconds,
)
from voiceguide.script.speakable import eyes_said, number_words

TIGHT: Final = 0.6
"""Share of a phase that a wording estimated to take it may be hurried in: its shorter
ones are made ready (see :func:`shorter`)."""
ROTATE_SHARE: Final = 0.8
"""A breath wording rotated to takes at most this share of its phase, by an estimate that
is on the long side (at the track's rate); the first wording is always said (a
repetition's are measured: :data:`~voiceguide.script.items.ROOMY_SHARE`)."""
EACH_GAP: Final = 0.4
"""Seconds between a repetition's words ("Round two.") and its first phase."""
FREE_GAP: Final = 2.0
"""Seconds after the words that end a breathing step's silent cycles ("And let the breath
find its own pace again."): a breath before what follows."""


@dataclass(frozen=True)
class _Boundary:
    offset: float
    seconds: float
    text: str


def _phases(breath: Breath, words: BreathWords | None
            ) -> list[tuple[str, float, str, str | Sequence[str] | None, str]]:
    """(phase name, seconds, field, the routine's words or None, the phrase said without
    them) for each phase of one breath cycle."""
    return [
        ("in", breath.inhale, "in", words.inhale if words else None, "breathe_in"),
        ("hold", breath.hold, "hold", words.hold if words else None, "breathe_hold"),
        ("out", breath.exhale, "out", words.exhale if words else None, "breathe_out"),
        ("hold_out", breath.hold_out, "hold_out", words.hold_out if words else None,
         "breathe_rest"),
    ]


def breath_wordings(ctx: Ctx, breath: Breath, words: BreathWords | None,
                    loc: tuple[str | int, ...]) -> list[tuple[str, float, list[str]]]:
    """Of each phase of one breath: its name, seconds, and the wordings said breath by
    breath, rendered: the first (full) one, then each other one that fits the phase at
    the track's rate by estimate (a review: "And out, all the way." in a 2 s out-breath
    failed at --rate 100 where "Breathe out." had fitted). Holds and breathing steps
    both rotate through them from the first."""
    out: list[tuple[str, float, list[str]]] = []
    rate = ctx.run.settings.rate
    for name, seconds, field_, text, phrase in _phases(breath, words):
        if seconds <= 0:
            continue
        if seconds > (BREATH_HELD if name.startswith("hold") else BREATH_PHASE) and (
                note := _unbreathable(ctx.at(*loc[:-1]), name, field_, seconds)) \
                not in ctx.narrator.notes:
            ctx.narrator.notes.append(note)
        given = text if text is not None else ctx.narrator.phrases.get(phrase, "")
        sources = [given] if isinstance(given, str) else list(given)
        said = [say(ctx.at(*loc), source, field_ if text is not None else "say",
                    seconds=seconds, phase=name) for source in sources]
        out.append((name, seconds, [said[0], *(w for w in said[1:] if estimate_speech_seconds(
            w, rate) <= ROTATE_SHARE * seconds)]))
    return out


BREATH_PHASE: Final = 15.0
"""Seconds of an in- or out-breath past which it is warned of (a review: ``in: 40``, a
typo of 4, passed)."""
BREATH_HELD: Final = 10.0
"""Seconds of a breath held (in or out) past which it is warned of (a review: a breath
held 30 s, four times, in a beginner's routine)."""


def _unbreathable(c: Ctx, name: str, field_: str, seconds: float) -> str:
    return f"{c.where(field_)}: " + (
        f"the breath is held {seconds:g} s, longer than a listener with closed eyes holds "
        f"it calmly (it can make one dizzy); keep it to {BREATH_HELD:g} s or less (such as "
        "4), or leave it out" if name.startswith("hold") else
        f"breathing {name} for {seconds:g} s is far slower than a calm breath (4 to 8 s "
        "each way), which a listener cannot follow; write each phase's seconds, such as "
        "in: 4, out: 6")


def shorter(text: str, wordings: Sequence[str]) -> tuple[str, ...]:
    """The wordings shorter than ``text``, longest first: what a slot says where ``text``
    would be hurried (a listening audit: at --rate 100, "Breathe in, and lift your head
    and top foot." was sped up 1.2x and filled 89% of its in-breath)."""
    return tuple(sorted({w for w in wordings if w and len(w) < len(text)},
                        key=lambda w: (-len(w), w)))  # the same order in every process


def _wordings(ctx: Ctx, text: str | Sequence[str], chosen: str, **extra: float) -> list[str]:
    """Every other wording of ``text`` rendered as this occurrence would say it (none for
    a single wording, or where ``chosen`` tells the eyes to open or close: a shorter one
    must not drop that), leaving the rotations of shared phrases, what the eyes were told
    and the problems found as they were: one that fails to render is not offered (the
    attack on the first version: an unsaid wording's unknown phrase stopped a build)."""
    if isinstance(text, str) or len(text) < 2 or eyes_said(chosen, ctx.run.language):
        return []
    run, narrator = ctx.run, ctx.narrator
    eyes, problems, counters = run.eyes, len(run.problems), dict(narrator.counters)
    try:
        return [w for w in (say(ctx, wording, "say", **extra) for wording in text)
                if len(run.problems) == problems]
    finally:  # the counters in place: narrators with more phrases share them
        run.eyes = eyes
        narrator.counters.clear()
        narrator.counters.update(counters)
        del run.problems[problems:]


SHORT_HOLD: Final = 5.0
"""A hold written shorter (and its max under twice this) is taken for one written in
minutes, and said so."""
HOLD_SETTLE: Final = 2.0
"""Seconds between a hold's opening words and its clock: "let your chest rest forward"
then "Breathe in" at once left no time to get there (NARRATION.md: a 30-second hold is
30 seconds of holding, after the words that start it, and 0.8-1.5 s or more after an
instruction that asks for a movement)."""


def hold(ctx: Ctx, step: Hold, items: list[Item]) -> None:
    """A hold: opening words, the timed hold with its cues, release words at its end."""
    spec = step.hold
    c = ctx.at("hold")
    seconds = span(c, spec, "seconds", "hold", hold_grain(spec))
    where = c.where("seconds")
    said = any(note.startswith(f"{where}: a hold ") for note in c.narrator.notes)
    written = spec.seconds if spec.seconds is not None else seconds
    if not said and written < SHORT_HOLD and (spec.max or 0) < SHORT_HOLD * 2:
        # a coach's 'seconds: 1.5, min: 1, max: 2' meant minutes: said as the routine's
        # length out of its range, then twice as a hold shorter than a breath
        said = True
        c.narrator.notes.append(
            f"{where}: a hold of {written:g} s is over before the listener is in it: its "
            f"numbers are seconds (for {written:g} minutes, write {written * 60:g}, with "
            "min and max in seconds too)")
    if spec.breath is not None and not said:  # (said once: the fitter tries many lengths)
        period = spec.breath.period
        breaths = seconds / period
        if abs(breaths - round(breaths)) > 1e-9:  # under one breath: a new user's review
            # heard "Halfway. Breathe in." at 0 s of 6 s in 10 s breaths, and no out-breath
            pair = [math.floor(breaths) * period, math.ceil(breaths) * period]
            whole = [w for w in pair if (spec.min or 0) <= w <= (spec.max or w)] or pair
            c.narrator.notes.append(
                f"{where}: a hold paced by the breath lasts {seconds:g} s, " + (
                    f"less than one {period:g}-second breath: it is let go before the "
                    f"breath is out, its cues said with the in-breath; make it {period:g} (one "
                    f"breath) or more{' (and max)' * ((spec.max or period) < period)}, or "
                    "leave out 'breath:'" if breaths < 1 else
                    f"which is not a whole number of {period:g}-second breaths: it is let "
                    "go partway through one; make it " + " or ".join(f"{w:g}" for w in whole)))
    if spec.say is not None:
        items.append(Speech(say(c, spec.say, "say", seconds=seconds, remaining=seconds), 0.0,
                            c.where("say")))
        # the opening words mostly ask for the position: time to get into it before the
        # hold's clock starts (so nothing is said on top of them either)
        items.append(Slot(HOLD_SETTLE, "pause", "settle into the hold", c.where("say")))
    intervals = placed(c, spec, seconds)
    cues: list[SlotCue] = []
    count_from = seconds - spec.countdown
    if spec.breath is not None:
        cues += _paced(c, spec.breath, seconds, count_from if spec.countdown else seconds,
                       intervals)
    else:
        for offset, cue, cc in intervals:
            cues.append(SlotCue(offset, say(cc, cue.say, "say", seconds=seconds,
                                            remaining=round(seconds - offset)),
                                cc.where("say")))
    for k in range(spec.countdown, 0, -1):
        if seconds - k >= 0:
            cues.append(SlotCue(seconds - k, number_words(k, ctx.run.language),
                                c.where("countdown"), "count"))
    cues.sort(key=lambda q: q.offset)
    items.append(Slot(seconds, "hold", "hold", c.where("seconds"), tuple(cues)))
    release = spec.release if spec.release is not None else "{{ phrase('release') }}"
    items.append(Speech(say(c, release, "release", seconds=seconds, remaining=0), DEFAULT_GAP,
                        c.where("release")))


def _paced(c: Ctx, breath: Breath, seconds: float, until: float,
           intervals: list[tuple[float, HoldCue, Ctx]]) -> list[SlotCue]:
    """Breath cues on every phase boundary of a hold, interval cues merged into the phase
    they fall in (see the module docstring)."""
    bounds: list[_Boundary] = []
    t = 0.0
    # each breath its own words: the wordings rotate breath by breath (NARRATION: variety,
    # so the voice does not sound like a loop; a listening audit heard "Breathe in."
    # "Breathe out." five times over in one hold), from the first in every hold
    rotation = breath_wordings(c, breath, breath.say, ("breath", "say"))
    k = 0
    while rotation:
        for _name, phase_seconds, wordings in rotation:
            if t + phase_seconds / 2 > until + 1e-9:
                break
            bounds.append(_Boundary(t, phase_seconds, wordings[k % len(wordings)]))
            t += phase_seconds
        else:
            k += 1
            continue
        break
    merged: dict[int, tuple[str, Ctx]] = {}
    texts = [b.text for b in bounds]
    alone: list[SlotCue] = []
    for offset, cue, cc in intervals:
        if not bounds:  # too short a hold for a breath cue: the cue is said on its own
            alone.append(SlotCue(offset, say(cc, cue.say, "say", seconds=seconds,
                                             remaining=round(seconds - offset)),
                                 cc.where("say")))
            continue
        if offset >= until - 1e-9:
            c.run.problems.append(f"{cc.where()}: this cue falls at {offset:g} s, inside the "
                                  "countdown that ends the hold; move it earlier or drop the "
                                  "countdown")
            continue
        j = max(k for k, b in enumerate(bounds) if b.offset <= offset + 1e-9) \
            if offset >= bounds[0].offset else 0
        if j in merged:
            c.run.problems.append(
                f"{cc.where()}: this cue and the one at {merged[j][1].where()} fall in the "
                f"same breath phase ({bounds[j].offset:g}-{bounds[j].offset + bounds[j].seconds:g}"
                " s) and cannot both be said with its breath cue; move one of them")
            continue
        words = say(cc, cue.say, "say", seconds=seconds,
                    remaining=round(seconds - bounds[j].offset))
        merged[j] = (words, cc)
        texts[j] = f"{words} {texts[j]}"
    return alone + [SlotCue(b.offset, text, c.where("breath"))
                    for b, text in zip(bounds, texts, strict=True)]


def breathe(ctx: Ctx, step: Breathe, items: list[Item]) -> None:
    """Paced breathing: each phase a slot with its cue on the boundary."""
    spec = step.breathe
    c = ctx.at("breathe")
    cycles = count(c, spec.cycles, spec.min_cycles, spec.max_cycles, "cycles", "breath cycles")
    guided = cycles if spec.guided is None else min(spec.guided, cycles)
    for n in range(cycles):
        cc = c.with_vars(cycle=n + 1, cycles=cycles)
        words = breath_wordings(cc, spec, spec.say, ("say",)) if n < guided else [
            (name, seconds, [""]) for name, seconds, *_ in _phases(spec, spec.say)
            if seconds > 0]  # a silent cycle says nothing (its first, the handover)
        for k, (name, seconds, wordings) in enumerate(words):
            text = wordings[n % len(wordings)]
            where = c.where("say")
            if n == guided and k == 0:  # the rhythm handed over as it goes on alone, on
                # its clock: "Breathe in, on your own." (a listening audit: the words
                # that handed it over had taken the place of the in-breath's cue)
                key = "breathe_alone" if name == "in" else "breathe_alone_any"
                text, where = say(cc, "{{ phrase('" + key + "') }}", "guided"), c.where(
                    "guided")
            cues = (SlotCue(0.0, text, where, shorter=shorter(text, wordings)),) \
                if n < guided or (n, k) == (guided, 0) else ()
            items.append(Slot(seconds, "breath", f"breath {name}", c.where(), cues,
                              phase=name))
    if guided < cycles:  # the silent cycles end in words, not in the next step's, and a
        # breath before them (a listening audit: the next exercise 0.8 s after, 53 s quiet)
        items.append(Speech(say(c, "{{ phrase('breathe_free') }}", "guided"), FREE_GAP,
                            c.where("guided")))


def repeat(ctx: Ctx, step: Repeat, items: list[Item]) -> None:
    """Repetitions: every phase cue starts exactly on its phase boundary."""
    spec = step.repeat
    c = ctx.at("repeat")
    reps = count(c, spec.count, spec.min, spec.max, "count", "repetitions")
    rest = span(c, spec.rest, "rest", "rest between repetitions", 0.0) if spec.rest else 0.0
    for rep in range(1, reps + 1):
        extra = {"rep": rep, "reps": reps, "remaining": reps - rep}
        if spec.each is not None:
            items.append(Speech(say(c, spec.each, "each", **extra), EACH_GAP, c.where("each")))
        for i, phase in enumerate(spec.phases):
            pc = c.at("phases", i)
            seconds = round(phase.seconds * spec.tempo, 3)
            text = say(pc, phase.say, "say", seconds=seconds, **extra)
            # the others only where this one may be hurried (rendered on every fit's try)
            tight = estimate_speech_seconds(text, c.run.settings.rate) > TIGHT * seconds
            others = _wordings(pc, phase.say, text, seconds=seconds, **extra) if tight else []
            items.append(Slot(seconds, "phase", phase.breath or f"phase {i + 1}", pc.where(),
                              (SlotCue(0.0, text, pc.where("say"), shorter=shorter(text, others),
                                       later=rep > 1),),
                              phase=phase.breath, rep=rep))
        if rest > 0 and rep < reps:
            items.append(Slot(rest, "rest", "rest between repetitions", c.where("rest")))
