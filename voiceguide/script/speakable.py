"""Text a voice can say: numbers as words, and no emoji, pictographs or letters of a
script the voice does not read (they stay in tags and file names, never in speech)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_ONES: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
_TENS: Final = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                "ninety")
SCRIPTS: Final = {"en": "LATIN", "de": "LATIN", "es": "LATIN", "fr": "LATIN", "it": "LATIN",
                  "pt": "LATIN", "nl": "LATIN", "ru": "CYRILLIC", "uk": "CYRILLIC",
                  "el": "GREEK"}
"""The script each language's voices read; letters of other scripts are not spoken."""
_SPACES: Final = re.compile(r"\s+")
_LOOSE_PUNCT: Final = re.compile(r"\s+([,.;:!?])")


def number_words(value: object) -> str:
    """An English whole number in words (0-999: ``21`` -> ``twenty-one``); other values
    unchanged. Use it as ``{{ reps | words }}`` so a count is said, not read as digits."""
    try:
        n = int(str(value))
    except ValueError:
        return str(value)
    if not 0 <= n <= 999:
        return str(n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


def _spoken(ch: str, script: str | None) -> bool:
    category = unicodedata.category(ch)
    if category[0] in ("S", "C") and ch not in "\n\t":  # emoji, symbols, controls, unassigned
        return category == "Sc"  # currency signs are read out
    if category == "Mn" and "VARIATION SELECTOR" in unicodedata.name(ch, ""):
        return False
    if category[0] == "L" and script is not None and not ch.isascii():
        return unicodedata.name(ch, "").startswith(script)
    return True


def speakable(text: str, language: str = "en") -> str:
    """``text`` with what the voice cannot speak removed (emoji, pictographs, symbols,
    letters of another script), spaces tidied."""
    script = SCRIPTS.get(language.split("-")[0].lower())
    kept = "".join(ch if _spoken(ch, script) else " " for ch in text)
    return _LOOSE_PUNCT.sub(r"\1", _SPACES.sub(" ", kept)).strip()
