"""The steps a routine or exercise is made of, as pydantic models.

Each step is a YAML mapping with exactly one *step key* that says what it is (``say``,
``pause``, ``rest``, ``hold``, ``breathe``, ``repeat``, ``sides``, ``chime``,
``section``, ``exercise``); the :data:`Step` union picks the model by that key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal, Union

from pydantic import BaseModel, BeforeValidator, Discriminator, Field, Tag, model_validator

from voiceguide.io.forms import outside
from voiceguide.io.keys import inner_elsewhere
from voiceguide.io.models import FileModel, Tagged, inner_keys, with_a_unit
from voiceguide.routine.titles import Title
from voiceguide.settings import Level

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
STEP_KEYS: Final = ("say", "pause", "rest", "hold", "breathe", "repeat", "sides", "chime",
                    "section", "exercise", "transition")
CHIMES: Final = ("bowl", "bell", "soft")
Posture = Literal["lying", "seated", "kneeling", "standing", "any"]
"""How the body is placed: changing between postures gets a spoken cue and time to move."""
Position = Literal["lying", "seated", "kneeling", "standing", "any", "floor", "bed"]
"""An exercise's position: a posture, or the surface it is done lying on (floor, bed)."""
POSTURES: Final[tuple[Posture, ...]] = ("lying", "seated", "kneeling", "standing", "any")
EYES_OPEN: Final[frozenset[Posture]] = frozenset({"kneeling", "standing"})
"""Postures where eyes-closed work is unsafe: the listener is asked to open their eyes."""


def posture_of(position: Position) -> Posture:
    """The posture of a position (lying on the floor or in bed is lying)."""
    return "lying" if position in ("floor", "bed") else position  # type: ignore[return-value]


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


class StepBase(FileModel):
    """Fields every step accepts."""

    level: Level | None = Field(
        None, description="Only include this step at this level (beginner or advanced)."
    )
    optional: bool = Field(
        False, description="An optional step: left out when the user asks for --no-optional."
    )


class Span(FileModel):
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
                raise ValueError(outside("seconds", self.seconds, self.min, self.max))
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
    if isinstance(value, bool):  # `pause: yes`: a mapping was not what went wrong
        raise ValueError(f"must be a number of seconds, not {str(value).lower()} (YAML reads "
                         "yes, no, on and off as true and false)")
    if said := with_a_unit(value, "seconds"):  # `pause: 30s`: "must be a mapping of keys"
        raise ValueError(said)
    return {"seconds": value} if isinstance(value, int | float) else value


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


class BreathWords(FileModel):
    """The words spoken at each breath phase boundary."""

    inhale: Text | None = Field(None, alias="in", description="Said as the in-breath starts.")
    hold: Text | None = Field(None, description="Said as the hold after the in-breath starts.")
    exhale: Text | None = Field(None, alias="out", description="Said as the out-breath starts.")
    hold_out: Text | None = Field(None, description="Said as the hold after the out-breath starts.")


class Breath(FileModel):
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


class HoldCue(FileModel):
    """A cue spoken inside a hold at a fixed offset; it does not lengthen the hold."""

    say: Text
    at: Annotated[float, Field(ge=0, le=MAX_STEP_SECONDS)] | None = Field(
        None, description="Seconds after the hold starts."
    )
    remaining: Annotated[float, Field(gt=0, le=MAX_STEP_SECONDS)] | None = Field(
        None, description="Seconds before the hold ends.")
    halfway: bool = Field(False, description="Spoken at the middle of the hold (left out "
                          "where under 3 s would be left before the countdown or the end).")

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
    ] = Field(description="Seconds to hold, or the hold with its words and cues.")


class BreatheSpec(Breath):
    """Paced breathing: each phase cue lands exactly on its boundary."""

    cycles: Count = Field(3, description="Number of full cycles.")
    min_cycles: Count | None = Field(None, description="Fewest cycles when fitting a target.")
    max_cycles: Count | None = Field(None, description="Most cycles when fitting a target.")
    guided: Count | None = Field(None, description="Cycles the voice leads; after them, one "
                                 "cue to go on alone, then silence (default: every cycle).")

    @model_validator(mode="after")
    def _cycles(self) -> BreatheSpec:
        if (self.min_cycles is None) != (self.max_cycles is None):
            raise ValueError("give both 'min_cycles' and 'max_cycles', or neither")
        if self.min_cycles is not None and self.max_cycles is not None:
            if self.min_cycles > self.max_cycles:
                raise ValueError(f"'min_cycles' ({self.min_cycles}) is more than "
                                 f"'max_cycles' ({self.max_cycles}); swap them")
            if not self.min_cycles <= self.cycles <= self.max_cycles:
                raise ValueError(outside("cycles", self.cycles, self.min_cycles,
                                         self.max_cycles, "_cycles"))
        return self


class Breathe(StepBase):
    """Paced breathing for a number of cycles."""

    breathe: BreatheSpec = Field(description="Guided breaths: each phase's seconds, cycles.")


class Phase(FileModel):
    """One phase of a repetition, e.g. lift on the in-breath."""

    say: Text
    seconds: PhaseSeconds = Field(description="Length of the phase before tempo.")
    breath: Literal["in", "out", "hold"] | None = Field(
        None, description="The breath that goes with this phase (for cue sheets)."
    )


class RepeatSpec(FileModel):
    """Repetitions of a movement made of timed phases."""

    count: Count = Field(description="Number of repetitions.")
    min: Count | None = Field(None, description="Fewest repetitions when fitting a target.")
    max: Count | None = Field(None, description="Most repetitions when fitting a target.")
    tempo: Annotated[float, Field(ge=0.5, le=3.0)] = Field(
        1.0, description="Multiplies every phase length (1.5 = half as slow again)."
    )
    phases: Annotated[list[Phase], Field(min_length=1, max_length=8, description="One rep.")]
    each: Text | None = Field(None, description="Words before each repetition (e.g. its number).")
    rest: SpanField | None = Field(None, description="Rest between repetitions.")

    @model_validator(mode="after")
    def _range(self) -> RepeatSpec:
        if (self.min is None) != (self.max is None):
            raise ValueError("give both 'min' and 'max' repetitions, or neither")
        if self.min is not None and self.max is not None:
            if self.min > self.max:
                raise ValueError(f"'min' ({self.min}) is more than 'max' ({self.max}); "
                                 "swap them")
            if not self.min <= self.count <= self.max:
                raise ValueError(outside("count", self.count, self.min, self.max))
        return self


class Repeat(StepBase):
    """Repeat a movement: every phase cue starts exactly on its phase boundary."""

    repeat: RepeatSpec = Field(description="Repetitions of timed phases.")


class SidesSpec(FileModel):
    """Steps done on one side and then the other with identical timing."""

    KEYS_ELSEWHERE: ClassVar[Mapping[str, str]] = dict.fromkeys(
        ("sides", "side", "order", "start", "begin", "starts"),
        "the side done first is 'first: left' (the default) or 'first: right'")
    """Keys a coach wrote for the order of the sides, with the one that sets it."""

    steps: Annotated[list[Step], Field(min_length=1, description="Done for each side.")]
    first: Literal["left", "right"] = Field("left", description="The side done first.")
    switch: Text | None = Field(None, description="Words to switch sides (default phrase).")
    switch_pause: Annotated[float, Field(ge=0, le=60)] = Field(
        4.0, description="Seconds to change position after the switch words."
    )


class Sides(StepBase):
    """Left then right (or right then left), timed identically."""

    sides: SidesSpec = Field(description="Steps done for each side in turn.")


class Chime(StepBase):
    """A synthesised bell or bowl sound."""

    chime: Literal["bowl", "bell", "soft"] = Field(description="Which chime rings.")
    seconds: Annotated[float, Field(ge=1, le=20)] = Field(4.0, description="Room it rings in.")


def _posture_to_spec(value: Any) -> Any:
    return {"to": value} if isinstance(value, str) else value


class TransitionSpec(FileModel):
    """A change of position: spoken, with time to move sized to the move."""

    to: Posture = Field(description="The posture to move into.")
    seconds: Annotated[float, Field(ge=1, le=60)] | None = Field(
        None, description="Time to move (default: sized to the move, e.g. 10 s from lying "
        "to standing, 4 s between sides).")
    say: Text | None = Field(None, description="Words for the move (default phrase).")


class Transition(StepBase):
    """Move to another posture: ``transition: standing``. Exercises that declare their
    position get these automatically."""

    transition: Annotated[TransitionSpec, BeforeValidator(
        _posture_to_spec, json_schema_input_type=Posture | TransitionSpec)] = Field(
        description="The posture to move into, with time to move.")


class Section(StepBase):
    """A titled group of steps: becomes a chapter."""

    section: Annotated[Title, Field(description="Its title.")]
    steps: Annotated[list[Step], Field(min_length=1, description="Its steps, in order.")]


class ExerciseRef(StepBase):
    """Use an exercise from the library (or this routine's ``exercises``) by id."""

    exercise: Annotated[str, Field(min_length=1, description="The exercise's id.")]
    params: dict[str, float] = Field(
        default_factory=dict, description="Override the exercise's parameters."
    )
    # bounded as every title is: 60 of 200,000 characters made a 71 MB pack per track
    title: Title | None = Field(None, description="Override the exercise's title (chapter "
                                "name).")


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
        Annotated[Transition, Tag("transition-step")],
        Annotated[Section, Tag("section-step")],
        Annotated[ExerciseRef, Tag("exercise-step")],
    ],
    Discriminator(_step_tag, custom_error_type="step_kind",
                  custom_error_message="a step needs one of: " + ", ".join(STEP_KEYS)),
]


_VALUED: Final = (Hold, Breathe, Repeat, Sides, Transition, Pause, Rest)
STEP_TAGS: Final = Tagged(STEP_KEYS, "-step", "step_kind", "step", inner_keys(
    _VALUED, STEP_KEYS), inner_elsewhere(_VALUED, STEP_KEYS))
"""How the step union shows up in validation errors."""

for _model in (SidesSpec, Sides, Section):
    _model.model_rebuild()
