"""Words of a ``sides`` block that do not follow the side: a side written as a word
("Lift your right foot") is said on both sides, and a block whose words name no side
never tells the listener which side comes first (a coach's review: neither was said)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Final

from voiceguide.script.items import Group, Item, SidePair, Slot, Speech

SAME_ON_BOTH: Final = "its words never name a side"
"""Words of the warning for a block that never names a side (``validate`` leaves it out
for an exercise it tries inside sides of its own making)."""


def _said(items: Sequence[Item]) -> list[tuple[str, str]]:
    """Every sentence of ``items`` in order, with its place in the routine."""
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, Speech):
            out.append((item.where, item.text))
        elif isinstance(item, Slot):
            out += [(c.where, c.text) for c in item.cues if c.kind == "speech"]
        elif isinstance(item, Group):
            out += _said(item.items)
        elif isinstance(item, SidePair):
            out += _said(item.first.items) + _said(item.switch) + _said(item.second.items)
    return out


def side_notes(first: Group, second: Group, sides: Sequence[str], where: str) -> list[str]:
    """Warnings for the two sides of the block at ``where`` (``sides``: the language's
    words for left and right): a side's word kept from one side's sentence to the
    other's, and a first side whose words name no side."""
    one, two = _said(first.items), _said(second.items)
    if not one or len(one) != len(two):
        return []  # (the sides differ in their steps: not compared)
    words = {s.lower() for s in sides}
    notes: dict[str, str] = {}
    for (place, text), (_, other) in zip(one, two, strict=True):
        if (found := _kept(text, other, words)) is not None and place not in notes:
            notes[place] = (f"{place}: \"{text[:80]}\" says '{found}' on both sides: write "
                            "{{ side }} where the words name the side worked (or "
                            "{{ other_side }} for the other)")
    if not notes and not any(w.lower() in words for _, text in one for w in _WORD.findall(text)):
        notes[where] = (f"{where}: {SAME_ON_BOTH}, so the listener is not told which side "
                        "comes first: name it in the first words ('Lift your {{ side }} foot')")
    return list(notes.values())


def _kept(text: str, other: str, sides: set[str]) -> str | None:
    """A side's word that stays where it is from one side's sentence to the other's:
    written as a word, not as ``{{ side }}`` ("Lift your right foot and rest it on your
    {{ other_side }} knee" says "right foot" on both)."""
    a, b = _WORD.findall(text), _WORD.findall(other)
    blocks = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b],
                                     autojunk=False).get_matching_blocks()
    return next((a[i + k] for i, _, n in blocks for k in range(n)
                 if a[i + k].lower() in sides), None)


_WORD: Final = re.compile(r"\w+")
