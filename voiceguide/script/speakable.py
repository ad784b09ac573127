"""Text a voice can say: numbers as words, and no emoji, pictographs or letters of a
script the voice does not read (they stay in tags and file names, never in speech)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final, Literal

from voiceguide import languages
from voiceguide.languages import DEFAULT_LANGUAGE, base_code
from voiceguide.script import wording

SCRIPTS: Final = {"en": "LATIN", "de": "LATIN", "es": "LATIN", "fr": "LATIN", "it": "LATIN",
                  "pt": "LATIN", "nl": "LATIN", "ru": "CYRILLIC", "uk": "CYRILLIC",
                  "el": "GREEK"}
"""The script each language's voices read; letters of other scripts are not spoken."""
_SPACES: Final = re.compile(r"\s+")
_LOOSE_PUNCT: Final = re.compile(r"\s+([,.;:!?])")
_EMPTY_PAIR: Final = re.compile(r"""\(\s*\)|\[\s*\]|«\s*»|(?<!\S)"\s*"(?!\S)|“\s*”|„\s*“""")
"""Brackets or quotes left with nothing in them once what the voice cannot say is gone
("Ana (李)" was said "Ana ( )": an app team's review)."""
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
    code = base_code(language)
    script = SCRIPTS.get(code)
    kept = "".join(ch if _spoken(ch, script) else " " for ch in
                   _PHONEME_BRACKETS.sub(lambda m: m.group()[0], text))
    said = _LOOSE_PUNCT.sub(r"\1", _SPACES.sub(" ", _EMPTY_PAIR.sub(" ", kept))).strip()
    lang = languages.LANGUAGES.get(code)
    return _agreed(said, lang) if lang is not None else said


def _agreed(text: str, lang: languages.Language) -> str:
    """``text`` with its numbers in words agreeing with the nouns after them
    (:attr:`~voiceguide.languages.Language.agreement`)."""
    for pattern, replacement in lang.agreement:
        text = re.sub(pattern, replacement, text)
    return text


_SAID_BADLY: Final = (
    (re.compile(r"\b\d{1,3}(?:[.,]\d+)?\s?(?:s|secs?|segs?|mins?|m|h|hrs?)\b", re.I),
     "a number with a unit letter ('{m}') is read letter by letter: write the unit as a "
     "word{unit}"),
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
    said = lang.counted or lang.numbers  # 0-999: a longer number stays in digits (an
    digits = re.findall(r"\d+", matched)[:2] or ["0"]  # attack's "(2000 breaths)" failed)
    n = [languages.in_region(said(int(d)), language) if len(d) <= 3 else d for d in digits]
    first = int(digits[0]) if len(digits[0]) <= 3 else 0
    times = fixes["once"] if first == 1 else fixes["twice"] if first == 2 else \
        fixes["times"].format(n=n[0])
    ends = [*n, n[0]]
    return {**fixes, "times": times, "range": fixes["range"].format(a=ends[0], b=ends[1]),
            "unit": _unit_words(matched, lang, language)}


def _unit_words(matched: str, lang: languages.Language, code: str) -> str:
    """`` ('forty-five seconds')``: ``45s`` as said in ``lang`` (``2min``: two minutes);
    empty where the table has no words for it (hours, decimals, one second)."""
    found = re.fullmatch(r"(\d{1,3})\s?([a-z]+)", matched, re.I)
    unit = found[2].lower() if found else ""
    n = int(found[1]) if found else 0
    words = (lang.fixes["minute"] if n == 1 else f"{lang.numbers(n)} {lang.fixes['minutes']}"
             ) if unit.startswith("m") else f"{lang.numbers(n)} " \
        f"{lang.fixes['seconds'].split()[-1]}" if unit.startswith("s") and n != 1 else ""
    return f" ('{_agreed(languages.in_region(words, code), lang)}')" if words else ""


@lru_cache(maxsize=16)
def _abbreviation(language: str) -> re.Pattern[str] | None:
    words = wording.ABBREVIATIONS.get(base_code(language))
    return re.compile(rf"(?<![\w.])(?:{words})\.") if words else None


def said_badly(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Why parts of ``text`` (as it will be spoken in ``language``) will be said badly,
    with the fix."""
    return list(_said_badly(text, language))


@lru_cache(maxsize=4096)
def _said_badly(text: str, language: str) -> tuple[str, ...]:
    """:func:`said_badly`, kept: a fit expands a routine a dozen times or more, and
    says each of its phrases again each time."""
    found = []
    abbreviation = _abbreviation(language)
    for pattern, why in (*_SAID_BADLY, *([(abbreviation, _SHORTENED)] if abbreviation else [])):
        m = pattern.search(text)
        if m:
            found.append(why.format(m=m.group()[:40], **_fix_words(m.group(), language)))
    side = _masculine_side(language)
    wrong = side.search(text) if side is not None else None
    if wrong:  # "ginocchio destra": a coach's {{ other_side }} after a masculine noun
        said = languages.masculine_side(wrong[2].lower(), language)
        found.append(f"'{wrong[0]}': after '{wrong[1]}' the side is masculine: write "
                     f"'{said}' (where a template prints it, '{{{{ side | masculine }}}}' or "
                     "'{{ other_side | masculine }}')")
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        if len(words) > LONG_SENTENCE_WORDS:
            found.append(f"a sentence of {len(words)} words ('{' '.join(words[:6])} ...') is "
                         "hard to follow with closed eyes: split it, one instruction per "
                         "sentence")
            break
    return tuple(found)


@lru_cache(maxsize=16)
def _masculine_side(language: str) -> re.Pattern[str] | None:
    """A masculine noun followed by a side word in its feminine form, in ``language``."""
    code = base_code(language)
    lang, nouns = languages.LANGUAGES.get(code), wording.MASCULINE_NOUNS.get(code)
    if lang is None or lang.masculine_sides is None or nouns is None:
        return None
    feminine = "|".join(s for s, m in zip(lang.sides, lang.masculine_sides, strict=True)
                        if s != m)
    return re.compile(rf"\b({nouns})\s+({feminine})\b", re.I)


LONG_SENTENCE_WORDS: Final = 30
"""Most words in one spoken sentence before it is flagged (about 13 s at 140 words per
minute; NARRATION: one instruction per sentence, sentences short)."""
_SENTENCE_END: Final = re.compile(r"(?<=[.!?;:])\s+")


_SHORTENED: Final = "an abbreviation ('{m}') is read as the end of a sentence: write it out"


DENIAL_REACH: Final = 6
"""Words before a claim, in its clause, in which a denial of it is looked for."""


@lru_cache(maxsize=16)
def _claim(language: str) -> re.Pattern[str] | None:
    code = base_code(language)
    words = "|".join(w for w in (wording.CLAIMS.get(code), wording.STRUCTURE.get(code)) if w)
    return re.compile(rf"\b(?:{words})\b", re.I) if words else None


def _denied(before: str, said: str, language: str) -> bool:
    """Whether a claim (``said``, after the words ``before``) is denied by a word of its
    own clause ("No pressure, this routine heals your back" is a claim: the denial is in
    another), or is an observation or a referral; a "n't" contraction denies too (a
    claim names what it heals, so 'heilt keine' is none)."""
    clause = re.split(r"[,;:\u2013\u2014]", before)[-1].split()[-DENIAL_REACH:]
    code = base_code(language)
    words = [w.strip(".;:!?¡¿\"'").lower() for w in (*clause, *said.split())]
    return any(_negation(w, code) for w in words[:len(clause)]) \
        or any(w in wording.NOT_A_CLAIM[code] for w in words)


def _negation(word: str, code: str) -> bool:
    """Whether a lower-case ``word`` of language ``code`` says no ('not', "don't", 'kein',
    "n'élimine")."""
    starts, ends = wording.DENYING_AFFIXES.get(code, ((), ()))
    return word in wording.DENIED[code] or word.startswith(starts) or word.endswith(ends)


@lru_cache(maxsize=4096)  # the same words, said again at every fit
def medical_claim(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``text`` reads as a claim of a medical effect (with the fix), or None; a claim
    denied where it is made (a safety setup), an observation and a referral are none."""
    claim = _claim(language)
    if claim is None:
        return None
    # every claim at once: fixed one by one, each run found the next (a new user's review:
    # "releases trauma ... and eases lower back pain" named only the first)
    found = list(dict.fromkeys(
        f"'{m.group()}'" for sentence in _SENTENCE_END.split(text)
        for m in claim.finditer(sentence) if not _denied(sentence[: m.start()], m.group(),
                                                         language)))
    if not found:
        return None
    named = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return (f"{named} claim{'s' * (len(found) == 1)} a medical effect: say what to do and "
            "what one may feel, never what it heals or treats (a coach's track is not a "
            "treatment)")


@lru_cache(maxsize=64)
def _words(kind: str, language: str) -> re.Pattern[str] | None:
    table = {"up": wording.UP, "balance": wording.BALANCE}[kind]
    words = table.get(base_code(language))
    return re.compile(rf"\b(?:{words})", re.I) if words else None


@lru_cache(maxsize=4096)  # the same words, said again at every fit
def eyes_said(text: str, language: str = DEFAULT_LANGUAGE
              ) -> Literal["open", "closed"] | None:
    """'closed' or 'open' when ``text`` asks the listener to close, or to open, their
    eyes (the last it asks), else None."""
    pair = wording.EYES.get(base_code(language))
    if pair is None:
        return None
    # only what is asked now: not "Don't close your eyes yet", "Schließe die Augen noch
    # nicht" nor "Non chiudere ancora gli occhi" (an attack)
    closed, opened = (max((m.end() for m in re.finditer(p, text, re.I)
                           if _now(text, m, language) and not _denied_after(text, m)),
                          default=-1) for p in pair)
    return None if closed == opened == -1 else "closed" if closed > opened else "open"


def _now(text: str, found: re.Match[str], language: str) -> bool:
    """Whether the move ``found`` in ``text`` is asked now, by the words of its own clause:
    "When you are ready, stand up." asks it; "later, when you stand up" and "Don't stand
    up yet" do not."""
    before = _clause_before(text, found)[-3:]
    code = base_code(language)
    return wording.LATER.isdisjoint(before) and not any(_negation(w, code) for w in before)


def _denied_after(text: str, found: re.Match[str]) -> bool:
    """Whether a no comes right after ``found`` in ``text`` and takes it back ("Setzen Sie
    sich noch nicht", "close your eyes not yet")."""
    after = (w.strip(",.;:!?").lower() for w in text[found.end():].split()[:2])
    return not wording.DENIED_AFTER.isdisjoint(after)


def _clause_before(text: str, found: re.Match[str]) -> list[str]:
    """The words of ``found``'s clause in ``text`` before it, lower-case, bare of marks."""
    clause = re.split(r"[,;:.!?]", text[: found.start()])[-1]
    return [w for w in (w.strip("¡¿—–-\"'«»(").lower() for w in clause.split()) if w]


@lru_cache(maxsize=4096)  # the same words, said again at every fit
def posture_asked(text: str, language: str = DEFAULT_LANGUAGE
                  ) -> tuple[str, Literal["lying", "seated"]] | None:
    """The words of ``text`` that ask the listener, now, to lie down or to sit, and that
    posture; None where it asks neither. The verb starts its clause, after a word that
    leads one at most ("Now, slowly lie down"): not "Let your hands lie on the mat", "we
    will lie down", "Ora siamo sdraiati"; nor with a no after it ("Setzen Sie sich noch
    nicht")."""
    pair = wording.DOWN.get(base_code(language))
    for posture, words in zip(("lying", "seated"), pair or (), strict=False):
        for found in re.finditer(rf"\b(?:{words})", text, re.I):
            before = _clause_before(text, found)
            joined = [i for i, w in enumerate(before) if w in wording.JOINING]  # "Take your
            if joined and before[0] == "let" and wording.LET_OTHER.intersection(before[1:2]) \
                    and "your" not in f"{found.group()} {text[found.end():]}".split()[:5]:
                continue  # "Let your knees rest and lie on the mat": the knees lie
            before = before[joined[-1] + 1:] if joined else before  # time and lie down"
            if all(w in wording.LEADS for w in before) and not _denied_after(text, found):
                return found.group(), posture  # type: ignore[return-value]
    return None


@lru_cache(maxsize=4096)  # the same words, said again at every fit
def eyes_closed_move(text: str, language: str = DEFAULT_LANGUAGE, *,
                     moving_up: bool = True) -> str | None:
    """Why ``text``, said while the listener's eyes may be closed, asks for a move that
    needs open eyes (with the fix), or None: up onto the feet or knees from lying or
    sitting (``moving_up``), or a balance on one leg in any posture. A say that asks it
    gets no time and no cue to open the eyes; a ``transition`` step gives both (a
    listening audit: "Stand up and balance on one leg." was followed by a hold at once)."""
    for kind in ("up", "balance") if moving_up else ("balance",):
        pattern = _words(kind, language)
        for found in pattern.finditer(text) if pattern is not None else ():
            if _now(text, found, language):
                what = "stand or kneel" if kind == "up" else "balance on one leg"
                return (f"'{found.group().strip()}' asks the listener to {what} while their "
                        "eyes may be closed: ask them to open their eyes first (a "
                        "'transition: standing' or 'kneeling' step before it does, and gives "
                        "the move its time)")
    return None
