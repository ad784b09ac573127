"""Expand a routine into a :class:`~voiceguide.script.items.Script` for a listener's
settings, rendering every sentence through the narration sandbox.

Elastic lengths (hold and rest ranges, breath cycles, repetition counts) are looked up
in ``fit`` by id, so the fitting stage can expand the same routine at other lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voiceguide.errors import InvalidInputError, TemplateError
from voiceguide.io.yamldoc import Document, Loc, format_loc
from voiceguide.routine.load import Routine
from voiceguide.routine.steps import (
    Breath,
    Breathe,
    BreathWords,
    Chime,
    ExerciseRef,
    Hold,
    Pause,
    Repeat,
    Rest,
    Say,
    Section,
    Sides,
    Span,
    Step,
)
from voiceguide.script.items import (
    DEFAULT_GAP,
    EXPLICIT_CUE_CLEARANCE,
    LEAD_IN,
    TAIL,
    Elastic,
    Group,
    Item,
    Script,
    SidePair,
    Slot,
    SlotCue,
    Speech,
)
from voiceguide.script.templates import Narrator
from voiceguide.settings import Level, TrackSettings


@dataclass
class _Ctx:
    doc: Document
    loc: Loc
    narrator: Narrator
    variables: dict[str, Any]
    fit: Mapping[str, float]
    elastics: dict[str, Elastic]
    problems: list[str]
    id_prefix: str
    title: str | None = None
    in_sides: bool = False

    def at(self, *parts: str | int) -> _Ctx:
        return _Ctx(
            self.doc,
            (*self.loc, *parts),
            self.narrator,
            self.variables,
            self.fit,
            self.elastics,
            self.problems,
            self.id_prefix,
            self.title,
            self.in_sides,
        )

    def where(self, *parts: str | int) -> str:
        loc = (*self.loc, *parts)
        line, col = self.doc.where(loc)
        return f"{self.doc.path}:{line}:{col}: {format_loc(loc)}"

    def ident(self, *parts: str | int) -> str:
        return self.id_prefix + format_loc((*self.loc, *parts))


def _say(ctx: _Ctx, text: str | Sequence[str], field_: str | int, **extra: Any) -> str:
    variables = {k: v for k, v in {**ctx.variables, **extra}.items() if not k.startswith("__")}
    key = ctx.ident(field_) + (f"@{variables['side']}" if variables.get("side") else "")
    try:
        return ctx.narrator.render(text, variables, key, lambda: ctx.where(field_))
    except TemplateError as exc:
        ctx.problems.append(str(exc))
        return ""


def _span(ctx: _Ctx, span: Span, field_: str, label: str, grain: float) -> float:
    ident = ctx.ident(field_)
    if span.elastic is not None:
        lo, hi = span.elastic
        ctx.elastics[ident] = Elastic(ident, "seconds", lo, hi, span.default, grain, label)
        if ident in ctx.fit:
            return ctx.fit[ident]
    return span.default


def _count(ctx: _Ctx, default: int, lo: int | None, hi: int | None, field_: str, label: str) -> int:
    ident = ctx.ident(field_)
    if lo is not None and hi is not None and lo != hi:
        ctx.elastics[ident] = Elastic(ident, "count", lo, hi, default, 1.0, label)
        if ident in ctx.fit:
            return int(round(ctx.fit[ident]))
    return default


def _breath_words(
    ctx: _Ctx, breath: Breath, words: BreathWords | None, loc: tuple[str | int, ...]
) -> list[tuple[str, float, str]]:
    """(phase name, seconds, rendered cue) for each phase of one cycle."""
    phases: list[tuple[str, float, str, str | Sequence[str] | None, str]] = [
        ("in", breath.inhale, "in", words.inhale if words else None, "breathe_in"),
        ("hold", breath.hold, "hold", words.hold if words else None, "breathe_hold"),
        ("out", breath.exhale, "out", words.exhale if words else None, "breathe_out"),
        ("hold_out", breath.hold_out, "hold_out", words.hold_out if words else None,
         "breathe_rest"),
    ]
    out: list[tuple[str, float, str]] = []
    for name, seconds, field_, text, phrase in phases:
        if seconds <= 0:
            continue
        source = text if text is not None else "{{ phrase('" + phrase + "') }}"
        rendered = _say(ctx.at(*loc), source, field_ if text is not None else "say",
                        seconds=seconds, phase=name)
        out.append((name, seconds, rendered))
    return out


def _hold(ctx: _Ctx, step: Hold, items: list[Item]) -> None:
    spec = step.hold
    c = ctx.at("hold")
    seconds = _span(c, spec, "seconds", "hold", 1.0)
    if spec.say is not None:
        items.append(Speech(_say(c, spec.say, "say", seconds=seconds, remaining=seconds), 0.0,
                            c.where("say")))
    cues: list[SlotCue] = []
    for i, cue in enumerate(spec.cues):
        cc = c.at("cues", i)
        if cue.halfway:
            offset = seconds / 2
        elif cue.at is not None:
            offset = cue.at
        else:
            assert cue.remaining is not None
            offset = seconds - cue.remaining
        if not 0 <= offset < seconds:
            ctx.problems.append(
                f"{cc.where()}: this cue falls at {offset:g} s, outside the {seconds:g} s hold"
            )
            continue
        remaining = seconds - offset
        cues.append(SlotCue(offset, _say(cc, cue.say, "say", seconds=seconds,
                                         remaining=round(remaining)), cc.where("say")))
    for k in range(spec.countdown, 0, -1):
        offset = seconds - k
        if offset >= 0:
            cues.append(SlotCue(offset, str(k), c.where("countdown")))
    if spec.breath is not None:
        explicit = [cue.offset for cue in cues]
        cycle = _breath_words(c, spec.breath, spec.breath.say, ("breath", "say"))
        t = 0.0
        done = not cycle
        while not done:
            for _name, phase_seconds, text in cycle:
                if t + phase_seconds > seconds + 1e-9:
                    done = True
                    break
                clear = all(
                    abs(t - e) >= EXPLICIT_CUE_CLEARANCE and not t < e < t + phase_seconds
                    for e in explicit
                )
                if clear:
                    cues.append(SlotCue(t, text, c.where("breath")))
                t += phase_seconds
    cues.sort(key=lambda q: q.offset)
    items.append(Slot(seconds, "hold", "hold", c.where("seconds"), tuple(cues)))
    release = spec.release if spec.release is not None else "{{ phrase('release') }}"
    items.append(Speech(_say(c, release, "release", seconds=seconds, remaining=0), DEFAULT_GAP,
                        c.where("release")))


def _breathe(ctx: _Ctx, step: Breathe, items: list[Item]) -> None:
    spec = step.breathe
    c = ctx.at("breathe")
    cycles = _count(c, spec.cycles, spec.min_cycles, spec.max_cycles, "cycles", "breath cycles")
    for n in range(cycles):
        cc = _Ctx(c.doc, c.loc, c.narrator, {**c.variables, "cycle": n + 1, "cycles": cycles},
                  c.fit, c.elastics, c.problems, c.id_prefix, c.title, c.in_sides)
        for name, seconds, text in _breath_words(cc, spec, spec.say, ("say",)):
            items.append(Slot(seconds, "breath", f"breath {name}", c.where(),
                              (SlotCue(0.0, text, c.where("say")),), phase=name))


def _repeat(ctx: _Ctx, step: Repeat, items: list[Item]) -> None:
    spec = step.repeat
    c = ctx.at("repeat")
    reps = _count(c, spec.count, spec.min, spec.max, "count", "repetitions")
    rest = _span(c, spec.rest, "rest", "rest between repetitions", 0.0) if spec.rest else 0.0
    for rep in range(1, reps + 1):
        extra = {"rep": rep, "reps": reps, "remaining": reps - rep}
        if spec.each is not None:
            items.append(Speech(_say(c, spec.each, "each", **extra), 0.3, c.where("each")))
        for i, phase in enumerate(spec.phases):
            pc = c.at("phases", i)
            seconds = round(phase.seconds * spec.tempo, 3)
            text = _say(pc, phase.say, "say", seconds=seconds, **extra)
            items.append(Slot(seconds, "phase", phase.breath or f"phase {i + 1}", pc.where(),
                              (SlotCue(0.0, text, pc.where("say")),), phase=phase.breath))
        if rest > 0 and rep < reps:
            items.append(Slot(rest, "rest", "rest between repetitions", c.where("rest")))


def _sides(ctx: _Ctx, step: Sides, items: list[Item]) -> None:
    spec = step.sides
    c = ctx.at("sides")
    if ctx.in_sides:
        ctx.variables["__invalid__"].append(f"{c.where()}: sides cannot be nested inside sides")
        return
    order = ["left", "right"] if spec.first == "left" else ["right", "left"]
    groups: list[Group] = []
    base_title = ctx.title or "Exercise"
    for side in order:
        sc = _Ctx(c.doc, (*c.loc, "steps"), c.narrator,
                  {**c.variables, "side": side, "other_side": order[1] if side == order[0]
                   else order[0]}, c.fit, c.elastics, c.problems, c.id_prefix, ctx.title, True)
        sub: list[Item] = []
        _steps(sc, spec.steps, sub)
        groups.append(Group(f"{base_title}, {side} side", tuple(sub)))
    switch_text = spec.switch if spec.switch is not None else "{{ phrase('switch') }}"
    switch: list[Item] = [
        Speech(_say(c, switch_text, "switch", side=order[1], other_side=order[0]), 0.0,
               c.where("switch")),
    ]
    if spec.switch_pause > 0:
        switch.append(Slot(spec.switch_pause, "pause", "switch sides", c.where("switch_pause")))
    items.append(SidePair(groups[0], groups[1], tuple(switch)))


def _exercise(ctx: _Ctx, step: ExerciseRef, items: list[Item], level: Level) -> None:
    library = ctx.variables["__library__"]
    try:
        loaded, problems = library.instantiate(step.exercise, step.params, level)
    except InvalidInputError as exc:
        loaded, problems = None, exc.problems
    if loaded is None:
        ctx.variables["__invalid__"].extend(problems)
        return
    ex = loaded.model
    title = step.title or ex.title
    ec = _Ctx(
        loaded.source.doc,
        (*loaded.source.loc, "steps"),
        ctx.narrator.with_phrases(ex.phrases),
        {**ctx.variables, **loaded.params, "exercise": title},
        ctx.fit,
        ctx.elastics,
        ctx.problems,
        ctx.ident() + "/" + step.exercise + ":",
        title,
        ctx.in_sides,
    )
    sub: list[Item] = []
    _steps(ec, ex.steps, sub)
    items.append(Group(title, tuple(sub)))


def _steps(ctx: _Ctx, steps: Sequence[Step], items: list[Item]) -> None:
    settings: TrackSettings = ctx.variables["__settings__"]
    level: Level = ctx.variables["level"]
    for i, step in enumerate(steps):
        if step.level is not None and step.level != level:
            continue
        if step.optional and not settings.optional:
            continue
        c = ctx.at(i)
        if isinstance(step, Say):
            gap = DEFAULT_GAP if step.pause is None else step.pause
            items.append(Speech(_say(c, step.say, "say"), gap, c.where("say")))
        elif isinstance(step, Pause | Rest):
            kind: Literal["pause", "rest"] = "pause" if isinstance(step, Pause) else "rest"
            span = step.pause if isinstance(step, Pause) else step.rest
            seconds = _span(c, span, kind, step.label or kind, 0.0)
            items.append(Slot(seconds, kind, step.label or kind, c.where(kind)))
        elif isinstance(step, Hold):
            _hold(c, step, items)
        elif isinstance(step, Breathe):
            _breathe(c, step, items)
        elif isinstance(step, Repeat):
            _repeat(c, step, items)
        elif isinstance(step, Sides):
            _sides(c, step, items)
        elif isinstance(step, Chime):
            items.append(Slot(step.seconds, "chime", f"{step.chime} chime", c.where("chime"),
                              (SlotCue(0.0, step.chime, c.where("chime"), "chime"),)))
        elif isinstance(step, Section):
            sc = c.at("steps")
            sc.title = step.section
            sub: list[Item] = []
            _steps(sc, step.steps, sub)
            items.append(Group(step.section, tuple(sub)))
        elif isinstance(step, ExerciseRef):
            _exercise(c, step, items, level)


def expand(
    routine: Routine,
    settings: TrackSettings,
    fit: Mapping[str, float] | None = None,
    *,
    minutes: int | None = None,
    narrator: Narrator | None = None,
) -> Script:
    """Expand ``routine`` into a :class:`Script` for ``settings`` and fitted values ``fit``;
    ``minutes`` is the length the narration may tell (0 until it is known).

    Raises :class:`TemplateError` (or :class:`InvalidInputError`) listing every problem.
    """
    model = routine.spec
    level = settings.level or model.level
    variables: dict[str, Any] = {
        "name": settings.name,
        "level": level,
        "minutes": minutes if minutes is not None else 0,
        "side": "",
        "other_side": "",
        "rep": 0,
        "reps": 0,
        "seconds": 0,
        "remaining": 0,
        "title": model.title,
        **model.params,
        "__settings__": settings,
        "__library__": routine.library,
        "__invalid__": [],
    }
    problems: list[str] = []
    elastics: dict[str, Elastic] = {}
    narrator = narrator or Narrator(seed=routine.id, phrases=model.phrases)
    ctx = _Ctx(routine.doc, ("steps",), narrator, variables, fit or {}, elastics, problems, "")
    items: list[Item] = [Slot(LEAD_IN, "pause", "lead-in", str(routine.doc.path))]
    _steps(ctx, model.steps, items)
    items.append(Slot(TAIL, "pause", "ending", str(routine.doc.path)))
    invalid: list[str] = variables["__invalid__"]
    if invalid:
        unique = list(dict.fromkeys(invalid))
        raise InvalidInputError(unique[0], unique)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise TemplateError("\n".join(unique))
    return Script(model.title, Group(None, tuple(items)), elastics)
