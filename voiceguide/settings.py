"""Track settings: the one owner of every setting that decides a track, its bounds and
defaults, and the layering that combines them.

A listener's profile, a pack's ``defaults``, a pack track and the command-line options
are each a :class:`TrackSettings` layer; :meth:`TrackSettings.layered` applies them in
that order, a later layer winning for every key it was given. Bounds live here once; a
value out of bounds is an error at the file and line where it was written (or names the
option).
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator

from voiceguide.errors import UsageError, option, suggest, unknown_engine
from voiceguide.io.models import FileModel
from voiceguide.io.paths import leaves_folder, unnameable
from voiceguide.limits import too_large
from voiceguide.vocabulary import (
    BED_FORMATS,
    BEDS,
    DEFAULT_ENGINE,
    DEFAULT_FORMAT,
    beside,
    given_values,
    looks_like_file,
    minutes_of,
    names_file,
    noncharacter,
)

Level = Literal["beginner", "advanced"]
LEVELS: Final[tuple[Level, ...]] = ("beginner", "advanced")

DEFAULT_RATE: Final = 140
"""Words per minute as heard: calm guidance sits around 130-150."""
MIN_RATE: Final = 100
MAX_RATE: Final = 300
CALM_RATE: Final = 180
"""Fastest rate a track is spoken at without a warning that it is faster than calm
guidance (a listening audit: --rate 300 was heard at 255-386 words per minute, silently)."""
DEFAULT_LOUDNESS: Final = -16.0
"""Integrated loudness target (LUFS), as podcast apps use."""
MIN_LOUDNESS: Final = -40.0
MAX_LOUDNESS: Final = -6.0
DEFAULT_BED_DB: Final = -14.0
"""Bed level in holds, in dB relative to the loudness target."""
MIN_BED_DB: Final = -60.0
MAX_BED_DB: Final = 0.0
MIN_MINUTES: Final = 0.5
MAX_MINUTES: Final = 180.0
MAX_NAME: Final = 60
"""Longest listener name."""


JOINERS: Final = frozenset("\u200c\u200d\u200e\u200f\u061c")
"""Invisible characters names are written with (zero-width non-joiner and joiner, as
in emoji sequences such as a person in lotus position and in Persian or Indic
spellings; left-to-right, right-to-left and Arabic letter marks), allowed where text may
not hold control characters. Direction overrides and isolates stay refused."""
_FLAG: Final = "\U0001f3f4"
"""The black flag a subdivision flag (Scotland, Wales) starts with; the tag characters
U+E0020-E007F after it spell the region (elsewhere they are hidden text, refused)."""


PASTED: Final = frozenset("\u200b\u00ad\u2060\ufeff\u034f\u115f\u1160\u3164\uffa0")
"""Invisible characters text copied from elsewhere brings along (zero-width space, soft
hyphen, word joiner, byte order mark, combining grapheme joiner, the Hangul fillers):
dropped, not refused."""


def control_character(text: str, allow: str = "") -> int | None:
    """Where (1-based) ``text`` holds its first character that is not text: a control,
    format (but :data:`JOINERS` and a flag's tags), surrogate, private-use or
    noncharacter, or a line or paragraph separator; ``allow``: characters taken anyway
    (line breaks, tabs). Spaces of every width are text, and so are characters newer than this
    Python's Unicode tables (an emoji of 2022 such as U+1FA77 was refused as unassigned)."""
    flag = False  # inside a subdivision flag's tag sequence
    for i, ch in enumerate(text, 1):
        flag = (ch == _FLAG or flag) and (ch == _FLAG or "\U000e0020" <= ch <= "\U000e007f")
        if ch not in allow and ch not in JOINERS and not flag and (
                unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
                or noncharacter(ord(ch))):
            return i
    return None


def printable_text(value: Any, allow: str = "") -> Any:
    """Validator: text without control characters (see :func:`control_character`); the
    invisible leftovers of a paste (:data:`PASTED`) are dropped."""
    if not isinstance(value, str):
        return value
    if not PASTED.isdisjoint(value):
        value = "".join(ch for ch in value if ch not in PASTED)
    at = control_character(value, allow)
    if at is not None:
        raise ValueError(f"must not contain control characters (U+{ord(value[at - 1]):04X}, "
                         f"character {at})")
    return value


def _loudness(value: Any) -> Any:
    if value is False or (isinstance(value, str) and value.lower() in ("off", "none")):
        return "off"  # YAML reads `loudness: off` as false
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not MIN_LOUDNESS <= value <= MAX_LOUDNESS):
        raise ValueError(f"must be a number of LUFS from {MIN_LOUDNESS:g} to "
                         f"{MAX_LOUDNESS:g}, or 'off' (got {value!r})")
    return float(value)


def _empty_name(value: Any) -> Any:
    return "" if value is None else value


Loudness = Annotated[
    float | Literal["off"],
    BeforeValidator(_loudness, json_schema_input_type=Annotated[
        float, Field(ge=MIN_LOUDNESS, le=MAX_LOUDNESS)] | Literal["off"]),
]
"""A loudness target in LUFS, or 'off'."""


class TrackSettings(FileModel):
    """Everything a listener or coach chooses for one track. In a profile or pack file
    every key is optional; a key given with a value overrides the layers below it."""

    KEYS_ELSEWHERE: ClassVar[Mapping[str, str]] = {
        "language": "a track speaks its routine's language: use a routine written in it "
        "(hueften-sanft is German, caderas-suaves Spanish, hanches-douces French, "
        "anche-morbide Italian, quadris-suaves Portuguese; "
        "'voiceguide list' shows each routine's language)"}
    """Keys written for a track that are set elsewhere, with where (said for them)."""

    name: Annotated[str, BeforeValidator(_empty_name), Field(max_length=MAX_NAME)] = Field(
        default="", description="Listener's name, used in the narration ('' for none)."
    )
    voice: str | None = Field(default=None, description="Voice id (see 'voiceguide voices'); "
                              "empty: a voice of the routine's language.")
    rate: Annotated[int, Field(ge=MIN_RATE, le=MAX_RATE)] = Field(
        default=DEFAULT_RATE, description="Speaking rate in words per minute, as heard (every "
        "engine is calibrated to it)."
    )
    level: Level | None = Field(default=None, description="beginner or advanced (empty: the "
                                "routine's own level).")
    optional: bool = Field(default=True, description="Include the routine's optional steps.")
    minutes: Annotated[float, Field(ge=MIN_MINUTES, le=MAX_MINUTES),
                       BeforeValidator(minutes_of)] | None = Field(
        default=None, description="Track length in minutes, or minutes and seconds as text "
        "('3:30') (empty: the routine's own length)."
    )
    strict_minutes: bool = Field(
        default=False, description="Fail instead of building the nearest reachable length "
        "when 'minutes' falls in a gap of the routine (its repetitions and breaths come in "
        "whole steps)."
    )
    bed: str | None = Field(default=None, description="Background: none, rain, ocean, drone "
                            "or an audio file (empty: the routine's bed).")
    bed_volume: Annotated[float, Field(ge=MIN_BED_DB, le=MAX_BED_DB)] = Field(
        default=DEFAULT_BED_DB, description="Bed level in dB relative to the loudness target."
    )
    loudness: Loudness = Field(
        default=DEFAULT_LOUDNESS, description="Loudness target in LUFS (-40 to -6), or 'off'."
    )
    format: str = Field(default=DEFAULT_FORMAT, description="Output format: mp3, m4a, m4b, "
                        "opus, wav, or one a plug-in adds (see 'voiceguide build --help').")
    engine: str = Field(default=DEFAULT_ENGINE, description="Speech engine.")

    # before the length is checked: a paste's invisible leftovers do not count toward it
    check_text = field_validator("name", "bed", "voice", mode="before")(printable_text)

    @field_validator("name")
    @classmethod
    def _has_letters(cls, value: str) -> str:
        if value.strip() and all(unicodedata.category(ch)[0] in "MZ" or ch in JOINERS
                                 for ch in value):  # accents on nothing: an empty name
            raise ValueError("a name needs a letter (it holds only accents or marks)")
        return value

    @field_validator("bed")
    @classmethod
    def _known_bed(cls, value: str | None) -> str | None:
        return known_bed(value)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from voiceguide.plugins import collect, lookup

        if lookup("register_formats", value) is None:
            if value.lower() != value and lookup("register_formats", value.lower()):
                return value.lower()  # --format MP3
            names = sorted(f.name for f in collect("register_formats"))
            raise ValueError(f"unknown format '{value}'{suggest(value, names)}; "
                             f"use one of {', '.join(names)}")
        return value

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        from voiceguide.plugins import collect, lookup

        if lookup("register_engines", value) is None:
            raise ValueError(unknown_engine(value, collect("register_engines")))
        return value

    @property
    def loudness_target(self) -> float | None:
        """The LUFS target, or None when normalisation is off."""
        return None if self.loudness == "off" else float(self.loudness)

    def recorded(self, routine_level: str, routine_bed: str | None) -> dict[str, Any]:
        """What a cue sheet records of these settings, beside ``voice`` and ``rate``: the
        level and bed played (the routine's where these leave them to it; a bed file by
        its name alone, as a cue sheet may be published), the bed's level, the loudness
        target, the length asked for, whether optional steps play, and the format."""
        bed = self.bed if self.bed is not None else routine_bed
        return {"level": self.level or routine_level, "optional": self.optional,
                "minutes": self.minutes,
                "bed": "none" if bed is None or bed == "none" else Path(bed).name,
                "bed_volume": self.bed_volume, "loudness": self.loudness_target,
                "format": self.format}

    def given(self) -> dict[str, Any]:
        """The keys this layer sets, with their values (a key left empty sets nothing)."""
        values = {k: getattr(self, k) for k in sorted(self.model_fields_set)}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def layered(cls, *layers: TrackSettings | Mapping[str, Any] | None) -> TrackSettings:
        """Apply settings layers in order (profile < pack defaults < track < command
        line): each layer overrides the keys it was given (a dict: its keys, checked)."""
        values: dict[str, Any] = {}
        for layer in layers:
            if layer is not None:
                values.update(settings_of(layer).given())
        return cls.model_validate(values)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, as_settings: bool = False
                     ) -> TrackSettings:
        """A layer from a user's values (an app's request, or the command line's options;
        None or empty: not given); a bad value is a :class:`UsageError` naming it as its
        caller knows it (``'bed_volume'`` from Python, ``--bed-volume`` inside
        :func:`~voiceguide.errors.cli_messages`), or with ``as_settings`` always as the
        setting (a file's values)."""
        if not isinstance(options, Mapping):
            raise UsageError(f"options are a dict of settings, not {type(options).__name__}")
        try:
            return cls.model_validate(given_values(options))
        except ValidationError as exc:
            raise UsageError(_option_message(exc, as_settings)) from None


_BOUNDS: Final = {
    "rate": (MIN_RATE, MAX_RATE),
    "minutes": (MIN_MINUTES, MAX_MINUTES),
    "bed_volume": (MIN_BED_DB, MAX_BED_DB),
}
"""Ranges named in command-line errors (the same constants bound the fields)."""


def _shown(value: Any, quoted: bool = True) -> str:
    """A value as an error message shows it: a number of thousands of digits is not
    written out (Python refuses to), long text is cut."""
    if too_large(value):
        return "a number too large"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)  # --minutes 0 is "got 0", not "got 0.0"
    if isinstance(value, float):  # --minutes 0:29 is "got 0.483333", not 0.48333333333333334
        return f"{value:.6g}"
    text = repr(value) if quoted else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _option_message(exc: ValidationError, as_settings: bool = False) -> str:
    first = exc.errors(include_url=False)[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    said = (f"'{name}'" if as_settings else option(name)) if name else "option"
    message = str(first.get("ctx", {}).get("error", first["msg"]))
    if first["type"] == "extra_forbidden":
        message = "is not a setting" + suggest(name, TrackSettings.model_fields)
    if first["type"] in ("int_parsing", "int_from_float", "float_parsing"):
        whole = "a whole number" if first["type"].startswith("int") else "a number"
        message = f"must be {whole} (got {_shown(first['input'])})"
    if first["type"] in ("string_type", "bool_type", "bool_parsing"):  # {"name": 5}
        kind = "text" if first["type"] == "string_type" else "true or false"
        message = f"must be {kind} (got {_shown(first['input'])})"
    if first["type"] == "literal_error":
        message = f"must be one of {first['ctx']['expected']} (got {_shown(first['input'], False)})"
    if first["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _BOUNDS.get(name, (None, None))
        if low is not None and high is not None:
            message = f"must be between {low:g} and {high:g} (got {_shown(first['input'], False)})"
    if first["type"] in ("too_long", "string_too_long") and isinstance(first["input"], str):
        message = (f"must be at most {first['ctx']['max_length']} characters (got "
                   f"{len(first['input'])})")
    # "--rate must be ...", "'nmae' is not a setting", but "--bed: unknown bed 'rian'"
    joint = " " if message.startswith(("must ", "is ")) else ": "
    return f"{said}{joint}{message}"


def settings_of(value: TrackSettings | Mapping[str, Any] | None) -> TrackSettings:
    """Settings an app passes: the object, a dict of values (checked as
    :meth:`TrackSettings.from_options` checks them) or None (every default)."""
    if value is None:
        return TrackSettings()
    if isinstance(value, TrackSettings):  # checked again: model_copy(update=...) checks
        try:  # nothing (an app team's review: {"name": 5} was a TypeError in the narration)
            return TrackSettings.model_validate({k: getattr(value, k)
                                                 for k in value.model_fields_set})
        except ValidationError as exc:
            raise UsageError(_option_message(exc, True)) from None
    if isinstance(value, Mapping):
        return TrackSettings.from_options(value)
    raise UsageError(f"settings are a TrackSettings or a dict, not {type(value).__name__}")


def known_bed(value: str | None) -> str | None:
    """A bed value as given: none, a built-in bed's name or a file (a folder or an
    extension); empty is None (not set). Anything else is a ValueError, before any sound
    is looked for (a misspelt name is caught where it is written)."""
    if value is None or not value.strip():
        return None
    if value.lower() in (*BEDS, "none") and not looks_like_file(value):
        return value.lower()  # --bed Rain
    if looks_like_file(value):
        if (why := unnameable(value)) is not None:
            raise ValueError(why)
        return value
    raise ValueError(unknown_bed(value))


def unknown_bed(name: str, path: Path | None = None) -> str:
    """Why the bed ``name`` is none: not a built-in, and (``path``: where its file was
    looked for) with no audio file's extension and no such file (``beds/rain``); an
    empty string where it may be a file (one that is not there, or not audio, is said
    when it is read)."""
    if path is not None and (path.suffix.lower() in BED_FORMATS or path.exists()):
        return ""
    return f"unknown bed '{name}'{suggest(name, BEDS)}; use none, {', '.join(BEDS)} or " \
        "an audio file"


def files_outside(layer: TrackSettings, base: Path, also: Sequence[Path] = ()
                  ) -> list[tuple[str, str, str]]:
    """The bed and voice files ``layer`` (as written in a file in folder ``base``) names
    outside that folder and the folders ``also``: ``(key, value, why)`` (see
    :func:`~voiceguide.io.paths.leaves_folder`)."""
    found = []
    for key in ("bed", "voice"):
        value = getattr(layer, key)
        why = leaves_folder(value, base, also) if names_file(key, value) else None
        if why is not None:
            found.append((key, value, why))
    return found


def relative_to(layer: TrackSettings, base: Path) -> TrackSettings:
    """``layer`` with its bed file or voice file as found from ``base`` (a pack's or a
    profile's folder; see :func:`~voiceguide.vocabulary.beside`)."""
    update = {key: found for key in ("bed", "voice")
              if (found := beside(key, getattr(layer, key), base)) != getattr(layer, key)}
    return layer.model_copy(update=update) if update else layer
