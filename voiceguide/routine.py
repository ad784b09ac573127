"""Routine and exercise models, and loading them from YAML with precise error messages.

A routine is a YAML mapping: metadata plus ``steps``. Each step is a mapping with
exactly one *step key* that says what it is (``say``, ``pause``, ``rest``, ``hold``,
``breathe``, ``repeat``, ``sides``, ``chime``, ``section``, ``exercise``). Reusable
exercises live in ``exercises/<id>.yaml`` beside the routines (or inline under a
routine's ``exercises:``) and are referenced by id with per-routine ``params``.

Wherever a number is expected, a ``$name`` string refers to a parameter of the
enclosing exercise (or routine); it is substituted before validation, so every
error still points at the line in the file where it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from voiceguide.errors import InvalidInputError
from voiceguide.yamlio import Document, Loc, load_yaml, suggest

Level = Literal["beginner", "advanced"]
LEVELS: Final[tuple[Level, ...]] = ("beginner", "advanced")

MAX_STEP_SECONDS: Final = 600.0
"""Longest single hold, pause or rest (10 minutes)."""
MAX_PHASE_SECONDS: Final = 60.0
"""Longest single breath or repetition phase."""
MIN_PHASE_SECONDS: Final = 1.0
"""Shortest breath or repetition phase that still leaves room for a spoken cue."""
MAX_COUNT: Final = 100
"""Most repetitions or breath cycles in one step."""
MAX_TEXT: Final = 2000
"""Longest text (template source) of one phrase."""

PARAM_RE: Final = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
STEP_KEYS: Final = (
    "say",
    "pause",
    "rest",
    "hold",
    "breathe",
    "repeat",
    "sides",
    "chime",
    "section",
    "exercise",
)
CHIMES: Final = ("bowl", "bell", "soft")


class Model(BaseModel):
    """Base of every file model: unknown keys are errors, aliases allowed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _text_check(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise ValueError("needs at least one wording")
    return value


PhraseText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Text = Annotated[
    PhraseText | list[PhraseText],
    BeforeValidator(_text_check),
    Field(
        description="A sentence (a jinja2 template), or a list of wordings: one is chosen per "
        "occurrence, deterministically, so repeated cues vary."
    ),
]
StepSeconds = Annotated[float, Field(gt=0, le=MAX_STEP_SECONDS)]
PhaseSeconds = Annotated[float, Field(ge=MIN_PHASE_SECONDS, le=MAX_PHASE_SECONDS)]
HoldPhaseSeconds = Annotated[float, Field(ge=0, le=MAX_PHASE_SECONDS)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


class StepBase(Model):
    """Fields every step accepts."""

    level: Level | None = Field(
        None, description="Only include this step at this level (beginner or advanced)."
    )
    optional: bool = Field(
        False, description="An optional step: left out when the user asks for --no-optional."
    )


class Span(Model):
    """A duration in seconds, fixed or elastic (``min``/``max``) for target-length fitting."""

    seconds: StepSeconds | None = Field(None, description="Length used without --minutes.")
    min: StepSeconds | None = Field(None, description="Shortest length when fitting a target.")
    max: StepSeconds | None = Field(None, description="Longest length when fitting a target.")

    @model_validator(mode="after")
    def _check(self) -> Span:
        if self.seconds is None and self.min is None:
            raise ValueError("give 'seconds' (or 'min' and 'max')")
        if (self.min is None) != (self.max is None):
            raise ValueError("give both 'min' and 'max' for an elastic length, or neither")
        if self.min is not None and self.max is not None:
            if self.min > self.max:
                raise ValueError(f"'min' ({self.min:g}) is more than 'max' ({self.max:g})")
            if self.seconds is not None and not self.min <= self.seconds <= self.max:
                raise ValueError(
                    f"'seconds' ({self.seconds:g}) is outside min..max "
                    f"({self.min:g}..{self.max:g})"
                )
        return self

    @property
    def default(self) -> float:
        """The length used when no target length is asked for."""
        if self.seconds is not None:
            return self.seconds
        assert self.min is not None
        return self.min

    @property
    def elastic(self) -> tuple[float, float] | None:
        """``(min, max)`` if the length can stretch, else None."""
        if self.min is None or self.max is None or self.min == self.max:
            return None
        return (self.min, self.max)


def _number_to_span(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"seconds": value}
    return value


SpanField = Annotated[
    Span, BeforeValidator(_number_to_span, json_schema_input_type=StepSeconds | Span)
]


class Say(StepBase):
    """Speak a sentence, then leave a short natural gap."""

    say: Text
    pause: Annotated[float, Field(ge=0, le=MAX_STEP_SECONDS)] | None = Field(
        None, description="Silence after the sentence, in seconds (default 0.8)."
    )


class Pause(StepBase):
    """Silence of a fixed or elastic length."""

    pause: SpanField = Field(description="Seconds of silence (a number, or seconds/min/max).")
    label: str | None = Field(None, description="What the pause is for (shown in cue sheets).")


class Rest(StepBase):
    """A rest between efforts: silence like a pause, reported as a rest."""

    rest: SpanField = Field(description="Seconds of rest (a number, or seconds/min/max).")
    label: str | None = Field(None, description="What the rest is for (shown in cue sheets).")


class BreathWords(Model):
    """The words spoken at each breath phase boundary."""

    inhale: Text | None = Field(None, alias="in", description="Said as the in-breath starts.")
    hold: Text | None = Field(None, description="Said as the hold after the in-breath starts.")
    exhale: Text | None = Field(None, alias="out", description="Said as the out-breath starts.")
    hold_out: Text | None = Field(None, description="Said as the hold after the out-breath starts.")


class Breath(Model):
    """A breath pattern in seconds: in, hold, out, hold-out."""

    inhale: PhaseSeconds = Field(alias="in", description="Seconds breathing in.")
    hold: HoldPhaseSeconds = Field(0, description="Seconds holding after the in-breath (0: none).")
    exhale: PhaseSeconds = Field(alias="out", description="Seconds breathing out.")
    hold_out: HoldPhaseSeconds = Field(0, description="Seconds resting after the out-breath.")
    say: BreathWords | None = Field(None, description="Words for each phase (defaults exist).")

    @property
    def period(self) -> float:
        """Seconds of one full cycle."""
        return self.inhale + self.hold + self.exhale + self.hold_out


class HoldCue(Model):
    """A cue spoken inside a hold at a fixed offset; it does not lengthen the hold."""

    say: Text
    at: Annotated[float, Field(ge=0, le=MAX_STEP_SECONDS)] | None = Field(
        None, description="Seconds after the hold starts."
    )
    remaining: Annotated[float, Field(gt=0, le=MAX_STEP_SECONDS)] | None = Field(
        None, description="Seconds before the hold ends."
    )
    halfway: bool = Field(False, description="Spoken at the middle of the hold.")

    @model_validator(mode="after")
    def _one_anchor(self) -> HoldCue:
        anchors = [self.at is not None, self.remaining is not None, self.halfway]
        if sum(anchors) != 1:
            raise ValueError("a hold cue needs exactly one of 'at', 'remaining' or 'halfway: true'")
        return self


class HoldSpec(Span):
    """A timed hold: from the end of its opening words to the start of its release words."""

    say: Text | None = Field(None, description="Words that start the hold.")
    release: Text | None = Field(None, description="Words that end the hold (default: release).")
    cues: list[HoldCue] = Field(default_factory=list, description="Cues inside the hold.")
    countdown: Annotated[int, Field(ge=0, le=10)] = Field(
        0, description="Count the last N seconds aloud (N, N-1, ... 1)."
    )
    breath: Breath | None = Field(None, description="Breath pacing spoken inside the hold.")


class Hold(StepBase):
    """Hold a position for a number of seconds."""

    hold: Annotated[
        HoldSpec, BeforeValidator(_number_to_span, json_schema_input_type=StepSeconds | HoldSpec)
    ]


class BreatheSpec(Breath):
    """Paced breathing: each phase cue lands exactly on its boundary."""

    cycles: Count = Field(3, description="Number of full cycles.")
    min_cycles: Count | None = Field(None, description="Fewest cycles when fitting a target.")
    max_cycles: Count | None = Field(None, description="Most cycles when fitting a target.")

    @model_validator(mode="after")
    def _cycles(self) -> BreatheSpec:
        if (self.min_cycles is None) != (self.max_cycles is None):
            raise ValueError("give both 'min_cycles' and 'max_cycles', or neither")
        if self.min_cycles is not None and self.max_cycles is not None:
            if self.min_cycles > self.max_cycles:
                raise ValueError("'min_cycles' is more than 'max_cycles'")
            if not self.min_cycles <= self.cycles <= self.max_cycles:
                raise ValueError("'cycles' is outside min_cycles..max_cycles")
        return self


class Breathe(StepBase):
    """Paced breathing for a number of cycles."""

    breathe: BreatheSpec


class Phase(Model):
    """One phase of a repetition, e.g. lift on the in-breath."""

    say: Text
    seconds: PhaseSeconds = Field(description="Length of the phase before tempo.")
    breath: Literal["in", "out", "hold"] | None = Field(
        None, description="The breath that goes with this phase (for cue sheets)."
    )


class RepeatSpec(Model):
    """Repetitions of a movement made of timed phases."""

    count: Count = Field(description="Number of repetitions.")
    min: Count | None = Field(None, description="Fewest repetitions when fitting a target.")
    max: Count | None = Field(None, description="Most repetitions when fitting a target.")
    tempo: Annotated[float, Field(ge=0.5, le=3.0)] = Field(
        1.0, description="Multiplies every phase length (1.5 = half as slow again)."
    )
    phases: Annotated[list[Phase], Field(min_length=1, max_length=8)]
    each: Text | None = Field(None, description="Words before each repetition (e.g. its number).")
    rest: SpanField | None = Field(None, description="Rest between repetitions.")

    @model_validator(mode="after")
    def _range(self) -> RepeatSpec:
        if (self.min is None) != (self.max is None):
            raise ValueError("give both 'min' and 'max' repetitions, or neither")
        if self.min is not None and self.max is not None:
            if self.min > self.max:
                raise ValueError("'min' is more than 'max'")
            if not self.min <= self.count <= self.max:
                raise ValueError("'count' is outside min..max")
        return self


class Repeat(StepBase):
    """Repeat a movement: every phase cue starts exactly on its phase boundary."""

    repeat: RepeatSpec


class SidesSpec(Model):
    """Steps done on one side and then the other with identical timing."""

    steps: Annotated[list[Step], Field(min_length=1)]
    first: Literal["left", "right"] = Field("left", description="The side done first.")
    switch: Text | None = Field(None, description="Words to switch sides (default phrase).")
    switch_pause: Annotated[float, Field(ge=0, le=60)] = Field(
        3.0, description="Seconds to change position after the switch words."
    )


class Sides(StepBase):
    """Left then right (or right then left), timed identically."""

    sides: SidesSpec


class Chime(StepBase):
    """A synthesised bell or bowl sound."""

    chime: Literal["bowl", "bell", "soft"]
    seconds: Annotated[float, Field(ge=1, le=20)] = Field(4.0, description="Room it rings in.")


class Section(StepBase):
    """A titled group of steps: becomes a chapter."""

    section: Annotated[str, Field(min_length=1, max_length=120)]
    steps: Annotated[list[Step], Field(min_length=1)]


class ExerciseRef(StepBase):
    """Use an exercise from the library (or this routine's ``exercises``) by id."""

    exercise: Annotated[str, Field(min_length=1)]
    params: dict[str, float] = Field(
        default_factory=dict, description="Override the exercise's parameters."
    )
    title: str | None = Field(None, description="Override the exercise's title (chapter name).")


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in STEP_KEYS:
            if key in value:
                return f"{key}-step"
        return None
    if isinstance(value, BaseModel):
        for key in STEP_KEYS:
            if key in type(value).model_fields:
                return f"{key}-step"
    return None


Step = Annotated[
    Union[  # noqa: UP007 - tagged members read better as a Union
        Annotated[Say, Tag("say-step")],
        Annotated[Pause, Tag("pause-step")],
        Annotated[Rest, Tag("rest-step")],
        Annotated[Hold, Tag("hold-step")],
        Annotated[Breathe, Tag("breathe-step")],
        Annotated[Repeat, Tag("repeat-step")],
        Annotated[Sides, Tag("sides-step")],
        Annotated[Chime, Tag("chime-step")],
        Annotated[Section, Tag("section-step")],
        Annotated[ExerciseRef, Tag("exercise-step")],
    ],
    Discriminator(
        _step_tag,
        custom_error_type="step_kind",
        custom_error_message="a step needs one of: " + ", ".join(STEP_KEYS),
    ),
]


class Exercise(Model):
    """A reusable exercise: a titled list of steps with parameters."""

    title: Annotated[str, Field(min_length=1, max_length=120)]
    summary: str = Field("", description="One line on what the exercise is.")
    position: Literal["floor", "bed", "standing", "seated", "any"] = Field(
        "floor", description="Where it is done."
    )
    levels: list[Level] = Field(
        default_factory=lambda: list(LEVELS), description="Levels it suits."
    )
    params: dict[str, float] = Field(
        default_factory=dict, description="Parameters ($name in numbers, {{ name }} in text)."
    )
    level_params: dict[Level, dict[str, float]] = Field(
        default_factory=dict, description="Parameter overrides per level."
    )
    phrases: dict[str, Text] = Field(default_factory=dict, description="Phrase templates.")
    source: str | None = Field(None, description="Where the facts came from.")
    steps: Annotated[list[Step], Field(min_length=1)]


class LengthRange(Model):
    """The range of track lengths (minutes) a routine is designed for."""

    min: Annotated[float, Field(gt=0, le=180)]
    max: Annotated[float, Field(gt=0, le=180)]

    @model_validator(mode="after")
    def _order(self) -> LengthRange:
        if self.min > self.max:
            raise ValueError("'min' is more than 'max'")
        return self


class Routine(Model):
    """A routine file."""

    title: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = Field("", description="A few sentences for the tags and the feed.")
    author: str = Field("voiceguide", description="Who wrote the routine.")
    level: Level = Field("beginner", description="Default level.")
    tags: list[str] = Field(default_factory=list, description="Keywords.")
    length: LengthRange | None = Field(None, description="Designed length range in minutes.")
    bed: str | None = Field(None, description="Default background bed (name or file).")
    phrases: dict[str, Text] = Field(default_factory=dict, description="Phrase templates.")
    params: dict[str, float] = Field(default_factory=dict, description="Routine parameters.")
    exercises: dict[str, Exercise] = Field(
        default_factory=dict, description="Exercises defined in this file (by id)."
    )
    steps: Annotated[list[Step], Field(min_length=1)]


for _model in (SidesSpec, Sides, Section, Exercise, Routine):
    _model.model_rebuild()


@cache
def known_keys() -> frozenset[str]:
    """Every key the format knows (used to suggest a fix for an unknown key)."""
    keys: set[str] = set()
    for model in Model.__subclasses__() + StepBase.__subclasses__() + Span.__subclasses__():
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
    for sub in (BreatheSpec, HoldSpec):
        for name, info in sub.model_fields.items():
            keys.add(info.alias or name)
    return frozenset(keys)


# --------------------------------------------------------------------------- errors


def _clean_loc(loc: Sequence[str | int]) -> Loc:
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part.endswith("-step") and out and isinstance(out[-1], int):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(model: type[BaseModel] | None, loc: Sequence[str | int]) -> list[str]:
    """The keys the model nested at ``loc`` accepts (all known keys if it cannot tell)."""
    cur = model
    for part in loc:
        if cur is None:
            break
        if isinstance(part, int):
            continue
        info = cur.model_fields.get(part)
        cur = _model_in(info.annotation) if info is not None else None
    if cur is None:
        return sorted(known_keys())
    return [info.alias or name for name, info in cur.model_fields.items()]


def pydantic_problems(doc: Document, exc: ValidationError, prefix: Loc = (),
                      model: type[BaseModel] | None = None) -> list[str]:
    """Turn pydantic errors into ``file:line:col: field.path: message`` lines (``model``,
    the validated model, sharpens suggestions for unknown keys)."""
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *_clean_loc(err["loc"]))
        kind = err["type"]
        ctx = err.get("ctx", {})
        value = err.get("input")
        on_key = False
        if kind == "extra_forbidden":
            key = str(loc[-1])
            on_key = True
            parent = doc_value(doc.data, loc[:-1])
            present = [k for k in STEP_KEYS if isinstance(parent, dict) and k in parent]
            if key in STEP_KEYS and len(present) > 1:
                message = "a step has exactly one step key (found " + ", ".join(
                    f"'{k}'" for k in present
                ) + "): split it into two steps"
            else:
                choices = [k for k in _keys_at(model, loc[len(prefix):-1]) if k != key]
                message = f"unknown key '{key}'{suggest(key, choices)}"
        elif kind == "missing":
            message = "required field is missing"
            on_key = True
        elif kind == "step_kind":
            keys = list(value) if isinstance(value, dict) else []
            hint = ""
            for key in keys:
                hint = suggest(str(key), STEP_KEYS)
                if hint:
                    hint = f" ('{key}'{hint.replace(' (', ': ')}"
                    break
            if not isinstance(value, dict):
                message = "a step must be a mapping such as 'say: ...' or 'pause: 5'"
                message += f" (got {_got(value)})"
            else:
                message = "a step needs one of: " + ", ".join(STEP_KEYS) + hint
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            op = {
                "greater_than": ">",
                "greater_than_equal": ">=",
                "less_than": "<",
                "less_than_equal": "<=",
            }[kind]
            bound = next(iter(ctx.values()))
            shown = f"{bound:g}" if isinstance(bound, int | float) else str(bound)
            message = f"must be {op} {shown} (got {_got(value)})"
            if loc and loc[-1] == "seconds" and (kind.startswith("less")):
                message += "; split very long stretches into several steps"
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            message = f"must be a whole number (got {_got(value)})"
        elif kind in ("float_parsing", "float_type"):
            message = f"must be a number of seconds (got {_got(value)})"
            if isinstance(value, str) and value.startswith("$"):
                message = f"unknown parameter '{value}'"
        elif kind in ("string_type",):
            message = f"must be text (got {_got(value)})"
        elif kind in ("list_type",):
            message = f"must be a list (got {_got(value)})"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            message = f"must be a mapping of keys (got {_got(value)})"
        elif kind in ("bool_type", "bool_parsing"):
            message = f"must be true or false (got {_got(value)})"
        elif kind == "literal_error":
            expected = str(ctx.get("expected", ""))
            message = f"must be one of {expected} (got {_got(value)})"
            if isinstance(value, str):
                choices = re.findall(r"'([^']*)'", expected)
                message += suggest(value, choices)
        elif kind == "too_short":
            message = "must not be empty"
        elif kind == "too_long":
            message = f"is too long (at most {ctx.get('max_length')})"
        elif kind == "string_too_short":
            message = "must not be empty"
        elif kind == "string_too_long":
            message = f"is too long (at most {ctx.get('max_length')} characters)"
        elif kind == "value_error":
            message = str(ctx.get("error", err["msg"]))
        else:
            message = err["msg"]
        problems.append(doc.problem(loc, message, key=on_key))
    return problems


def doc_value(data: Any, loc: Sequence[str | int]) -> Any:
    """The value at ``loc`` in plain data, or None."""
    for part in loc:
        in_dict = isinstance(data, dict) and isinstance(part, str) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_dict or in_list:
            data = data[part]
        else:
            return None
    return data


def substitute_params(
    doc: Document,
    data: Any,
    params: Mapping[str, float],
    loc: Loc,
    problems: list[str],
    *,
    skip: frozenset[str] = frozenset({"exercises", "params", "level_params", "phrases"}),
) -> Any:
    """Replace ``$name`` strings by parameter values, recording unknown names."""
    if isinstance(data, str):
        match = PARAM_RE.match(data)
        if not match:
            return data
        name = match.group(1)
        if name in params:
            return params[name]
        problems.append(
            doc.problem(
                loc,
                f"unknown parameter '${name}'"
                + (suggest(name, params).replace("'", "'$", 1) if params else "")
                + (f"; known: {', '.join('$' + p for p in params)}" if params else ""),
            )
        )
        return data
    if isinstance(data, list):
        return [substitute_params(doc, v, params, (*loc, i), problems) for i, v in enumerate(data)]
    if isinstance(data, dict):
        return {
            k: v if k in skip else substitute_params(doc, v, params, (*loc, k), problems)
            for k, v in data.items()
        }
    return data


# --------------------------------------------------------------------------- library


@dataclass
class ExerciseSource:
    """Where an exercise is defined: its document and its place in it."""

    id: str
    doc: Document
    loc: Loc
    """Path of the exercise mapping inside ``doc`` (empty for a file of its own)."""

    @property
    def raw(self) -> dict[str, Any]:
        """The exercise mapping as written."""
        value = doc_value(self.doc.data, self.loc)
        return value if isinstance(value, dict) else {}


@dataclass
class LoadedExercise:
    """An exercise instantiated with concrete parameters."""

    id: str
    model: Exercise
    params: dict[str, float]
    source: ExerciseSource


@dataclass
class Library:
    """The exercises a routine can reference."""

    folders: list[Path]
    inline: dict[str, ExerciseSource] = field(default_factory=dict)
    _files: dict[str, Path] | None = None
    _docs: dict[str, ExerciseSource] = field(default_factory=dict)

    def ids(self) -> list[str]:
        """Every exercise id available."""
        return sorted(set(self.inline) | set(self._index()))

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files: dict[str, Path] = {}
            for folder in self.folders:
                if folder.is_dir():
                    for path in sorted(folder.glob("*.yaml")):
                        files.setdefault(path.stem, path)
            self._files = files
        return self._files

    def source(self, ex_id: str) -> ExerciseSource | None:
        """Where exercise ``ex_id`` is defined, or None."""
        if ex_id in self.inline:
            return self.inline[ex_id]
        if ex_id not in self._docs:
            path = self._index().get(ex_id)
            if path is None:
                return None
            self._docs[ex_id] = ExerciseSource(ex_id, load_yaml(path, "exercise"), ())
        return self._docs[ex_id]

    def instantiate(
        self, ex_id: str, overrides: Mapping[str, float], level: Level
    ) -> tuple[LoadedExercise | None, list[str]]:
        """Validate exercise ``ex_id`` with its parameters set; return it or the problems."""
        src = self.source(ex_id)
        if src is None:
            return None, [f"unknown exercise '{ex_id}'{suggest(ex_id, self.ids())}"]
        raw = src.raw
        params: dict[str, float] = {}
        problems: list[str] = []
        declared = raw.get("params", {})
        if isinstance(declared, dict):
            params.update({k: v for k, v in declared.items() if isinstance(v, int | float)})
        by_level = raw.get("level_params", {})
        if isinstance(by_level, dict) and isinstance(by_level.get(level), dict):
            params.update(
                {k: v for k, v in by_level[level].items() if isinstance(v, int | float)}
            )
        params.update(overrides)
        data = substitute_params(src.doc, raw, params, src.loc, problems)
        try:
            model = Exercise.model_validate(data)
        except ValidationError as exc:
            problems.extend(pydantic_problems(src.doc, exc, src.loc))
            return None, problems
        if problems:
            return None, problems
        return LoadedExercise(ex_id, model, params, src), []


@dataclass
class LoadedRoutine:
    """A validated routine with its document and exercise library."""

    id: str
    """The routine's name (file stem)."""
    path: Path
    doc: Document
    model: Routine
    library: Library


def iter_steps(steps: Sequence[Any], loc: Loc) -> Iterator[tuple[Loc, Any]]:
    """Every step, nested ones included, with its path."""
    for i, step in enumerate(steps):
        here = (*loc, i)
        yield here, step
        if isinstance(step, Section):
            yield from iter_steps(step.steps, (*here, "steps"))
        elif isinstance(step, Sides):
            yield from iter_steps(step.sides.steps, (*here, "sides", "steps"))


def load_routine(path: Path, library_folders: Sequence[Path] = ()) -> LoadedRoutine:
    """Load and validate a routine file, reporting every problem at once.

    Raises :class:`InvalidInputError` whose ``problems`` lists each problem as
    ``file:line:col: field.path: message``.
    """
    doc = load_yaml(path, "routine")
    problems: list[str] = []
    raw = dict(doc.data)
    params = raw.get("params", {})
    params = (
        {k: v for k, v in params.items() if isinstance(v, int | float)}
        if isinstance(params, dict)
        else {}
    )
    raw_ex = raw.get("exercises")
    data = substitute_params(doc, raw, params, (), problems)
    if isinstance(raw_ex, dict):
        # inline exercises are checked when they are instantiated with their own params
        data["exercises"] = {}
    try:
        model = Routine.model_validate(data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(doc, exc))
        raise InvalidInputError(problems[0], problems) from None
    folders = [path.parent / "exercises", *library_folders]
    library = Library(folders=folders)
    if isinstance(raw_ex, dict):
        for ex_id in raw_ex:
            library.inline[ex_id] = ExerciseSource(ex_id, doc, ("exercises", ex_id))
        for ex_id in raw_ex:
            _, found = library.instantiate(ex_id, {}, model.level)
            problems.extend(found)
    for loc, step in iter_steps(model.steps, ("steps",)):
        if isinstance(step, ExerciseRef):
            for level in LEVELS:
                try:
                    _, found = library.instantiate(step.exercise, step.params, level)
                except InvalidInputError as exc:
                    found = exc.problems
                for problem in found:
                    if problem.startswith("unknown exercise"):
                        problem = doc.problem((*loc, "exercise"), problem)
                    if problem not in problems:
                        problems.append(problem)
    if problems:
        raise InvalidInputError(problems[0], problems)
    return LoadedRoutine(path.stem, path, doc, model, library)

