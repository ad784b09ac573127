"""Expand a routine into a :class:`~voiceguide.script.items.Script` for a listener's
settings, rendering every sentence through the narration sandbox.

Elastic lengths (hold and rest ranges, breath cycles, repetition counts) are looked up
in ``fit`` by id, so the fitting stage can expand the same routine at other lengths.
Counts the narration may speak come from the routine, after fitting: ``exercises`` (how
many exercises this build has), and inside an exercise ``reps`` and ``cycles`` (of its
first repetition and breathing steps); ``minutes`` is the length the track is told to be.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from voiceguide.errors import InvalidInputError, Lines, TemplateError, one_line
from voiceguide.io.models import capped
from voiceguide.languages import get_language
from voiceguide.limits import MAX_EXERCISE_DEPTH, render_spent
from voiceguide.routine.load import Routine
from voiceguide.routine.steps import (
    Breathe,
    Chime,
    ExerciseRef,
    Hold,
    Pause,
    Repeat,
    Rest,
    Say,
    Section,
    Sides,
    Step,
    StepBase,
    Transition,
    posture_of,
)
from voiceguide.script.context import Ctx, Run, count, nested, say, span
from voiceguide.script.honest import said_as_written, title_length
from voiceguide.script.items import (
    DEFAULT_GAP,
    LEAD_IN,
    TAIL,
    Group,
    Item,
    Script,
    SidePair,
    Slot,
    SlotCue,
    Speech,
    walk_speech,
)
from voiceguide.script.moves import eyes_first, transition
from voiceguide.script.sidewords import side_notes
from voiceguide.script.speakable import speakable
from voiceguide.script.templates import UNSET_WHERE, Narrator, Unset, template_problems
from voiceguide.script.timed import breathe, hold, repeat
from voiceguide.settings import TrackSettings

SIDES: tuple[str, str] = ("left", "right")
"""The sides as a routine names them (``first: left``); spoken in the routine's language."""


def _included(ctx: Ctx, steps: Sequence[Step]) -> Iterator[tuple[int, Step]]:
    """The steps this build plays: the listener's level, optional ones if asked for."""
    for i, step in enumerate(steps):
        if isinstance(step, StepBase):
            if step.level is not None and step.level != ctx.run.level:
                continue
            if step.optional and not ctx.run.settings.optional:
                continue
        yield i, step


def _own(ctx: Ctx, i: int, step: Step) -> dict[str, int]:
    """``reps`` or ``cycles`` of step ``i`` as fitted (of a section or sides: their first)."""
    if isinstance(step, Repeat):
        r = step.repeat
        return {"reps": count(ctx.at(i, "repeat"), r.count, r.min, r.max, "count",
                              "repetitions")}
    if isinstance(step, Breathe):
        b = step.breathe
        return {"cycles": count(ctx.at(i, "breathe"), b.cycles, b.min_cycles, b.max_cycles,
                                "cycles", "breath cycles")}
    if isinstance(step, Sides):
        return _counts(ctx.at(i, "sides", "steps"), step.sides.steps)
    if isinstance(step, Section):
        return _counts(ctx.at(i, "steps"), step.steps)
    return {}


def _counts(ctx: Ctx, steps: Sequence[Step]) -> dict[str, int]:
    """``reps`` and ``cycles`` of the first repetition and breathing steps, as fitted."""
    found: dict[str, int] = {}
    for i, step in _included(ctx, steps):
        for key, value in _own(ctx, i, step).items():
            found.setdefault(key, value)
    return found


def _nearest(ctx: Ctx, steps: Sequence[Step]) -> dict[int, dict[str, int]]:
    """For each step played: ``reps`` and ``cycles`` of the nearest repetition and
    breathing at or after it in ``steps`` (in a section or sides after it, their first),
    else the last before it, as fitted: what "{{ reps | words }} times" before a repeat
    means (the routine's first repeat anywhere said seven where four played)."""
    played = [(i, _own(ctx, i, step)) for i, step in _included(ctx, steps)]
    near: dict[int, dict[str, int]] = {i: {} for i, _ in played}
    ahead: dict[str, int] = {}
    for i, own in reversed(played):
        ahead = {**ahead, **own}
        near[i].update(ahead)
    behind: dict[str, int] = {}
    for i, own in played:
        near[i] = {**behind, **near[i]}
        behind = {**behind, **own}
    return near


def _exercise_count(ctx: Ctx, steps: Sequence[Step]) -> int:
    total = 0
    for _i, step in _included(ctx, steps):
        if isinstance(step, ExerciseRef):
            total += 1
        elif isinstance(step, Section):
            total += _exercise_count(ctx, step.steps)
    return total


def _sides(ctx: Ctx, step: Sides, items: list[Item]) -> None:
    spec = step.sides
    c = ctx.at("sides")
    if ctx.in_sides:
        ctx.run.invalid.append(f"{c.where()}: sides cannot be nested inside sides")
        return
    lang = get_language(ctx.run.language)
    words = dict(zip(SIDES, lang.sides, strict=True))
    order = tuple(words[s] for s in (SIDES if spec.first == "left" else SIDES[::-1]))
    groups: list[Group] = []
    base_title = ctx.title or lang.exercise
    if ctx.title is None:  # a player shows them (said once; made only then: the fitter
        untitled = (f"{c.where()}: its chapters are called " + " and ".join(  # expands
            f"'{lang.side_title.format(title=base_title, side=side)}'" for side in order)
            + "; put it in a section to name them ('section: Knee hug', its steps under it)")
        if untitled not in ctx.narrator.notes:  # at every trial length)
            ctx.narrator.notes.append(untitled)
    posture = ctx.run.posture
    for side in order:
        ctx.run.posture = posture  # both sides start from the same place: equal timing
        other = order[1] if side == order[0] else order[0]
        sc = c.at("steps").with_vars(side=side, other_side=other)
        sc.in_sides = True
        sub: list[Item] = []
        _steps(sc, spec.steps, sub)
        groups.append(Group(lang.side_title.format(title=base_title, side=side), tuple(sub)))
    switch_text = spec.switch if spec.switch is not None else "{{ phrase('switch') }}"
    switch: list[Item] = [
        Speech(say(c, switch_text, "switch", side=order[1], other_side=order[0]), 0.0,
               c.where("switch")),
    ]
    if spec.switch_pause > 0:
        switch.append(Slot(spec.switch_pause, "transition", "switch sides",
                           c.where("switch_pause")))
    items.append(SidePair(groups[0], groups[1], tuple(switch)))
    for note in side_notes(groups[0], groups[1], lang.sides, c.where()):
        if note not in ctx.narrator.notes:  # (said once: the fitter expands at each try)
            ctx.narrator.notes.append(note)


def _continued(ctx: Ctx, title: str | None) -> str | None:
    """The chapter title of what a part titled ``title`` goes on with after its sides."""
    return None if title is None else \
        get_language(ctx.run.language).continued.format(title=title)


def _exercise(ctx: Ctx, step: ExerciseRef, items: list[Item]) -> None:
    within = ctx.run.within
    if step.exercise in within:
        chain = " -> ".join([*within[within.index(step.exercise):], step.exercise])
        ctx.run.invalid.append(f"{ctx.where('exercise')}: exercise '{step.exercise}' "
                               f"includes itself ({chain}); an exercise cannot contain "
                               "itself")
        return
    if len(within) >= MAX_EXERCISE_DEPTH:
        chain = " -> ".join([*within[:2], "...", within[-1], step.exercise])
        ctx.run.invalid.append(f"{ctx.where('exercise')}: exercises include one another "
                               f"more than {MAX_EXERCISE_DEPTH} deep ({chain}); include "
                               "fewer levels")
        return
    try:
        loaded, problems = ctx.run.library.instantiate(step.exercise, step.params,
                                                       ctx.run.level)
    except InvalidInputError as exc:
        loaded, problems = None, exc.problems
    if loaded is None:
        ctx.run.invalid.extend(problems)
        return
    ex = loaded.model
    title = step.title or ex.title
    ec = Ctx(ctx.run, loaded.source.doc, (*loaded.source.loc, "steps"),
             ctx.narrator.with_phrases(ex.phrases),
             {**ctx.variables, **loaded.params, "exercise": title},
             ctx.ident() + "/" + step.exercise + ":", title, ctx.in_sides)
    within.append(step.exercise)
    try:
        ec.variables.update(_counts(ec, ex.steps))
        sub: list[Item] = []
        to, where = posture_of(ex.position), ctx.where("exercise")
        said = eyes_first(ec.at("position"), to, sub, where)  # before even its name
        with nested(ctx) as deeper:
            if deeper:
                _steps(ec, ex.steps, sub, lambda: transition(
                    ec.at("position"), to, None, sub, where, eyes_said=said))
    finally:
        within.pop()
    items.append(Group(title, tuple(sub), _continued(ctx, title)))


def _steps(ctx: Ctx, steps: Sequence[Step], items: list[Item],
           move: Callable[[], None] | None = None) -> None:
    """Expand ``steps`` into ``items``. ``move``: an exercise's time to move into its
    position, put after its introduction (a first ``say``: where am I going, and from
    which position) and before any other step, so the listener knows what the move is
    for before making it."""
    near = _nearest(ctx, steps)
    numbers = said_as_written(steps, ctx.run.language, ctx.run.minutes)
    for n, (i, step) in enumerate(_included(ctx, steps)):
        if move is not None and (n > 0 or not isinstance(step, Say)):
            move()
            move = None
        c = ctx.at(i).with_vars(**near[i])
        field_ = ("say",) if isinstance(step, Say) else ("sides", "switch") \
            if isinstance(step, Sides) else ("hold",)
        if i in numbers and (note := f"{c.where(*field_)}: {numbers[i]}") \
                not in ctx.narrator.notes:
            ctx.narrator.notes.append(note)
        before = len(items)
        _step(c, step, items)
        # nested steps were accounted where they were expanded: count only this level's
        ctx.run.account(items[before:], c.where())
    if move is not None:
        move()


def _step(c: Ctx, step: Step, items: list[Item]) -> None:
    """Expand one step into ``items``."""
    if isinstance(step, Say):
        gap = DEFAULT_GAP if step.pause is None else step.pause
        items.append(Speech(say(c, step.say, "say"), gap, c.where("say")))
    elif isinstance(step, Pause | Rest):
        kind: Literal["pause", "rest"] = "pause" if isinstance(step, Pause) else "rest"
        value = step.pause if isinstance(step, Pause) else step.rest
        seconds = span(c, value, kind, step.label or kind, 0.0)
        items.append(Slot(seconds, kind, step.label or kind, c.where(kind)))
    elif isinstance(step, Hold):
        hold(c, step, items)
    elif isinstance(step, Breathe):
        breathe(c, step, items)
    elif isinstance(step, Repeat):
        repeat(c, step, items)
    elif isinstance(step, Sides):
        _sides(c, step, items)
    elif isinstance(step, Chime):
        items.append(Slot(step.seconds, "chime", f"{step.chime} chime", c.where("chime"),
                          (SlotCue(0.0, step.chime, c.where("chime"), "chime"),)))
    elif isinstance(step, Transition):
        transition(c.at("transition"), step.transition.to, step.transition, items,
                   c.where("transition"))
    elif isinstance(step, Section):
        sc = c.at("steps")
        sc.title = step.section
        sub: list[Item] = []
        with nested(c) as deeper:
            if deeper:
                _steps(sc, step.steps, sub)
        items.append(Group(step.section, tuple(sub), _continued(c, step.section)))
    elif isinstance(step, ExerciseRef):
        _exercise(c, step, items)


def spoken_minutes(minutes: float) -> int:
    """The whole minutes the narration tells for a track of ``minutes`` ("about twelve
    minutes"): rounded half up (2.5 is three, not Python's two), and at least one (half a
    minute is "about one minute", never "zero")."""
    return max(1, math.floor(minutes + 0.5))


def check_templates(routine: Routine) -> None:
    """Raise :class:`TemplateError` naming every narration template of ``routine``, or of
    a library exercise it uses, that can render nowhere: a syntax error, or a variable
    nothing sets. A render finds them only in the branches it takes: a coach's
    ``{% if name %}, {{ nme }}{% endif %}`` built without a name played, and failed for
    every client (``validate`` said it)."""
    docs = {id(routine.doc): routine.doc}
    todo = _used(routine.doc.data)  # the exercises its steps and its own exercises use
    while todo:  # and the exercises those use, at any depth
        source = routine.library.source(todo.pop())
        if source is not None and id(source.doc) not in docs:
            docs[id(source.doc)] = source.doc
            todo += _used(source.doc.data)
    problems = [p for doc in docs.values()  # a library exercise may use the routine's params
                for p in template_problems(doc, routine.spec.params)]
    if problems:
        raise TemplateError(Lines("\n".join(one_line(p) for p in capped(list(dict.fromkeys(
            problems))))))


def _used(data: Any) -> list[str]:
    """The exercises a document's steps name (``exercise: id``), at any depth."""
    if isinstance(data, dict):
        named = [data["exercise"]] if isinstance(data.get("exercise"), str) else []
        return named + [n for v in data.values() for n in _used(v)]
    return [n for v in data for n in _used(v)] if isinstance(data, list) else []


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
    run = Run(settings, level, routine.library, fit or {}, posture=model.start,
              language=model.language)
    if model.length is not None and model.length.min < model.length.max:
        run.minutes = (math.floor(model.length.min), math.ceil(model.length.max))
    titled = None if run.minutes is None else title_length(model.title, run.minutes,
                                                           model.language)
    # emoji or letters the voice cannot read are not spoken; no letter left: no name
    name = speakable(settings.name, model.language)
    name = name if any(ch.isalnum() for ch in name) else ""  # "?" said "Welcome,?"
    variables: dict[str, Any] = {
        "name": name or Unset("name", required=False),
        "level": level,
        "minutes": minutes if minutes is not None else 0,
        **{k: Unset(k, required=True) for k in UNSET_WHERE},
        "title": model.title,
        **model.params,
    }
    narrator = narrator or Narrator(model.phrases, model.language, render_spent())
    if titled:
        narrator.notes.append(f"{routine.doc.located(('title',))}: {titled}")
    if settings.name.strip() and not name:
        narrator.notes.append(f"the name '{settings.name}' has no letters the voice can "
                              "say; the narration leaves it out (the title keeps it)")
    elif lost := "".join(ch for ch in settings.name if ch.isalnum() and ch not in name):
        narrator.notes.append(f"the name '{settings.name}': the voice cannot say '{lost}', "
                              f"which the narration leaves out: it says '{name}' (the "
                              "title keeps the whole name)")  # "Ana 李" was Ana, unsaid
    run.name = name
    ctx = Ctx(run, routine.doc, ("steps",), narrator, variables)
    variables["exercises"] = _exercise_count(ctx, model.steps)
    items: list[Item] = [Slot(LEAD_IN, "pause", "lead-in", str(routine.doc.path))]
    _steps(ctx, model.steps, items)
    items.append(Slot(TAIL, "pause", "ending", str(routine.doc.path)))
    if run.invalid:  # at most 20 of each (4,000 template mistakes gave 4,000 lines)
        unique = capped(list(dict.fromkeys(run.invalid)))
        raise InvalidInputError(unique[0], unique)
    if run.problems:
        raise TemplateError(Lines("\n".join(one_line(p) for p in capped(list(dict.fromkeys(
            run.problems))))))
    body = Group(None, tuple(items))
    if not walk_speech(body):
        written = _first_text(routine.doc.data, ())
        narrator.notes.append(  # 'say: "🧘🧘"' was told to add a 'say:' step
            f"{routine.doc.located(written)}: its text has no words a voice can say, so "
            "nothing in the routine is spoken (the track is only its pauses, chimes and "
            "bed); write it in words" if written is not None else
            f"{routine.doc.path}: nothing in the routine is spoken (the track is only its "
            "pauses, chimes and bed); add a 'say:' step")
    return Script(model.title, body, run.elastics, tuple(dict.fromkeys(narrator.notes)))


def _first_text(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where the routine first writes something to say that is not blank, or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            texts = value if isinstance(value, list) else [value]  # or its wordings
            if key in ("say", "release") and any(isinstance(t, str) and t.strip()
                                                 for t in texts):
                return (*loc, key)
            found = _first_text(value, (*loc, key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = _first_text(value, (*loc, i))
            if found is not None:
                return found
    return None
