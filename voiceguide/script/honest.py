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
from typing import Final

from voiceguide.languages import get_language, number_words
from voiceguide.routine.steps import Breathe, Hold, Repeat, Say, Section, Sides, Step

TEMPLATE_PARTS: Final = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
"""What a template computes: its numbers come from the routine."""

Counted = tuple[int, str, str]
"""A count or length a fit can change: its value as written, the noun that counts it
(a fix word: times, breaths, seconds) and what the warning says of it."""


def _fitted(step: Step) -> Iterator[tuple[str, Counted]]:
    """The count or length of ``step`` (of a section or sides: of their steps) that a
    fit can change, by kind."""
    if isinstance(step, Repeat):
        r = step.repeat
        if r.min is not None and r.max is not None and r.min != r.max:
            yield "repeat", (r.count, "times", f"the repetitions ({r.min} to {r.max} when "
                             "fitted): say '{{ reps | words }}'")
    elif isinstance(step, Breathe):
        b = step.breathe
        if b.min_cycles is not None and b.max_cycles is not None \
                and b.min_cycles != b.max_cycles:
            yield "breathe", (b.cycles, "breaths", f"the breaths ({b.min_cycles} to "
                              f"{b.max_cycles} when fitted): say '{{{{ cycles | words }}}}'")
    elif isinstance(step, Hold):
        h = step.hold
        if h.min is not None and h.max is not None and h.min != h.max:
            yield "hold", (round(h.seconds if h.seconds is not None else h.min), "seconds",
                           f"the hold ({h.min:g} to {h.max:g} seconds when fitted): say it "
                           "without the number")
    elif isinstance(step, Sides | Section):
        seen: set[str] = set()
        for inner in step.sides.steps if isinstance(step, Sides) else step.steps:
            for kind, counted in _fitted(inner):
                if kind not in seen:  # the first of each kind inside
                    seen.add(kind)
                    yield kind, counted


def _texts(value: str | Sequence[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _said(texts: Sequence[str], counted: Counted, language: str) -> str | None:
    """How the number of ``counted`` is said in one of ``texts`` (outside their template
    parts) as a count of its noun: 'five times', German 'fünfmal', 'five more lifts',
    'four slow breaths', 'breathe four times', 'thirty seconds' or 'a thirty-second
    hold'."""
    value, noun, _ = counted
    fixes = get_language(language).fixes
    numbers = (number_words(value, language), str(value))
    forms: list[str] = []
    if noun != "seconds":  # "lift five times", and "breathe four times" (a listening audit)
        forms += [re.escape(fixes["times"].format(n=n)) for n in numbers]
    if noun == "times":  # "five more lifts", not "five more seconds" (a hold's)
        units = "|".join(re.escape(fixes[u].split()[-1][:5]) for u in ("seconds", "breaths"))
        forms += [re.escape(fixes["more"].format(n=n)) + rf"[\s-]+(?!{units}|min)\w+"
                  for n in numbers]
    else:  # the number, at most one word, and the noun ('breath', 'Sekunde', 'segundo')
        stem = re.escape(fixes[noun].split()[-1][:5])
        forms += [rf"{re.escape(n)}(?:[\s-]+\w+)?[\s-]+{stem}\w*" for n in numbers]
    for text in texts:
        plain = TEMPLATE_PARTS.sub(" ", text)
        for form in forms:
            found = re.search(rf"(?<![\w-]){form}(?![\w-])", plain, re.I)
            if found:
                return found.group(0)
    return None


def _note(step: Step, ahead: dict[str, Counted], language: str) -> str | None:
    """Why the words of ``step`` say a number the fit can change (a say: of the next
    steps, ``ahead``; a hold's own words: of the hold; a sides' switch: of its steps)."""
    if isinstance(step, Say):
        texts, counted = _texts(step.say), list(ahead.values())
    elif isinstance(step, Hold):
        h = step.hold
        texts = [*_texts(h.say), *_texts(h.release), *(t for c in h.cues for t in _texts(c.say))]
        counted = [(v, n, what.replace("say it without the number", "say "
                                       "'{{ seconds | words }}'")) for _, (v, n, what)
                   in _fitted(step)]
    elif isinstance(step, Sides):
        texts, counted = _texts(step.sides.switch), [c for _, c in _fitted(step)]
    else:
        return None
    for one in counted:
        word = _said(texts, one, language)
        if word is not None:
            return (f"'{word}' is said as written, but the fit may change {one[2]} "
                    "(NARRATION: honest numbers)")
    return None


def said_as_written(steps: Sequence[Step], language: str) -> dict[int, str]:
    """The step indexes of ``steps`` whose words say a number as written that the fit
    can change, with why (one pass from the end: the next step of each kind is known
    at every step, so a long list costs no more than its length)."""
    notes: dict[int, str] = {}
    ahead: dict[str, Counted] = {}
    for i in range(len(steps) - 1, -1, -1):
        note = _note(steps[i], ahead, language)
        if note is not None:
            notes[i] = note
        ahead = {**ahead, **dict(_fitted(steps[i]))}
    return notes
