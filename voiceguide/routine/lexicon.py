"""Pronunciation lexicons: how words should be said.

A lexicon maps a word (or a short phrase) to how an engine should be told to say it: a
respelling every engine reads (``pelvis: pelvus``), and optionally what one engine is
given instead (``espeak: "[[p'ElvIs]]"``: espeak-ng's phoneme mnemonics in double
brackets; Piper reads ``[[...]]`` as IPA phonemes, ``piper: "[[ˈpɛlvɪs]]"``)::

    lexicon:
      pelvis: pelvus                                  # every engine
      psoas: {say: SO-az, espeak: "[[s'oU@s]]"}     # espeak gets phonemes

Three layers, a later one winning word by word: the default lexicon shipped here for the
routine's language (words of the bundled library that a listening test showed an engine
says badly), the user's
file (``lexicon.yaml`` in the user config folder, or ``$VOICEGUIDE_LEXICON``; the same
``lexicon:`` mapping) and the routine's ``lexicon:``. It applies to spoken text only, as
the speech bank hands it to the engine: cue sheets, chapters, tags and file names keep
the words as written. The text sent to the engine is what the phrase cache hashes, so a
changed lexicon makes new clips. Lexicons come from files people share: entries, word
and respelling lengths and characters are bounded (:mod:`voiceguide.limits`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from voiceguide.errors import InvalidInputError
from voiceguide.io.models import FileModel, validate_document
from voiceguide.io.yamldoc import load_yaml
from voiceguide.languages import base_code
from voiceguide.limits import MAX_LEXICON_ENTRIES, MAX_LEXICON_SAYING, MAX_LEXICON_WORD
from voiceguide.profile import LEXICON_ENV, default_lexicon_path

ENGINE_KEYS: Final = ("espeak", "piper")
"""Engines an entry may give their own respelling or phonemes."""

_WORD: Final = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*(?: [^\W\d_]+(?:['’-][^\W\d_]+)*)*")
"""Letters, apostrophes and hyphens inside a word, single spaces between words."""
_RESPELLING: Final = re.compile(r"[^\W\d_]+(?:[-'’ ]+[^\W\d_]+)*")
_PHONEMES: Final = re.compile(r"\[\[[^\[\]{}<>\\\x00-\x1f\x7f]+\]\]")
"""One ``[[...]]`` block: printable phoneme symbols, no brackets, braces or markup."""


def _word(value: str) -> str:
    if len(value) > MAX_LEXICON_WORD:
        raise ValueError(f"a word is at most {MAX_LEXICON_WORD} characters (got "
                         f"{len(value)}); respell single words or short phrases")
    if not _WORD.fullmatch(value):
        raise ValueError(f"'{value[:MAX_LEXICON_WORD]}' is not a word: use letters, with "
                         "apostrophes or hyphens inside a word and single spaces between "
                         "words, as the word is written in the narration")
    return value


def _saying(value: str) -> str:
    if len(value) > MAX_LEXICON_SAYING:
        raise ValueError(f"is at most {MAX_LEXICON_SAYING} characters (got {len(value)}); "
                         "respell one word at a time")
    if not (_RESPELLING.fullmatch(value) or _PHONEMES.fullmatch(value)):
        raise ValueError(f"{value[:40]!r} is neither a respelling (letters, spaces, hyphens "
                         "and apostrophes: 'PELL-vus') nor phonemes in double brackets "
                         "(\"[[p'ElvIs]]\")")
    return value


Saying = Annotated[str, AfterValidator(_saying)]
"""A respelling or a ``[[...]]`` phoneme block."""
Word = Annotated[str, AfterValidator(_word)]


class Pronunciation(FileModel):
    """How one word is said. A plain string in a lexicon is a ``say`` respelling."""

    say: Saying | None = Field(None, description="What every engine is given instead of "
                               "the word: a respelling ('PELL-vus'), or phonemes.")
    espeak: Saying | None = Field(None, description="What the espeak engine is given "
                                  "instead (espeak-ng phoneme mnemonics: \"[[p'ElvIs]]\").")
    piper: Saying | None = Field(None, description="What the Piper engine is given instead "
                                 "(IPA phonemes: \"[[ˈpɛlvɪs]]\").")

    @model_validator(mode="after")
    def _something(self) -> Pronunciation:
        if self.say is None and self.espeak is None and self.piper is None:
            raise ValueError("give 'say' (a respelling), or 'espeak' or 'piper'")
        return self

    def for_engine(self, engine: str) -> str | None:
        """What ``engine`` is given for the word (None: the word as written)."""
        own: str | None = getattr(self, engine) if engine in ENGINE_KEYS else None
        return own if own is not None else self.say


def _entries(value: Any) -> Any:
    """Bound the entry count before any entry is validated; a string is a respelling."""
    if isinstance(value, dict):
        if len(value) > MAX_LEXICON_ENTRIES:
            raise ValueError(f"has {len(value)} words; at most {MAX_LEXICON_ENTRIES} are "
                             "allowed: keep the lexicon to words the voice says badly")
        return {k: {"say": v} if isinstance(v, str) else v for k, v in value.items()}
    return value


LEXICON_GROWTH: Final = 2
LEXICON_SLACK: Final = 64
"""A respelling, and a phrase as the engine is given it, is at most twice as long as
what it replaces plus 64 characters: a lexicon that respelled "a" as 98 letters made
500 of them 49,000, past the bounds the written routine is held to (a 3 kB file took
24 s and 2.7 GB)."""


def _longest(written: str) -> int:
    """The most characters what replaces ``written`` may have (see
    :data:`LEXICON_GROWTH`)."""
    return LEXICON_GROWTH * len(written) + LEXICON_SLACK


def _in_proportion(value: dict[str, Pronunciation]) -> dict[str, Pronunciation]:
    """A respelling about as long as its word (see :data:`LEXICON_GROWTH`), and one entry
    per word whatever its case (words are matched without case: two spellings of one
    word would leave the choice to the order they are written in)."""
    seen: dict[str, str] = {}
    for word in value:
        other = seen.setdefault(word.lower(), word)
        if other != word:
            raise ValueError(f"'{other}' and '{word}' are one word (the lexicon does not go "
                             "by case); keep one of them")
    for word, said in value.items():
        for saying in (said.say, said.espeak, said.piper):
            if saying is not None and len(saying) > _longest(word):
                raise ValueError(f"'{word}' is said with {len(saying)} characters; keep a "
                                 "respelling about as long as the word it replaces (at most "
                                 f"{_longest(word)} here)")
    return value


LexiconSpec = Annotated[dict[Word, Pronunciation], BeforeValidator(
    _entries, json_schema_input_type=dict[str, str | Pronunciation]),
    AfterValidator(_in_proportion)]
"""A lexicon as written in a routine or the user's file: word -> pronunciation."""


class LexiconFile(FileModel):
    """The user's lexicon file."""

    lexicon: LexiconSpec = Field(default_factory=dict, description="Word -> how to say it "
                                 "(the same format as a routine's 'lexicon').")


DEFAULT_LEXICONS: Final[Mapping[str, Mapping[str, Pronunciation]]] = {
    "en": {
        # pocketsphinx (language model from the cue texts) heard espeak's "pelvis" as
        # "belly" or "through is" in 14 of 16 cues of two routines; respelled "pelvus",
        # 16 of 16 were heard as "pelvis" (README, "Pronunciation lexicon").
        "pelvis": Pronunciation(espeak="pelvus"),
        # espeak-ng, and Piper through it, read "Close your eyes." as the adjective
        # (klˈoʊs, "near") where the verb is meant, the most common instruction of
        # eyes-closed guidance (a Piper audit); "cloze" is the verb (klˈoʊz)
        **{f"close {w}": Pronunciation(say=f"cloze {w}") for w in (
            "your", "the", "them", "both")},
        # names whose diaeresis espeak-ng reads as two vowels it says wrongly ("Chloë",
        # a listener's own name, as "KLAH-eh", "Noël" as "NAH-el"): given without it.
        # Not every such name: "Anaïs", "Loïc", "Héloïse", "Michaël" are said better
        # with it (by espeak-ng's phonemes), "Zoë" alike either way
        **{name: Pronunciation(say=name.replace("ë", "e")) for name in (
            "chloë", "noël", "noëlle", "joël", "joëlle")},
    },
    "fr": {
        # espeak-ng 1.52's French voice takes "rythme" for an English word and switches
        # voice for it ("(en)r'ITm"), in "à votre rythme", the most common phrase of paced
        # guidance; "ritme" is the French sound (r'itm)
        "rythme": Pronunciation(say="ritme"),
        # and "dos" (the back) for the English "DOS" ("(en)d'0s"): "dau" is d'o
        "dos": Pronunciation(say="dau"),
        # an imperative's "-y" at the end of a sentence is read as the letter's name ("Allez-y."
        # as "allez i grec"); "-i" is the sound
        **{f"{verb}-y": Pronunciation(say=f"{verb}-i") for verb in (
            "allez", "allons", "vas", "restez", "restes", "pensez", "penses", "revenez")},
    },
}
"""Words of the bundled library an engine says badly, measured by a listening test, by
the language of the routine (a Spanish "pelvis" is said well)."""


def load_user_lexicon(path: Path | None = None) -> dict[str, Pronunciation]:
    """The user's lexicon (``path``, else the default file if it exists, else none). A
    file ``$VOICEGUIDE_LEXICON`` names must be there: it is read, and a missing or
    unreadable one is an error, not no lexicon."""
    if path is None:
        path = default_lexicon_path()
        if not os.environ.get(LEXICON_ENV) and not path.is_file():
            return {}
    return validate_document(load_yaml(path, "lexicon"), LexiconFile,
                             all_keys=("lexicon", *Pronunciation.model_fields)).lexicon


@dataclass(frozen=True)
class Lexicon:
    """Merged lexicon layers, ready to apply to spoken text."""

    entries: Mapping[str, Pronunciation] = field(default_factory=dict)
    """By lower-case word (a later layer won)."""
    _for: dict[str, tuple[dict[str, str], re.Pattern[str] | None]] = field(
        default_factory=dict, compare=False, repr=False)
    """Per engine: what each word becomes, and the pattern that finds them (made once)."""

    @classmethod
    def layered(cls, *layers: Mapping[str, Pronunciation]) -> Lexicon:
        """Layers in order of precedence, lowest first (default < user < routine). An
        entry of a lower layer that holds a word a higher one gives is dropped: matched
        longest first, the default's "close your" hid a routine's own "close"."""
        merged: dict[str, Pronunciation] = {}
        for layer in layers:
            own = {word.lower(): entry for word, entry in layer.items()}
            for key in [k for k in merged if k not in own and " " in k
                        and any(f" {w} " in f" {k} " for w in own)]:
                del merged[key]
            merged.update(own)
        return cls(merged)

    def spoken(self, text: str, engine: str) -> str:
        """``text`` as ``engine`` should be given it: a hyphen between digits a space (see
        :data:`_DIGIT_HYPHEN`), whole words (any case) replaced, a capital first letter
        kept on a respelling."""
        text = _DIGIT_HYPHEN.sub(" ", text)
        found = self._for.get(engine)
        if found is None:
            wanted = {w: p.for_engine(engine) for w, p in self.entries.items()}
            said = {w: s for w, s in wanted.items() if s is not None}
            found = self._for[engine] = (said, _pattern(tuple(sorted(
                said, key=lambda w: (-len(w), w)))) if said else None)
        said, pattern = found
        if pattern is None:
            return text

        grown: list[tuple[int, str, str]] = []  # (growth, word, respelling): named if too long

        def replace(match: re.Match[str]) -> str:
            word = said.get(_SPACE.sub(" ", match.group().lower()))
            if word is None:  # matched by case folding that lower() does not mirror (İ)
                return match.group()
            grown.append((len(word) - len(match.group()), match.group(), word))
            if word.startswith("[["):
                return word
            return word[0].upper() + word[1:] if match.group()[0].isupper() else word

        out = pattern.sub(replace, text)
        if len(out) > _longest(text):
            _, word, respelt = max(grown)
            raise InvalidInputError(
                f"the pronunciation lexicon makes the phrase '{text[:40]}...' "
                f"{len(out)} characters long from {len(text)}, the most by '{word[:40]}' "
                f"({len(respelt)} characters for {len(word)}); keep each respelling about "
                "as long as the word it replaces")
        return out


_SPACE: Final = re.compile(r"\s+")
_DIGIT_HYPHEN: Final = re.compile(r"(?<=\d)-(?=\d)")
"""A hyphen between digits: espeak-ng, and Piper, which reads text through it, say it
("Seated 90-90" was "ninety dash ninety", "1-2-3" "one dash two dash three", German
"Bindestrich"; a Piper listening audit), where a space, an en dash or a non-breaking
hyphen there give the numbers alone (the same samples). What is written stays."""


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word (longest first), any spaces between its parts."""
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split(" "))) for w in words)
    return re.compile(rf"(?<![\w'’])(?:{alternatives})(?![\w]|['’]\w)", re.IGNORECASE)


def track_lexicon(routine: Mapping[str, Pronunciation], language: str = "en",
                  user: Mapping[str, Pronunciation] | None = None) -> Lexicon:
    """The lexicon a track speaks with: the default for ``language`` < the user's
    (``user``, else the user's file) < the routine's."""
    default = DEFAULT_LEXICONS.get(base_code(language), {})
    return Lexicon.layered(default, load_user_lexicon() if user is None else user, routine)
