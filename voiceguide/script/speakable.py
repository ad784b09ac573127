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
    (re.compile(r"(?<![\d:.])\b\d{1,3}\s?x\b", re.I),
     "'{m}' is read as a number and the letter x: write '{times}'"),
    # not a time (10:30-11:00), a pose (90-90) or a count (1-2-3)
    (re.compile(r"(?<![\d:.\u2013-])\b(\d{1,3})\s?[-\u2013]\s?(?!\1\b)\d{1,3}\b"
                r"(?![\d:.]|\s?[-\u2013]\s?\d)"),
     "a range ('{m}') is read as two numbers: write '{range}'"),
    (re.compile(r"\w+\s?/\s?\w+"), "a slash ('{m}') is read as 'slash': write '{either}' or "
                                 "'{both}'"),
    (re.compile(r"\([^)]*\)"), "words in parentheses ('{m}') are not heard as an aside: "
                                  "make them a sentence of their own"),
)
"""What a synthetic voice says badly (NARRATION: short sentences, no slashes,
abbreviations, parentheses or digits with units), and the fix."""

_FIX_WORDS: Final = {
    "en": {"seconds": "thirty seconds", "either": "or", "both": "and"},
    "de": {"seconds": "dreißig Sekunden", "either": "oder", "both": "und"},
    "es": {"seconds": "treinta segundos", "either": "o", "both": "y"},
}
"""The words a fix suggests, in the routine's language (the message is in English)."""

_TIMES_WORDS: Final = {"en": ("once", "twice", "{n} times"), "de": ("einmal", "zweimal", "{n}mal"),
                       "es": ("una vez", "dos veces", "{n} veces")}
"""How a number of times is said (1, 2, more)."""
_RANGE_WORD: Final = {"en": "to", "de": "bis", "es": "a"}
"""What joins the two ends of a range in words."""


def _number_fixes(m: str, language: str) -> dict[str, str]:
    """The words for the numbers of a match (``3x``: times; ``3-4``: a range)."""
    base = language.split("-")[0].lower()
    numbers = [int(d) for d in re.findall(r"\d+", m)]
    if not numbers:
        return {}
    once, twice, many = _TIMES_WORDS.get(base, _TIMES_WORDS["en"])
    n = numbers[0]
    times = once if n == 1 else twice if n == 2 else many.format(n=number_words(n, language))
    ends = [number_words(k, language) for k in numbers[:2]]
    return {"times": times, "range": f" {_RANGE_WORD.get(base, 'to')} ".join(ends)}


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
            found.append(why.format(m=m.group()[:40], **fix_words,
                                    **_number_fixes(m.group(), language)))
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
    "en": r"heal(?:s|ed|ing)?|cur(?:e|es|ed|ing)|treats|treated|treating|detox\w*|"
          r"releas\w* (?:\w+ )?trauma",
    "de": r"heil(?:t|en|ung)|kuriert|entgift\w*|(?:löst|lösen) (?:\w+ )?Trauma\w*",
    "es": r"cura(?:r|n)?|sana(?:r|n)|desintoxic\w*|liber\w* (?:\w+ )?trauma\w*",
}
"""Words of each language that claim a medical effect (NARRATION: never claim one)."""
_DENIED: Final = {
    "en": r"not|no|never|n't|without|nor",
    "de": r"nicht|kein\w*|nie|ohne|ersetzt",
    "es": r"no|nunca|sin|ni|sustituye",
}
"""Words that make a sentence deny a claim ('This does not treat or cure any condition'):
the safety setup says what a track is not."""


@lru_cache(maxsize=16)
def _claim(language: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    base = language.split("-")[0].lower()
    words = _CLAIMS.get(base)
    return (re.compile(rf"\b(?:{words})\b", re.I),
            re.compile(rf"\b(?:{_DENIED[base]})\b", re.I)) if words else None


def medical_claim(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``text`` reads as a claim of a medical effect (with the fix), or None; a
    sentence that denies one (a safety setup) is not a claim."""
    patterns = _claim(language)
    if patterns is None:
        return None
    claim, denied = patterns
    for sentence in _SENTENCE_END.split(text):
        m = claim.search(sentence)
        if m is not None and not denied.search(sentence):
            return (f"'{m.group()}' claims a medical effect: say what to do and what one may "
                    "feel, never what it heals or treats (a coach's track is not a treatment)")
    return None
