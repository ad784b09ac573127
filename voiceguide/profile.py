"""Personal profiles: a listener's defaults for ``build`` and ``pack`` (CLI options win).

A profile is a small YAML file. ``voiceguide init`` writes a commented one to the user's
config folder (or a path you give); ``build`` and ``pack`` read ``--profile FILE`` or,
when none is given, that default file if it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Set
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from platformdirs import user_config_dir
from pydantic import BeforeValidator, Field, ValidationError, field_validator

from voiceguide.atomic import write_text
from voiceguide.errors import InvalidInputError, OutputError
from voiceguide.routine import Level, Model, pydantic_problems
from voiceguide.yamlio import load_yaml

PROFILE_ENV: Final = "VOICEGUIDE_PROFILE"
"""Environment variable naming the default profile file."""

def _loudness(value: Any) -> Any:
    if value is None or value == "off":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not -40 <= value <= -6:
        raise ValueError(f"must be a number of LUFS from -40 to -6, or 'off' (got {value!r})")
    return float(value)


Loudness = Annotated[
    float | str,
    BeforeValidator(_loudness, json_schema_input_type=Annotated[float, Field(ge=-40, le=-6)]
                    | Literal["off"]),
]
"""A loudness target in LUFS, or 'off'."""


def printable_text(value: Any) -> Any:
    """Validator: text without control characters."""
    if isinstance(value, str) and any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value


class Settings(Model):
    """Settings of a track, shared by profiles and pack files. Every field is optional:
    one left out falls back to the next layer (pack track < pack defaults < profile)."""

    name: Annotated[str, Field(max_length=60)] | None = Field(
        None, description="Listener's name, used in the narration."
    )
    voice: str | None = Field(None, description="Voice id (see 'voiceguide voices').")
    rate: Annotated[int, Field(ge=80, le=300)] | None = Field(
        None, description="Speaking rate in words per minute."
    )
    level: Level | None = Field(None, description="beginner or advanced.")
    bed: str | None = Field(None, description="none, rain, ocean, drone or an audio file.")
    bed_volume: Annotated[float, Field(ge=-60, le=0)] | None = Field(
        None, description="Bed level in dB relative to the loudness target."
    )
    minutes: Annotated[float, Field(ge=0.5, le=180)] | None = Field(
        None, description="Track length in minutes (within the routine's range)."
    )
    loudness: Loudness | None = Field(
        None, description="Loudness target in LUFS (-40 to -6), or 'off'."
    )

    check_text = field_validator("name", "bed", "voice")(printable_text)


class Profile(Settings):
    """A listener's defaults. Every field is optional."""

    format: Literal["mp3", "wav"] | None = Field(None, description="mp3 or wav.")
    optional: bool | None = Field(None, description="Include optional steps.")


def default_profile_path() -> Path:
    """``$VOICEGUIDE_PROFILE`` or ``profile.yaml`` in the user's config folder."""
    env = os.environ.get(PROFILE_ENV)
    if env:
        return Path(env)
    return Path(user_config_dir("voiceguide", appauthor=False)) / "profile.yaml"


def load_profile(path: Path | None) -> Profile:
    """The profile at ``path``; with None, the default profile if it exists, else empty."""
    if path is None:
        path = default_profile_path()
        if not path.is_file():
            return Profile.model_validate({})
    doc = load_yaml(path, "profile")
    try:
        return Profile.model_validate(doc.data)
    except ValidationError as exc:
        problems = pydantic_problems(doc, exc, model=Profile)
        raise InvalidInputError(problems[0], problems) from None


def looks_like_file(name: str) -> bool:
    """Whether a bed value names a file (has a folder or an extension), not a built-in."""
    return "/" in name or os.sep in name or Path(name).suffix != ""


def apply_settings(request: Any, settings: Settings, given: Set[str] = frozenset(),
                   base: Path | None = None) -> Any:
    """``request`` (a dataclass) with the values ``settings`` sets, except fields in
    ``given``; a relative bed file is taken relative to ``base`` when given."""
    changes: dict[str, Any] = {}
    for field in Profile.model_fields:
        value = getattr(settings, field, None)
        if value is None or field in given:
            continue
        if field == "loudness":
            changes["loudness"] = None if value == "off" else float(value)
        elif field == "optional":
            changes["include_optional"] = value
        elif field == "bed" and base is not None and looks_like_file(value) \
                and not Path(value).is_absolute():
            changes["bed"] = str(base / value)
        else:
            changes[field] = value
    return replace(request, **changes)


PROFILE_TEMPLATE: Final = """\
# voiceguide profile: your defaults for 'voiceguide build' and 'voiceguide pack'.
# Options on the command line win over these. Delete a line to use the built-in default.

# Your name, spoken now and then in the narration (leave empty for none).
name: {name}

# Voice id from 'voiceguide voices' (empty: the engine's default English voice).
voice:

# Speaking rate in words per minute (80-300; 150 is calm and clear).
rate: 150

# beginner or advanced: which variations the routines use.
level: beginner

# Background sound: none, rain, ocean, drone, or the path to your own audio file.
bed: rain

# Bed level in dB relative to the voice loudness (-60 to 0; -14 is soft).
bed_volume: -14

# Default length of a track in minutes (each routine has a range it can fit).
# minutes: 12

# Loudness target in LUFS (-16 suits phones and podcast apps), or off.
loudness: -16

# File format: mp3 (tags, cover, chapters) or wav.
format: mp3

# Include the optional steps of a routine.
optional: true
"""


def write_profile_template(path: Path, name: str = "", force: bool = False) -> Path:
    """Write a commented profile to ``path``; refuse to overwrite unless ``force``."""
    if path.exists() and not force:
        raise OutputError(f"{path}: a profile already exists; use --force to replace it")
    text = PROFILE_TEMPLATE.format(name=json.dumps(name) if name else "")
    write_text(path, text)
    return path
