"""Text a voice can say: numbers as words, and no emoji, pictographs or letters of a
script the voice does not read (they stay in tags and file names, never in speech)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from voiceguide import languages
from voiceguide.languages import DEFAULT_LANGUAGE

SCRIPTS: Final = {"en": "LATIN", "de": "LATIN", "es": "LATIN", "fr": "LATIN", "it": "LATIN",
                  "pt": "LATIN", "nl": "LATIN", "ru": "CYRILLIC", "uk": "CYRILLIC",
                  "el": "GREEK"}
"""The script each language's voices read; letters of other scripts are not spoken."""
_SPACES: Final = re.compile(r"\s+")
_LOOSE_PUNCT: Final = re.compile(r"\s+([,.;:!?])")
_PHONEME_BRACKETS: Final = re.compile(r"\[{2,}|\]{2,}")
"""espeak-ng and Piper read ``[[...]]`` as phonemes: only a lexicon may put them in."""


def number_words(value: object, language: str = DEFAULT_LANGUAGE) -> str:
    """A whole number (0-999) in words of ``language`` (``21`` -> ``twenty-one``, German
    ``einundzwanzig``); other values unchanged. Use it as ``{{ reps | words }}`` so a
    count is said, not read as digits."""
    return languages.number_words(value, language)


def _spoken(ch: str, script: str | None) -> bool:
    category = unicodedata.category(ch)
    if category[0] in ("S", "C") and ch not in "\n\t":  # emoji, symbols, controls, unassigned
        return category == "Sc"  # currency signs are read out
    if category == "Mn" and "VARIATION SELECTOR" in unicodedata.name(ch, ""):
        return False
    if category[0] == "L" and script is not None and not ch.isascii():
        return unicodedata.name(ch, "").startswith(script)
    return True


@lru_cache(maxsize=4096)
def speakable(text: str, language: str = "en") -> str:
    """``text`` with what the voice cannot speak removed (emoji, pictographs, symbols,
    letters of another script), spaces tidied; ``[[`` and ``]]`` become single brackets
    (engines read double ones as phonemes: only a pronunciation lexicon puts them in).
    Remembered: a script says the same few lines many times, and the length fitter
    writes it again at each trial length."""
    script = SCRIPTS.get(language.split("-")[0].lower())
    kept = "".join(ch if _spoken(ch, script) else " " for ch in
                   _PHONEME_BRACKETS.sub(lambda m: m.group()[0], text))
    return _LOOSE_PUNCT.sub(r"\1", _SPACES.sub(" ", kept)).strip()


_SAID_BADLY: Final = (
    (re.compile(r"\b\d{1,3}(?:[.,]\d+)?\s?(?:s|secs?|mins?|m|h|hrs?)\b", re.I),
     "a number with a unit letter ('{m}') is read letter by letter: write the unit as a "
     "word ('{seconds}')"),
    (re.compile(r"\b\d{1,3}\s?x\b", re.I), "'{m}' is read as a number and the letter x: "
                                          "write '{twice}'"),
    (re.compile(r"\b\d{1,3}\s?[-\u2013]\s?\d{1,3}\b"), "a range ('{m}') is read as two "
                                                       "numbers: write '{range}'"),
    (re.compile(r"\w+\s?/\s?\w+"), "a slash ('{m}') is read as 'slash': write '{either}' or "
                                 "'{both}'"),
    (re.compile(r"\([^)]*\)"), "words in parentheses ('{m}') are not heard as an aside: "
                                  "make them a sentence of their own"),
)
"""What a synthetic voice says badly (NARRATION: short sentences, no slashes,
abbreviations, parentheses or digits with units), and the fix."""

_FIX_WORDS: Final = {
    "en": {"seconds": "thirty seconds", "either": "or", "both": "and", "twice": "twice",
           "range": "three to four"},
    "de": {"seconds": "dreißig Sekunden", "either": "oder", "both": "und",
           "twice": "zweimal", "range": "drei bis vier"},
    "es": {"seconds": "treinta segundos", "either": "o", "both": "y", "twice": "dos veces",
           "range": "de tres a cuatro"},
}
"""The words a fix suggests, in the routine's language (the message is in English)."""


_ABBREVIATIONS: Final = {
    "en": r"Dr|Mr|Mrs|Ms|St|approx|etc|vs|e\.g|i\.e",
    "de": r"Dr|Fr|Hr|St|ca|bzw|usw|etc|Nr|z\.B|d\.h|u\.a",
    "es": r"Dr|Dra|Sr|Sra|Srta|Ud|Uds|aprox|etc|p\.ej",
}
"""Abbreviations of each language that a voice reads as the end of a sentence."""


@lru_cache(maxsize=16)
def _abbreviation(language: str) -> re.Pattern[str] | None:
    words = _ABBREVIATIONS.get(language.split("-")[0].lower())
    return re.compile(rf"(?<![\w.])(?:{words})\.") if words else None


def said_badly(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Why parts of ``text`` (as it will be spoken in ``language``) will be said badly,
    with the fix."""
    found = []
    fix_words = _FIX_WORDS.get(language.split("-")[0].lower(), _FIX_WORDS["en"])
    abbreviation = _abbreviation(language)
    for pattern, why in (*_SAID_BADLY, *([(abbreviation, _SHORTENED)] if abbreviation else [])):
        m = pattern.search(text)
        if m:
            found.append(why.format(m=m.group()[:40], **fix_words))
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        if len(words) > LONG_SENTENCE_WORDS:
            found.append(f"a sentence of {len(words)} words ('{' '.join(words[:6])} ...') is "
                         "hard to follow with closed eyes: split it, one instruction per "
                         "sentence")
            break
    return found


LONG_SENTENCE_WORDS: Final = 30
"""Most words in one spoken sentence before it is flagged (about 13 s at 140 words per
minute; NARRATION: one instruction per sentence, sentences short)."""
_SENTENCE_END: Final = re.compile(r"(?<=[.!?;:])\s+")


_SHORTENED: Final = "an abbreviation ('{m}') is read as the end of a sentence: write it out"


_CLAIMS: Final = {
    "en": r"heal(?:s|ed|ing)?|cur(?:e|es|ed|ing)|treat(?:s|ed|ing|ment)?(?! yourself)|detox\w*|"
          r"diagnos\w*|therap(?:y|eutic)|releas\w* (?:\w+ )?trauma|fix(?:es)? your",
    "de": r"heil(?:t|en|ung)|kuriert|entgift\w*|Therapie|Trauma",
    "es": r"cura(?:r|n)?|sana(?:r|n)?|desintoxic\w*|terapia|trauma",
}
"""Words of each language that claim a medical effect (NARRATION: never claim one)."""


@lru_cache(maxsize=16)
def _claim(language: str) -> re.Pattern[str] | None:
    words = _CLAIMS.get(language.split("-")[0].lower())
    return re.compile(rf"\b(?:{words})\b", re.I) if words else None


def medical_claim(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``text`` reads as a claim of a medical effect (with the fix), or None."""
    pattern = _claim(language)
    m = pattern.search(text) if pattern else None
    if m is None:
        return None
    return (f"'{m.group()}' claims a medical effect: say what to do and what one may feel, "
            "never what it heals or treats (a coach's track is not a treatment)")
