"""Numbers a narration says as written where the fit can change them (NARRATION: honest
numbers). "We will lift five times." before a repeat of 5 (3 to 8 when fitted) made a
track say five and play seven; the number is to come from the routine
(``{{ reps | words }}``), or not be said.

A number counts only as what it says it counts: "five times" a repetition, "four
breaths" a breathing, "thirty seconds" a hold ("two hands" before a repeat of two, or
"a count of six" before six breaths, is no count of them); and only the next step of
its kind is what words before it count."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final, NamedTuple

from voiceguide.languages import base_code, get_language, number_words
from voiceguide.routine.steps import (
    Breathe,
    Hold,
    Repeat,
    RepeatSpec,
    Say,
    Section,
    Sides,
    Step,
)

TEMPLATE_PARTS: Final = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
"""What a template computes: its numbers come from the routine."""

class Counted(NamedTuple):
    """A count or length a fit can change."""

    value: int
    """Its value as written."""
    noun: str
    """The fix word that counts it: times, breaths, seconds."""
    what: str
    """What the warning says of it."""
    moves: tuple[str, ...] = ()
    """A repeat's words for what it repeats ('lift', 'circle': "five slow circles")."""


def _moves(spec: RepeatSpec) -> tuple[str, ...]:
    """The words of four letters or more that a repeat's phases say (their first wording),
    as a count of them would be said in the plural ('lifts', 'circles', 'rocks')."""
    words = {w.lower() for phase in spec.phases for t in _texts(phase.say)[:1]
             for w in re.findall(r"[^\W\d_]{4,}", TEMPLATE_PARTS.sub(" ", t))}
    return tuple(sorted(words))


def _fitted(step: Step) -> Iterator[tuple[str, Counted]]:
    """The count or length of ``step`` (of a section or sides: of their steps) that a
    fit can change, by kind."""
    if isinstance(step, Repeat):
        r = step.repeat
        if r.min is not None and r.max is not None and r.min != r.max:
            yield "repeat", Counted(r.count, "times", f"the repetitions ({r.min} to {r.max} "
                                    "when fitted): say '{{ reps | words }}'", _moves(r))
    elif isinstance(step, Breathe):
        b = step.breathe
        if b.min_cycles is not None and b.max_cycles is not None \
                and b.min_cycles != b.max_cycles:
            yield "breathe", Counted(b.cycles, "breaths", f"the breaths ({b.min_cycles} to "
                                     f"{b.max_cycles} when fitted): say "
                                     "'{{ cycles | words }}'")
    elif isinstance(step, Hold):
        h = step.hold
        if h.min is not None and h.max is not None and h.min != h.max:
            yield "hold", Counted(round(h.seconds if h.seconds is not None else h.min),
                                  "seconds", f"the hold ({h.min:g} to {h.max:g} seconds when "
                                  "fitted): say it without the number")
    elif isinstance(step, Sides | Section):
        seen: set[str] = set()
        for inner in step.sides.steps if isinstance(step, Sides) else step.steps:
            for kind, counted in _fitted(inner):
                if kind not in seen:  # the first of each kind inside
                    seen.add(kind)
                    yield kind, counted


def _texts(value: str | Sequence[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _filled(words: str, number: str) -> str:
    """A pattern for fix ``words`` ('{n} times') with the pattern ``number`` for ``{n}``."""
    return re.escape(words).replace(re.escape("{n}"), number)


@lru_cache(maxsize=4096)  # the same words and counts at every expansion of a fit
def _said(texts: tuple[str, ...], counted: Counted, language: str) -> str | None:
    """How the number of ``counted`` is said in one of ``texts`` (outside their template
    parts) as a count of its noun: 'five times', German 'fünfmal', 'five more lifts',
    'five slow circles' (of a repeat that says 'circle'), 'four deep, slow breaths',
    'breathe four times', 'thirty seconds' or 'a thirty-second hold'."""
    value, noun = counted.value, counted.noun
    lang = get_language(language)
    fixes = lang.fixes
    # and as it counts a feminine noun: Portuguese "duas vezes", "duas respirações"
    said = dict.fromkeys((number_words(value, language), str(value),
                          *([lang.counted(value)] if lang.counted and 0 <= value <= 999 else [])))
    numbers = [re.escape(n) for n in said]
    units = "|".join(re.escape(fixes[u].split()[-1][:5]) for u in ("seconds", "breaths"))
    forms: list[tuple[str, bool]] = []  # and whether the sentence must speak of breath
    if noun != "seconds":  # "lift five times"; "breathe four times" (not "tap four times")
        forms += [(_filled(fixes["times"], n),
                   noun == "breaths") for n in numbers]
    if noun == "times":  # "five more lifts", not "five more slow breaths" (a breathing's)
        ahead = rf"(?![\s,-]+(?:\w+[\s,-]+)?(?:{units}|min))"
        forms += [(_filled(fixes["more"], n)
                   + ahead + r"[\s,-]+\w+", False) for n in numbers]
        if counted.moves:  # "five slow circles" before a repeat that says "circle"
            moves = "|".join(re.escape(m) for m in counted.moves)
            forms += [(rf"{n}(?:[\s,-]+\w+){{0,2}}?[\s,-]+(?:{moves})e?s", False)
                      for n in numbers]
    else:  # the number, at most two words, and the noun ('four deep, slow breaths')
        stem = re.escape(fixes[noun].split()[-1][:5])
        forms += [(rf"{n}(?:[\s,-]+\w+){{0,2}}?[\s,-]+{stem}\w*", False) for n in numbers]
    if noun == "seconds" and value >= 60 and value % 60 == 0:  # 'a minute', 'two minutes'
        whole = value // 60
        article, minute = fixes["minute"].rsplit(" ", 1)
        counts = [re.escape(number_words(whole, language)), str(whole),
                  *([re.escape(article)] if whole == 1 else [])]
        forms += [(rf"{n}\s+{re.escape(minute[:5])}\w*", False)  # not 'a ten-minute walk'
                  for n in counts]
    breath = re.compile(rf"{re.escape(fixes['breaths'][:5])}|breath|atem|respir", re.I)
    for text in texts:
        plain = TEMPLATE_PARTS.sub(" ", text)
        for form, of_breath in forms:
            for found in re.finditer(rf"(?<![\w-]){form}(?![\w-])", plain, re.I):
                sentence = re.split(r"(?<=[.!?;])\s", plain[found.start():], maxsplit=1)[0]
                start = max(plain.rfind(c, 0, found.start()) for c in ".!?;")
                if not of_breath or breath.search(plain[start + 1 : found.start()] + sentence):
                    return found.group(0)
    return None


_JOINS: Final = {"en": "or|and|to", "de": "oder|und|bis", "es": "o|y|a", "fr": "ou|et|à",
                 "it": "o|e|a", "pt": "ou|e|a"}
"""Words of each language that join two numbers, not a number and its noun ('five or so
minutes', 'de diez a doce minutos'); not English 'a' ('a twelve-minute flow')."""


@lru_cache(maxsize=4096)
def _length_said(texts: tuple[str, ...], minutes: tuple[int, int], language: str
                 ) -> str | None:
    """A track length said as written in one of ``texts`` (outside their template parts):
    a whole number of minutes within ``minutes`` (the range the track may be fitted to,
    two at least: 'one minute' is more often a hold), with at most one word between
    ('ten minutes', 'zehn Minuten', 'about twelve easy minutes'; not 'a ten-minute walk',
    '1.5 minutes', 'twelve breaths, a minute', 'five or so minutes')."""
    stem = re.escape(get_language(language).fixes["minutes"][:5])
    numbers = "|".join(re.escape(w) for n in range(max(2, minutes[0]), minutes[1] + 1)
                       for w in (number_words(n, language), str(n)))
    if not numbers:
        return None
    joins = _JOINS.get(base_code(language)) or "|".join(_JOINS.values())
    after = "".join(rf"(?<!\b{j} )" for j in joins.split("|"))  # not 'eight to ten'
    # not a range's end either: 'ten to twelve', '10-12', '10 – 12'
    form = re.compile(rf"(?<![\w.,\-–—‑])(?<![-–—‑]\s){after}(?:{numbers})(?:\s+(?!(?:{joins})"
                      rf"\b)\w+)?\s+{stem}\w*(?![\w-])", re.I)
    for text in texts:
        found = form.search(TEMPLATE_PARTS.sub(" ", text))
        if found:
            return found.group(0)
    return None


def _note(step: Step, ahead: dict[str, Counted], language: str,
          minutes: tuple[int, int] | None, behind: dict[str, Counted]) -> str | None:
    """Why the words of ``step`` say a number the fit can change (a say: of the next
    steps, ``ahead``, or of the step just before it, ``behind``: "That was four rocks."; a
    hold's own words: of the hold; a sides' switch: of its steps; any of them: the track's
    length, where it may be fitted within ``minutes``)."""
    if isinstance(step, Say):
        texts = _texts(step.say)
        counted = [*ahead.values(), *(c for k, c in behind.items() if ahead.get(k) != c)]
    elif isinstance(step, Hold):
        h = step.hold
        texts = [*_texts(h.say), *_texts(h.release), *(t for c in h.cues for t in _texts(c.say))]
        counted = [c._replace(what=c.what.replace("say it without the number", "say "
                                                  "'{{ seconds | words }}'"))
                   for _, c in _fitted(step)]
    elif isinstance(step, Sides):
        texts, counted = _texts(step.sides.switch), [c for _, c in _fitted(step)]
    else:
        return None
    for one in counted:
        word = _said(tuple(texts), one, language)
        if word is not None:
            return (f"'{word}' is said as written, but the fit may change {one.what} "
                    "(NARRATION: honest numbers)")
    word = None if minutes is None else _length_said(tuple(texts), minutes, language)
    if word is not None and minutes is not None:
        return (f"'{word}' is said as written, but --minutes fits the track to "
                f"{minutes[0]} to {minutes[1]} minutes: say '{{{{ minutes | words }}}} "
                f"{get_language(language).fixes['minutes']}' (NARRATION: honest numbers)")
    return None


def title_length(title: str, minutes: tuple[int, int], language: str) -> str | None:
    """Why a routine's ``title`` should not name a length that ``--minutes`` may change (a
    new user's review: "Twelve minutes for the hips" was the title of 10- and 13-minute
    tracks, in the player, the feed and the tags), or None."""
    spaced = re.sub(r"(?<=\w)-(?=[^\W\d_])", " ", title)  # "a 12-minute flow" (not 10-14)
    word = _length_said((spaced,), minutes, language)
    if word is not None:
        at = spaced.find(word)
        word = title[at:at + len(word)]
    return None if word is None else (
        f"the title says '{word}', but --minutes fits the track to {minutes[0]} to "
        f"{minutes[1]} minutes and a track of any length keeps its title (players, the "
        "pack's page and feed show it); leave the length out of the title")


def said_as_written(steps: Sequence[Step], language: str,
                    minutes: tuple[int, int] | None = None) -> dict[int, str]:
    """The step indexes of ``steps`` whose words say a number as written that the fit
    can change, with why (one pass from the end: the next step of each kind is known
    at every step, so a long list costs no more than its length). ``minutes``: the whole
    minutes the track may be fitted to, where its length can change."""
    notes: dict[int, str] = {}
    # the step just before each one: "That was four rocks." after the rocking (further
    # back, a count is more often of something else: "Tap four times." after a breathing;
    # a length after a hold is of what comes next: "Stay for a minute." before a hold)
    behind = [{}, *({k: c for k, c in _fitted(step) if k != "hold"} for step in steps[:-1])]
    ahead: dict[str, Counted] = {}
    for i in range(len(steps) - 1, -1, -1):
        note = _note(steps[i], ahead, language, minutes, behind[i])
        if note is not None:
            notes[i] = note
        ahead = {**ahead, **dict(_fitted(steps[i]))}
    return notes
