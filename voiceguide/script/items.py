"""A routine expanded into a narration script: plain data the later stages read.

Sequential speech (:class:`Speech`) lasts as long as the voice does, plus a gap; a
:class:`Slot` has a declared length in seconds and may carry cues at fixed offsets
inside it (a hold with its interval cues, a breath phase with its cue on the boundary).
:class:`SidePair` holds the same steps rendered for two sides, which the timeline lays
out with identical timing. :class:`Elastic` parts are what length fitting may stretch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal

DEFAULT_GAP: Final = 0.8
"""Seconds of silence after a spoken sentence."""
LEAD_IN: Final = 1.5
"""Seconds of silence before the first word."""
TAIL: Final = 3.0
"""Seconds of silence after the last word (the fade-out lives here)."""
MIN_SENTENCE_GAP: Final = 0.4
"""The least silence between any two things said, always."""


@dataclass(frozen=True)
class Speech:
    """A sentence spoken where the previous item ends; ``gap`` seconds of silence follow."""

    text: str
    gap: float
    where: str


ROOMY_SHARE: Final = 0.8
"""The most of its phase (the time to the next cue) a later repetition's words take,
measured, where a shorter wording does: variety rotated back to the full wording at
--rate 100 filled 91% of an out-breath (NARRATION: a cue fits its phase with room to
breathe; 89% of an inhale is too long)."""


@dataclass(frozen=True)
class SlotCue:
    """A cue inside a slot, ``offset`` seconds after the slot starts."""

    offset: float
    text: str
    where: str
    kind: Literal["speech", "chime", "count"] = "speech"
    """``count``: a countdown's number (numbers in a row keep a shorter gap)."""
    shorter: tuple[str, ...] = ()
    """Shorter wordings of ``text``, longest first: said instead where ``text`` would be
    hurried to fit the slot (a slow rate), before any is sped up."""
    later: bool = False
    """A later repetition's words, not the first (full) wording's first time: where
    ``text`` would take more than :data:`ROOMY_SHARE` of the time to the next cue, the
    longest shorter wording that does not is said instead."""


def speaking_order(cue: SlotCue, measure: Callable[[str, float], int], span: int,
                   speeds: Sequence[float]) -> list[tuple[str, float]]:
    """The wordings and speeds ``cue`` is tried at, in order: its own up to ``speeds[1]``
    (1.05, which no one hears) before a shorter wording, then each at each speed. A later
    repetition's own wording that would take more than :data:`ROOMY_SHARE` of the
    ``span`` samples to the next cue comes after its shorter ones that do not, longest
    first (a Piper listening audit at --rate 100: the fourth bridge said "Breathe out, and
    roll down, bone by bone." again, 5.5 s of its 6 s out-breath, the next words 0.5 s
    after, where "Out, and roll down." was written for it)."""
    order = [*((cue.text, s) for s in speeds[:2]),
             *((t, s) for s in speeds for t in (cue.text, *cue.shorter))]
    if cue.later and cue.shorter and measure(cue.text, 1.0) > ROOMY_SHARE * span:
        order[:0] = [(t, 1.0) for t in cue.shorter if measure(t, 1.0) <= ROOMY_SHARE * span]
    return order


@dataclass(frozen=True)
class Slot:
    """A timed interval of a declared length, with cues at fixed offsets."""

    seconds: float
    kind: Literal["pause", "rest", "hold", "breath", "phase", "chime", "transition"]
    label: str
    where: str
    cues: tuple[SlotCue, ...] = ()
    phase: str | None = None
    rep: int | None = None
    """A repetition's number (1, 2, ...) for its phases: ``show`` counts them by it."""


@dataclass(frozen=True)
class Group:
    """Items under an optional chapter title."""

    title: str | None
    items: tuple[Item, ...]
    continued: str | None = None
    """Chapter title of what follows a :class:`SidePair` among ``items`` (None: ``title``)."""


@dataclass(frozen=True)
class SidePair:
    """The same steps for two sides; ``switch`` sits between them."""

    first: Group
    second: Group
    switch: tuple[Item, ...]


Item = Speech | Slot | Group | SidePair


@dataclass(frozen=True)
class Elastic:
    """Something the target-length fitter may stretch."""

    id: str
    kind: Literal["seconds", "count"]
    lo: float
    hi: float
    default: float
    grain: float
    """0 for continuous values, 1 for whole seconds or counts, a breath cycle's seconds
    for a breath-paced hold (it moves in whole breaths)."""
    label: str


def whole_steps(lo: float, hi: float, grain: float) -> range:
    """The whole numbers ``k`` with ``k * grain`` in ``lo..hi`` (a hair of float rounding
    allowed): the values an elastic part of that grain may take (empty: none)."""
    return range(math.ceil(lo / grain - 1e-9), math.floor(hi / grain + 1e-9) + 1)


@dataclass
class Script:
    """A routine expanded into items, plus what can stretch."""

    title: str
    root: Group
    elastics: dict[str, Elastic] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """Template warnings (``where: message``), such as a name printed without a guard."""

    def ending(self, seconds: float) -> Script:
        """This script ending in ``seconds`` of silence rather than :data:`TAIL` (its last
        item is the closing pause), without expanding the routine again."""
        *body, tail = self.root.items
        assert isinstance(tail, Slot) and tail.label == "ending"
        return replace(self, root=replace(self.root, items=(*body, replace(tail,
                                                                          seconds=seconds))))


def walk_speech(item: Item) -> list[str]:
    """Every distinct text the script may speak (chimes excluded), in order."""
    return list(speech_places(item))


def speech_places(item: Item) -> dict[str, str]:
    """Every distinct text the script may speak (chimes excluded), in order, with the
    place (``file:line:col: field``) it is first written at."""
    out: dict[str, str] = {}

    def visit(it: Item) -> None:
        if isinstance(it, Speech):
            if it.text:
                out.setdefault(it.text, it.where)
        elif isinstance(it, Slot):
            for c in it.cues:
                if c.kind != "chime" and c.text:
                    out.setdefault(c.text, c.where)
        elif isinstance(it, Group):
            for child in it.items:
                visit(child)
        elif isinstance(it, SidePair):
            visit(it.first)
            for child in it.switch:
                visit(child)
            visit(it.second)

    visit(item)
    return out


def estimate_speech_seconds(text: str, rate: int) -> float:
    """Rough spoken length of ``text`` at ``rate`` words per minute (for quick estimates)."""
    words = max(1, len(text.split()))
    return words * 60.0 / rate + 0.25 * text.count(".") + 0.1


def _leaves(item: Item) -> Iterator[Speech | Slot]:
    """Speech and slots in the order they are heard."""
    if isinstance(item, Speech | Slot):
        yield item
    elif isinstance(item, Group):
        for child in item.items:
            yield from _leaves(child)
    else:
        yield from _leaves(item.first)
        for child in item.switch:
            yield from _leaves(child)
        yield from _leaves(item.second)


def _settled_gaps(root: Group) -> dict[int, float]:
    """The silence after each sentence, by what follows it: a pause, rest or move after
    speech is the whole silence (``pause: 3`` is 3 s from the end of the voice), and there
    is always at least :data:`MIN_SENTENCE_GAP` before the next thing said."""
    gaps: dict[int, float] = {}
    leaves = list(_leaves(root))
    for here, nxt in itertools.pairwise(leaves):
        if not isinstance(here, Speech):
            continue
        if isinstance(nxt, Speech):
            gaps[id(here)] = max(here.gap, MIN_SENTENCE_GAP)
        elif not nxt.cues:
            gaps[id(here)] = max(0.0, MIN_SENTENCE_GAP - nxt.seconds)
        else:
            first = min(c.offset for c in nxt.cues)
            gaps[id(here)] = max(here.gap, MIN_SENTENCE_GAP - first)
    return gaps


def _regap(item: Item, gaps: dict[int, float]) -> Item:
    if isinstance(item, Speech):
        gap = gaps.get(id(item), item.gap)
        return item if gap == item.gap else Speech(item.text, gap, item.where)
    if isinstance(item, Slot):
        return item
    if isinstance(item, Group):
        return Group(item.title, tuple(_regap(c, gaps) for c in item.items), item.continued)
    return SidePair(_regap(item.first, gaps), _regap(item.second, gaps),  # type: ignore[arg-type]
                    tuple(_regap(c, gaps) for c in item.switch))


def settle_gaps(root: Group) -> Group:
    """``root`` with the silence after each sentence settled by what follows it (see
    :func:`_settled_gaps`): what the timeline lays out."""
    gaps = _settled_gaps(root)
    return Group(root.title, tuple(_regap(c, gaps) for c in root.items), root.continued)
