"""Names files may use that every layer checks: the built-in beds (a routine, a profile
and a pack name a bed before any sound is made), the default format and engine, and how
a file named in a file is found. Light: no audio stack, no models (the up-to-date answer
uses them before either loads)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

BEDS: Final = ("rain", "ocean", "drone")
"""Built-in beds."""
BED_FORMATS: Final = (".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a", ".aac", ".opus")
"""What the name of a bed file may end with."""
DEFAULT_FORMAT: Final = "mp3"
"""The output format when none is chosen."""
DEFAULT_ENGINE: Final = "espeak"
"""The speech engine when none is chosen."""

AUDIO_SUFFIXES: Final = (".mp3", ".m4a", ".m4b", ".opus", ".ogg", ".wav", ".flac", ".aac")
"""What the name of an audio file ends with (an output folder named so is a mistake, and
a track written under another format's is one too)."""
VOICE_FILE_SUFFIXES: Final = (".onnx",)
"""A voice ending so is a model file (a Piper voice), not an engine's voice id."""


_CLOCK: Final = re.compile(r"\s*([0-9]{1,3}):([0-5][0-9])\s*")


_NAMED: Final = re.compile(r"\s*(?:([0-9]{1,4}(?:\.[0-9]{1,6})?)\s?(?:m|mins?|minutes?)"
                           r"|([0-9]{1,3})m\s?([0-5][0-9])s)\s*", re.IGNORECASE)
"""A length as a file name writes it (:func:`length_name`): ``6min``, ``7.5min``, ``4m59s``;
or as people write one: ``5m``, ``5 minutes`` (``5m`` was refused while ``4m30s`` was
taken: an app team's review)."""


def minutes_of(value: Any) -> Any:
    """A length written as minutes and seconds (``'3:59'``, as every command prints one),
    as a file name writes it (``'6min'``, ``'4m59s'``) or as people do (``'5m'``,
    ``'5 minutes'``) in minutes (3.98...); any other value as it is, for its reader to
    take or refuse (``show`` said "it can last 3:59 to 7:42", and ``--minutes 3:59`` was
    "must be a number"; ``--minutes 6min`` too, for a file named ``6min``)."""
    if not isinstance(value, str):
        return value
    if (found := _CLOCK.fullmatch(value)) is not None:
        return int(found[1]) + int(found[2]) / 60
    if (named := _NAMED.fullmatch(value)) is None:
        return value
    return float(named[1]) if named[1] else int(named[2]) + int(named[3]) / 60


_TWO_DECIMALS: Final = re.compile(r"\s*[0-9]{1,4}\.[0-9]{2}\s*")


def seconds_as_decimal(value: Any) -> str | None:
    """What to say of a length in minutes whose decimals read like seconds: ``8.30`` is
    8.3 minutes, 8:18, where a coach meant 8:30 ("8.30 is 8:18 (minutes as a decimal);
    for 8 minutes 30 seconds write 8:30"). A float is taken by its hundredths (a file's
    ``minutes: 8.30`` reads as 8.3); text only with two decimals (``--minutes 8.3``
    is a decimal as written). None for any other value, and for quarters and halves
    (7.25, 7.50) and hundredths of 60 or more."""
    if isinstance(value, str):
        if not _TWO_DECIMALS.fullmatch(value):
            return None
        shown, number = value.strip(), float(value)
    elif isinstance(value, float) and 0 <= value < 1e6:
        shown, number = f"{value:g}", value
    else:
        return None
    hundredths = round(number % 1 * 100, 6)
    if not (0 < hundredths < 60 and hundredths == int(hundredths)) or hundredths in (25, 50):
        return None
    whole, said, secs = int(number), int(hundredths), int(round(number * 60))
    return (f"{shown} is {secs // 60}:{secs % 60:02d} (minutes as a decimal); for {whole} "
            f"minutes {said} seconds write {whole}:{said:02d}")


def length_name(minutes: float, shown: bool = False) -> str:
    """A length in a file name, ``12min``, ``7.5min``, or ``3m59s`` where its minutes are
    not a short decimal (3:59 is 3.98333... minutes); ``shown`` in a title: ``12 min``,
    ``7.5 min``, ``3:59``."""
    short = f"{minutes:g}"
    seconds = round(minutes * 60) if abs(minutes) < 1e9 else 0  # inf, nan: refused later
    if len(short.partition(".")[2]) <= 2 or abs(minutes * 60 - seconds) > 1e-6:
        return f"{short} min" if shown else f"{short}min"
    return f"{seconds // 60}{':' if shown else 'm'}{seconds % 60:02d}{'' if shown else 's'}"


def looks_like_file(name: str) -> bool:
    """Whether a bed value names a file (has a folder or an extension), not a built-in."""
    return "/" in name or os.sep in name or Path(name).suffix != ""


def names_file(key: str, value: Any) -> bool:
    """Whether setting ``key`` (bed or voice) with ``value`` names a file, not a built-in
    bed or a voice of an engine."""
    return isinstance(value, str) and (
        (key == "bed" and looks_like_file(value))
        or (key == "voice" and value.endswith(VOICE_FILE_SUFFIXES)))


def beside(key: str, value: Any, base: Path) -> Any:
    """A bed or voice file (``key``) named in a file in folder ``base`` (a pack's or a
    profile's), as it is found from wherever one builds: ``~`` expanded, a relative path
    taken from ``base``. Any other value as given."""
    if names_file(key, value):
        path = expand_home(Path(value))  # '~who/...' as written where who is unknown
        if path.is_absolute() or value.startswith("~"):
            return str(path)
        # joined as text: still a file's name ('beds/' from '.' was 'beds', a bed no one
        # has heard of, and an internal error; a pack's review)
        return value if str(base) == "." else os.path.join(str(base), value)
    return value


def expand_home(path: Path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; as given where that home is
    unknown (the file is then not found, and the error names it as written)."""
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def noncharacter(code: int) -> bool:
    """Whether ``code`` is one of Unicode's 66 noncharacters (U+FDD0-FDEF, U+xFFFE and
    U+xFFFF): never text, shown as a box (a player review: U+FFFE in a pack's title)."""
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def given_values(layer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a layer of values gives: None, or an empty text (a form's empty
    field, ``--bed ""``), is not given; but for ``name``, where empty means no name (an
    app team's review: ``{"minutes": ""}`` was a request to ``track_request`` and "must
    be a number (got '')" to ``build_track``)."""
    return {k: v for k, v in layer.items() if v is not None and (v != "" or k == "name")}
