"""The words the tool itself speaks, per language.

A routine declares its ``language`` (default ``en``). Everything voiceguide says on its
own (the side words ``{{ side }}`` and ``{{ other_side }}``, countdown numbers, the
``words`` filter, the built-in phrases such as ``phrase('switch')`` or the breath cues,
the words that move the listener between postures) and the chapter titles it makes come
from that language's table (a module each here: ``en``, ``de``, ``es``, ``fr``, ``it``,
``pt``; a new language is a module and a line in :data:`LANGUAGES`). A routine's own text
is spoken as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

from voiceguide.languages.base import Language
from voiceguide.languages.de import GERMAN
from voiceguide.languages.en import ENGLISH
from voiceguide.languages.es import SPANISH
from voiceguide.languages.fr import FRENCH
from voiceguide.languages.it import ITALIAN
from voiceguide.languages.pt import PORTUGUESE

__all__ = ["DEFAULT_LANGUAGE", "ENGLISH", "FRENCH", "GERMAN", "ITALIAN", "LANGUAGES",
           "PORTUGUESE", "SPANISH", "Language", "base_code", "chime_label", "get_language",
           "iso639_2", "language_named", "language_tag", "masculine_side", "most_spoken",
           "number_words",
           "or_english", "page_count", "page_words", "speaks", "track_title",
           "words_language"]

LANGUAGES: Final[Mapping[str, Language]] = {lang.code: lang for lang in
                                            (ENGLISH, GERMAN, SPANISH, FRENCH,
                                             ITALIAN, PORTUGUESE)}
"""Every language voiceguide can speak its own words in, by code."""
DEFAULT_LANGUAGE: Final = "en"


def language_tag(value: str) -> str | None:
    """``value`` as a language tag (``en_US``, as a locale writes it, read as ``en-US``),
    or None where it is none (``'en-"><svg/x'``)."""
    code = value.replace("_", "-")
    return code if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}", code) else None


_NAMED: Final = {"english": "en", "german": "de", "spanish": "es", "castellano": "es",
                  "french": "fr", "italian": "it", "portuguese": "pt", "brazilian": "pt-BR",
                  "brasileiro": "pt-BR", "br": "pt-BR", "portugues": "pt", "espanol": "es",
                  "francais": "fr", "ger": "de", "sp": "es", "esp": "es"}
"""Names and codes a routine's writer may give for a language, by the code meant."""


def language_named(value: str) -> str | None:
    """The code of the language ``value`` names instead of its code ("Italiano",
    "italian", "br" for Brazil's pt-BR), or None."""
    word = value.strip().lower()
    own = {lang.name.lower(): lang.code for lang in LANGUAGES.values()}
    return _NAMED.get(word) or own.get(word)


def most_spoken(codes: Iterable[object]) -> str | None:
    """The language most of ``codes`` name, counted by language (``de`` and ``de-AT``
    are one), as the first of them wrote it; a tie goes to the first; what is no
    language tag (a cue sheet's ``'"><script>'``, ``5``) is not counted. None: none."""
    tags = [t for t in (language_tag(c) if isinstance(c, str) else None for c in codes) if t]
    counts = Counter(base_code(t) for t in tags)  # first-seen order among equal counts
    if not counts:
        return None
    top = counts.most_common(1)[0][0]
    return next(t for t in tags if base_code(t) == top)


def or_english(code: str) -> Language:
    """The table for ``code``, or English's where ``code``'s has not been written (a
    region is ignored: ``de-AT`` is German)."""
    return LANGUAGES.get(base_code(code), ENGLISH)


def iso639_2(code: str) -> str:
    """The ISO 639-2 code a track's tags give for language ``code`` (``de-AT`` ->
    ``deu``; English's where no table is written)."""
    return or_english(code).tag_code


def words_language(code: str) -> str:
    """The language whose page words :func:`page_words` gives for ``code``."""
    return or_english(code).code


def base_code(code: str) -> str:
    """The language part of a code (``de-AT`` -> ``de``), lower-case."""
    return tag(code).split("-")[0]


def tag(code: str) -> str:
    """A language code as a lower-case tag with a hyphen (``pt_PT`` -> ``pt-pt``)."""
    return code.replace("_", "-").lower()


def get_language(code: str) -> Language:
    """The table for ``code`` (a region such as ``-AT`` is ignored); KeyError if none."""
    return LANGUAGES[base_code(code)]


def track_title(code: str, title: str, name: str | None) -> str:
    """A track's title: the routine's ``title``, made for ``name`` if there is one (with
    a dash where the title already says its "for": "Sanft für die Hüften – Jürgen", not
    "... für die Hüften für Jürgen")."""
    if not name:
        return title
    pattern = get_language(code).for_listener
    word = pattern.removeprefix("{title}").removesuffix("{name}").strip()
    if word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", title, re.I):
        return f"{title} – {name}"
    return pattern.format(title=title, name=name)


def chime_label(name: str, code: str = DEFAULT_LANGUAGE) -> str:
    """Chime ``name`` as a transcript in language ``code`` shows it: ``(Klangschale)``
    (a language without a table, as an old cue sheet's, in English)."""
    words = or_english(code).chimes
    return f"({words.get(name, f'{name} chime')})"


def page_words(code: str = DEFAULT_LANGUAGE) -> Mapping[str, str]:
    """The web player's words in language ``code`` (English where it has none), with its
    region's own where it has some (Portugal's "Leitor" for ``pt-PT``)."""
    lang = or_english(code)
    region = lang.regional_page.get(tag(code))
    return {**lang.page, **region} if region else lang.page


def page_count(words: Mapping[str, str], n: int, what: str) -> str:
    """``n`` of ``what`` (``track``, ``listener``, ``routine``) in a page's ``words``
    (see :func:`page_words`): "1 track", "3 tracks", never "1 tracks"."""
    return words[f"one_{what}"] if n == 1 else words[f"{what}s_count"].format(n=n)


def number_words(value: object, code: str = DEFAULT_LANGUAGE) -> str:
    """A whole number 0-999 in words of language ``code``; other values unchanged."""
    try:
        n = int(str(value))
    except ValueError:
        return str(value)
    if not 0 <= n <= 999:
        return str(n)
    return in_region(get_language(code).numbers(n), code)


def in_region(words: str, code: str) -> str:
    """``words`` (numbers said in the language of ``code``) as its region spells them
    (``pt-PT``: "dezasseis" for "dezesseis"); unchanged where it spells them alike."""
    lang = LANGUAGES.get(base_code(code))
    for written, region in lang.regional_numbers.get(tag(code), ()) \
            if lang is not None else ():
        words = re.sub(rf"\b{written}\b", region, words)
    return words


def masculine_side(word: str, code: str = DEFAULT_LANGUAGE) -> str:
    """Side ``word`` of language ``code`` ("destra") as a masculine noun takes it
    ("destro"); any other word, or a language whose sides do not change, as it is."""
    lang = or_english(code)
    if lang.masculine_sides is None:
        return word
    return dict(zip(lang.sides, lang.masculine_sides, strict=True)).get(word, word)


def speaks(voice_languages: tuple[str, ...], code: str) -> bool:
    """Whether a voice with these language codes speaks language ``code``."""
    return any(base_code(v) == base_code(code) for v in voice_languages)
