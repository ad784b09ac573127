"""Text a voice can say: numbers as words, and no emoji, pictographs or letters of a
script the voice does not read (they stay in tags and file names, never in speech)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from voiceguide import languages
from voiceguide.languages import DEFAULT_LANGUAGE, base_code

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
    (re.compile(r"(?<![\d:.,\u2013-])\b(\d{1,3})\s?[-\u2013]\s?(?!\1\b)\d{1,3}\b"
                r"(?![:.,]\d|\s?[-\u2013]\s?\d)"),
     "a range ('{m}') is read as two numbers: write '{range}'"),
    (re.compile(r"\w+\s?/\s?\w+"), "a slash ('{m}') is read as 'slash': write '{either}' or "
                                 "'{both}'"),
    (re.compile(r"\([^)]*\)"), "words in parentheses ('{m}') are not heard as an aside: "
                                  "make them a sentence of their own"),
)
"""What a synthetic voice says badly (NARRATION: short sentences, no slashes,
abbreviations, parentheses or digits with units), and the fix."""

def _fix_words(matched: str, language: str) -> dict[str, str]:
    """The words a fix of ``matched`` suggests, in ``language`` (its table, else
    English's): the language's own, and for the numbers matched (``3x``, ``3-4``) how
    many times and the range in words."""
    lang = languages.LANGUAGES.get(base_code(language), languages.ENGLISH)
    fixes = lang.fixes
    count = lang.counted or lang.numbers
    n = [int(d) for d in re.findall(r"\d+", matched)][:2] or [0]
    times = fixes["once"] if n[0] == 1 else fixes["twice"] if n[0] == 2 else \
        fixes["times"].format(n=count(n[0]))
    ends = [count(k) for k in n] + [count(n[0])]
    return {**fixes, "times": times, "range": fixes["range"].format(a=ends[0], b=ends[1])}


_ABBREVIATIONS: Final = {
    "en": r"Dr|Mr|Mrs|Ms|St|approx|etc|vs|e\.g|i\.e",
    "de": r"Dr|Fr|Hr|St|ca|bzw|usw|etc|Nr|z\.B|d\.h|u\.a",
    "es": r"Dr|Dra|Sr|Sra|Srta|Ud|Uds|aprox|etc|p\.ej",
}
"""Abbreviations of each language that a voice reads as the end of a sentence."""


@lru_cache(maxsize=16)
def _abbreviation(language: str) -> re.Pattern[str] | None:
    words = _ABBREVIATIONS.get(base_code(language))
    return re.compile(rf"(?<![\w.])(?:{words})\.") if words else None


def said_badly(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Why parts of ``text`` (as it will be spoken in ``language``) will be said badly,
    with the fix."""
    found = []
    abbreviation = _abbreviation(language)
    for pattern, why in (*_SAID_BADLY, *([(abbreviation, _SHORTENED)] if abbreviation else [])):
        m = pattern.search(text)
        if m:
            found.append(why.format(m=m.group()[:40], **_fix_words(m.group(), language)))
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


_EFFECT: Final = r"(?:\s+\w+){0,3}?\s+"
"""At most three words between a verb of effect and what it would act on."""
_CLAIMS: Final = {
    "en": (r"(?:heals?|healed|cures?|cured|treats|treated)\s+(?:your|the|my|our|their|his|"
           r"her|you|yourself|any|all|back|neck|knee\w*|hips?|pain|injur\w*|arthritis|"
           r"sciatica|anxiety|depression|insomnia|trauma|disease\w*|condition\w*|illness\w*)|"
           r"(?:(?:relieves|relieved|eases|eased|reduces|reduced|lessens|soothes|fixes|fixed|"
           r"prevents|prevented|improves|helps(?:\s+with|\s+against)?|(?:is|are)\s+good\s+for"
           r")|(?:will|can|may|to|could|should)\s+(?:relieve|ease|reduce|lessen|soothe|fix|"
           r"prevent|improve|heal|cure|treat|help(?:\s+with|\s+against)?))" + _EFFECT +
           r"(?:pain|aches?|sciatica|arthritis|inflammation|injur\w*|disease\w*|"
           r"condition\w*|illness\w*|anxiety|depression|insomnia|trauma\w*|disorder\w*|"
           r"hernia\w*|scoliosis|migraines?|headaches?)|pain\s+(?:will|is\s+going\s+to)\s+"
           r"(?:go\s+away|disappear|vanish|be\s+gone)|detox\w*|toxins?|"
           r"(?:releas|unlock|dissolv|clear|free)\w*(?:\s+\w+){0,3}?\s+trauma"),
    "de": (r"(?:heilt|heilen|kuriert|behandelt|lindert)\s+(?:dein\w*|die|den|das|Ihr\w*|"
           r"jede\w*|Rücken\w*|Schmerz\w*|Arthrose|Bandscheib\w*|Angst\w*|Depression\w*|"
           r"Trauma\w*|Krankheit\w*)|(?:lindert|reduziert|beseitigt|verhindert|hilft\s+"
           r"(?:bei|gegen)|(?:ist|sind)\s+gut\s+(?:für|gegen))" + _EFFECT +
           r"(?:\w*schmerz\w*|Ischias|Arthrose|Entzündung\w*|Verletzung\w*|Krankheit\w*|"
           r"Angst\w*|Depression\w*|Schlaflosigkeit|Trauma\w*|Bandscheib\w*)|"
           r"Schmerz\w*\s+(?:wird|werden)\s+(?:verschwinden|vergehen)|entgift\w*|"
           r"Giftstoff\w*|Toxin\w*|(?:löst|lösen) (?:\w+ )?Trauma\w*"),
    "es": (r"(?:cura|curan|curar|sana|sanan|sanar|trata|tratan)\s+(?:tu|tus|su|sus|el|la|"
           r"los|las|cualquier|dolor\w*|artritis|ansiedad|insomnio|espalda|columna|"
           r"trauma\w*|enfermedad\w*)|(?:alivia|alivian|reduce|reducen|elimina|eliminan|"
           r"previene|previenen|ayuda\s+(?:con|contra)|(?:es|son)\s+buen[oa]s?\s+para)" +
           _EFFECT + r"(?:dolor\w*|ciática|artritis|inflamación|lesi\w*|enfermedad\w*|"
           r"ansiedad|depresión|insomnio|trauma\w*|hernia\w*)|el\s+dolor\s+(?:desaparecerá|"
           r"se\s+irá)|desintoxic\w*|toxinas?|liber\w* (?:\w+ )?trauma\w*"),
}
"""What claims a medical effect in each language (NARRATION: never claim one): a verb of
healing with what it would heal ('heals your back', not 'a healing breath'), a verb of
effect said as a claim with a complaint it would act on ('eases lower back pain', 'can
relieve sciatica', not the instruction 'ease off at any pain'), a promise that pain will
go, toxins, and trauma released."""
_DENIED: Final = {
    "en": frozenset({"not", "no", "never", "without", "nor", "cannot"}),
    "de": frozenset({"nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals"}),
    "es": frozenset({"no", "nunca", "jamás", "ni"}),
}
"""Words that deny a claim next to it ('This does not cure any condition', 'heilt keine
Krankheit', 'no cura'): the safety setup says what a track is not."""
DENIAL_REACH: Final = 3
"""Words before a claim in which a denial of it is looked for."""


@lru_cache(maxsize=16)
def _claim(language: str) -> re.Pattern[str] | None:
    words = _CLAIMS.get(base_code(language))
    return re.compile(rf"\b(?:{words})\b", re.I) if words else None


def _denied(before: str, language: str) -> bool:
    """Whether a claim after these words is denied by one of the last few (a "n't"
    contraction too; a claim names what it heals, so 'heilt keine' is none)."""
    near = before.split()[-DENIAL_REACH:]
    words = _DENIED[base_code(language)]
    return any(w.strip(",.;:!?¡¿").lower() in words or w.lower().endswith(("n't", "n\u2019t"))
               for w in near)


def medical_claim(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``text`` reads as a claim of a medical effect (with the fix), or None; a claim
    denied where it is made (a safety setup) is none."""
    claim = _claim(language)
    if claim is None:
        return None
    for sentence in _SENTENCE_END.split(text):
        for m in claim.finditer(sentence):
            if not _denied(sentence[: m.start()], language):
                return (f"'{m.group()}' claims a medical effect: say what to do and what one "
                        "may feel, never what it heals or treats (a coach's track is not a "
                        "treatment)")
    return None


_UP: Final = {
    "en": (r"(?<!to\s)(?:stand\s+(?:up|tall|with|on|at|facing)|kneel\s+(?:down|on|up))|"
           r"standing\s+up|(?:come|get|rise)\s+(?:up\s+)?(?:on)?to\s+(?:standing|your\s+"
           r"(?:feet|knees))|onto\s+your\s+knees|(?:on|onto)\s+one\s+(?:leg|foot)|"
           r"balance\s+on"),
    "de": (r"stell\s+dich|knie\s+dich|auf\s+(?:die|deine)\s+Knie|auf\s+einem\s+Bein|"
           r"in\s+den\s+Stand"),
    "es": r"ponte\s+de\s+(?:pie|rodillas)|arrodíllate|sobre\s+una\s+pierna",
}
"""Words that take the listener up onto their feet or knees."""


@lru_cache(maxsize=16)
def _up(language: str) -> re.Pattern[str] | None:
    words = _UP.get(base_code(language))
    return re.compile(rf"\b(?:{words})\b", re.I) if words else None


def eyes_closed_move(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``text``, said while the listener lies or sits with their eyes closed, asks for
    a move that needs open eyes and time (with the fix), or None. A say that asks to
    stand up gets no time to get there and no cue to open the eyes; a ``transition`` step
    gives both (a listening audit: "Stand up and balance on one leg." was followed by a
    hold at once)."""
    up = _up(language)
    found = up.search(text) if up is not None else None
    if found is None:
        return None
    return (f"'{found.group()}' asks the listener to stand or kneel while their eyes may "
            "be closed, with no time to get there: put a 'transition: standing' (or "
            "kneeling) step before it, which asks them to open their eyes and gives the "
            "move its time")
