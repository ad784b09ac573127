"""Numbers a narration says as written where the fit can change them (NARRATION: honest
numbers). "We will lift five times." before a repeat of 5 (3 to 8 when fitted) made a
track say five and play seven; the number is to come from the routine
(``{{ reps | words }}``), or not be said."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from voiceguide.languages import number_words
from voiceguide.routine.steps import Breathe, Hold, Repeat, Say, Sides, Step

TEMPLATE_PARTS: Final = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
"""What a template computes: its numbers come from the routine."""


def _fitted(steps: Sequence[Step]) -> Iterator[tuple[int, str]]:
    """Each count or length in ``steps`` (and in their sides) that a fit can change, as
    written: its value and how the narration can say it."""
    for step in steps:
        if isinstance(step, Repeat):
            r = step.repeat
            if r.min is not None and r.max is not None and r.min != r.max:
                yield r.count, (f"the repetitions ({r.min} to {r.max} when fitted): say "
                                "'{{ reps | words }}'")
        elif isinstance(step, Breathe):
            b = step.breathe
            if b.min_cycles is not None and b.max_cycles is not None \
                    and b.min_cycles != b.max_cycles:
                yield b.cycles, (f"the breaths ({b.min_cycles} to {b.max_cycles} when "
                                 "fitted): say '{{ cycles | words }}'")
        elif isinstance(step, Hold):
            h = step.hold
            if h.min is not None and h.max is not None and h.min != h.max:
                yield round(h.seconds if h.seconds is not None else h.min), (
                    f"the hold ({h.min:g} to {h.max:g} seconds when fitted): say it "
                    "without the number")
        elif isinstance(step, Sides):
            yield from _fitted(step.sides.steps)


def _said(texts: Sequence[str], value: int, language: str) -> str | None:
    """How ``value`` is written in one of ``texts`` outside its template parts."""
    words = {str(value), number_words(value, language)}
    for text in texts:
        plain = TEMPLATE_PARTS.sub(" ", text)
        for word in words:
            found = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", plain, re.I)
            if found:
                return found.group(0)
    return None


def said_as_written(steps: Sequence[Step], index: int, language: str) -> str | None:
    """Why the words of step ``index`` (a say, or a hold's own words) say a number the
    fit can change: a count or length of that step or of one after it in ``steps``;
    None when they do not."""
    step = steps[index]
    if isinstance(step, Say):
        texts = [step.say] if isinstance(step.say, str) else list(step.say)
        later = steps[index + 1:]
    elif isinstance(step, Hold) and step.hold.say is not None:
        said = step.hold.say
        texts, later = ([said] if isinstance(said, str) else list(said)), [step]
    else:
        return None
    for value, what in _fitted(later):
        word = _said(texts, value, language)
        if word is not None:
            return (f"'{word}' is said as written, but the fit may change {what} "
                    "(NARRATION: honest numbers)")
    return None
