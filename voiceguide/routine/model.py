"""Routine and exercise files as pydantic models (the steps live in ``steps``).

Wherever a number is expected, a ``$name`` string refers to a parameter of the
enclosing exercise (or routine); it is substituted before validation (see
``library.substitute_params``), so every error still points at the line in the file
where it was written.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from voiceguide.io.models import FileModel
from voiceguide.languages import LANGUAGES, base_code, language_named, language_tag
from voiceguide.routine.lexicon import LexiconSpec, Pronunciation
from voiceguide.routine.steps import Position, Posture, Step, Text
from voiceguide.routine.titles import Title
from voiceguide.settings import LEVELS, Level, known_bed, printable_text


class Exercise(FileModel):
    """A reusable exercise: a titled list of steps with parameters."""

    title: Annotated[Title, Field(description="Its name, said as its chapter's title.")]
    summary: str = Field("", description="One line on what the exercise is.")
    position: Position = Field(
        "floor", description="Where it is done: lying (floor or bed), seated, kneeling, "
        "standing, or any. A change of position gets a spoken cue and time to move, and "
        "'open your eyes' before kneeling or standing work."
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
    steps: Annotated[list[Step], Field(min_length=1, description="What it does, in order.")]


class LengthRange(FileModel):
    """The range of track lengths (minutes) a routine is designed for."""

    min: Annotated[float, Field(gt=0, le=180, description="Shortest, in minutes.")]
    max: Annotated[float, Field(gt=0, le=180, description="Longest, in minutes.")]

    @model_validator(mode="after")
    def _order(self) -> LengthRange:
        if self.min > self.max:
            raise ValueError(f"'min' ({self.min:g}) is more than 'max' ({self.max:g}); "
                             "swap them")
        return self


def _language(value: str) -> str:
    named = language_named(value)  # "Italiano", "italian", "br" (a review: no hint)
    meant = f" (did you mean '{named}'?)" if named else ""
    if language_tag(value) is None:  # 'en-"><svg/x'
        raise ValueError(f"'{value}' is not a language tag{meant}; write one such as en, "
                         "de, es or en-GB")
    if base_code(value) not in LANGUAGES:
        raise ValueError(f"voiceguide has no words for language '{value}'{meant}; use one of "
                         + ", ".join(sorted(LANGUAGES)) + ", with a region where the voice "
                         "should have it (pt-BR, en-GB)")
    return value


class RoutineSpec(FileModel):
    """A routine file, as written."""

    title: Annotated[Title, Field(description="The track's title (and the file's name).")]
    # bounded, as the title is: a lone surrogate (YAML's "\udfff") crashed the MP3 writer
    description: Annotated[str, Field(max_length=4000),
                           AfterValidator(lambda v: printable_text(v, "\n\t"))] = Field(
        "", description="A few sentences for the tags and the feed.")
    author: Annotated[str, Field(max_length=120), AfterValidator(printable_text)] = Field(
        "voiceguide", description="Who wrote the routine.")
    level: Level = Field("beginner", description="Default level.")
    language: Annotated[str, Field(min_length=2, max_length=16), AfterValidator(_language)] \
        = Field("en", description="Language of the narration (en, de or es): the words "
                "voiceguide adds (sides, countdowns, built-in phrases) come from its table, "
                "and without --voice a voice of this language speaks.")
    lexicon: LexiconSpec = Field(default_factory=dict, description="How words should be "
                                 "said: word -> respelling, or {say, espeak, piper}. Spoken "
                                 "text only; wins over the user's and the default lexicon.")
    tags: list[str] = Field(default_factory=list, description="Keywords.")
    length: LengthRange | None = Field(None, description="Designed length range in minutes.")
    bed: Annotated[str | None, AfterValidator(known_bed), AfterValidator(printable_text)] = Field(
        None, description="Default background bed (name or file).")
    room_tone: bool = Field(True, description="Without a bed, lay a very quiet room tone "
                            "under the track so long holds are never digital silence (a "
                            "listener with eyes closed knows the track is still playing).")
    start: Posture = Field("any", description="The listener's position when the track "
                           "starts (lying, seated, kneeling, standing or any).")
    phrases: dict[str, Text] = Field(default_factory=dict, description="Phrase templates.")
    params: dict[str, float] = Field(default_factory=dict, description="Routine parameters.")
    exercises: dict[str, Exercise] = Field(
        default_factory=dict, description="Exercises defined in this file (by id)."
    )
    steps: Annotated[list[Step], Field(min_length=1, description="What plays, in order.")]


@cache
def known_keys() -> frozenset[str]:
    """Every key the routine and exercise formats know (for 'did you mean' hints)."""
    from voiceguide.routine import steps

    models: list[type[FileModel]] = [
        m for m in vars(steps).values()
        if isinstance(m, type) and issubclass(m, FileModel) and m is not FileModel
    ]
    keys: set[str] = set()
    models += [Exercise, LengthRange, RoutineSpec, Pronunciation]
    for model in models:
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
    return frozenset(keys)
