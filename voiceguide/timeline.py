"""Turn a script plus measured speech lengths into an exact timeline.

Integer sample arithmetic: a slot lasts ``round(seconds * rate)`` samples, a cue in it
starts ``round(offset * rate)`` from its start (a countdown earlier by what its last number
needs): nothing drifts. Speech lengths come from ``measure(text, speed)`` (trimmed clips).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from voiceguide.errors import PhraseTooLong, ScheduleError, hurry_fix
from voiceguide.script.items import (
    MIN_SENTENCE_GAP,
    Group,
    Item,
    Script,
    SidePair,
    Slot,
    SlotCue,
    Speech,
    settle_gaps,
    speaking_order,
)

SPEEDS: Final = (1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3)
"""Speech speed-ups tried, in order, for a phrase that does not fit its slot (up to 1.05,
which no one hears, before a shorter wording; then each wording at each speed); a later
repetition's wording with room first (:func:`~voiceguide.script.items.speaking_order`)."""
GENTLE_SPEED: Final = 1.15
"""A phrase sped up more than this is reported as a warning (rewrite it shorter)."""
MIN_CUE_GAP: Final = MIN_SENTENCE_GAP
"""Silence kept between a cue in a slot and whatever comes next."""
COUNT_GAP: Final = 0.2
"""Silence kept between a countdown's numbers ("three", "two", "one" a second apart are a
count, not sentences: a slow voice's "zwei" did not fit 0.6 s of a second)."""
COUNT_END_GAP: Final = 0.5
"""Silence kept after a countdown's last number, before the release (at --rate 100 the
release came 0.34 s after "eins" with :data:`COUNT_GAP`, too soon to hear the count end)."""
CHIME_FADE: Final = 1.0
"""Seconds over which a chime fades out at the end of the room it rings in (where the next
cue starts): a listening audit heard the bowl cut off from -25 dB over 0.3 s."""
MAX_TRACK_SECONDS: Final = 3 * 3600
"""Longest track built."""
OPENING_CHAPTER_AFTER: Final = 2.0
"""If no titled part starts this early, an opening chapter named after the routine is added."""

Measure = Callable[[str, float], int]
"""``measure(text, speed) -> samples`` of the trimmed clip at that speed."""
ChimeLength = Callable[[str, int], int]


@dataclass(frozen=True)
class Cue:
    """Something heard: speech or a chime, from ``start`` to ``end`` (samples)."""

    start: int
    end: int
    kind: str
    text: str
    speed: float
    where: str
    count: bool = False
    """A countdown's number: one right after another keeps :data:`COUNT_GAP`, the last
    :data:`COUNT_END_GAP` before what follows."""


@dataclass(frozen=True)
class Interval:
    """A stretch of the timeline: speech, pause, rest, hold, breath, phase or chime."""

    kind: str
    start: int
    end: int
    seconds: float | None
    """The declared length (None for speech, whose length is measured)."""
    label: str
    phase: str | None = None
    rep: int | None = None
    """A repetition's number for its phases (None elsewhere); not in the cue sheet."""


@dataclass(frozen=True)
class Chapter:
    """A navigable chapter."""

    start: int
    end: int
    title: str


@dataclass
class Timeline:
    """Every cue, interval and chapter at an exact sample position."""

    sample_rate: int
    total: int
    cues: list[Cue] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    sides: list[tuple[int, int, int, int]] = field(default_factory=list)
    """(first start, first end, second start, second end) of each pair of sides."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.total / self.sample_rate

    def speech_cues(self) -> list[Cue]:
        """The speech cues in time order."""
        return [c for c in self.cues if c.kind == "speech"]

    def heard_rate(self) -> float:
        """Words per minute as heard: words over the seconds the voice is heard."""
        cues = self.speech_cues()
        seconds = sum(c.end - c.start for c in cues) / self.sample_rate
        return sum(len(c.text.split()) for c in cues) / seconds * 60 if seconds else 0.0

    def sped_up(self) -> list[Cue]:
        """Cues spoken faster than the chosen rate to fit their slot."""
        return [c for c in self.speech_cues() if c.speed > 1.0]

    def speed_warnings(self, slow_rate: int | None = None) -> list[str]:
        """A phrase sped up beyond :data:`GENTLE_SPEED` to fit its slot is hurried: say so
        (and, given the ``slow_rate`` a track speaks at when it is slower than the
        default, that a faster rate is a fix too), with the kind of slot to lengthen."""
        worst: dict[tuple[str, str, str], list[float]] = {}
        for c in self.sped_up():  # a countdown, sped up as one, is said once (not "ten")
            if c.speed > GENTLE_SPEED + 1e-9:
                slot = next((i.kind for i in self.intervals if i.start <= c.start < i.end
                             and i.kind not in ("gap", "speech")), "phase")  # a hold's...
                worst.setdefault((c.where, "" if c.count else c.text, slot), []).append(c.speed)
        return [f"{where}: " + (f"\"{text}\" is" if text else "the countdown is")
                + f" spoken up to {max(v):.2f}x faster to fit its slot"
                + (f" ({len(v)} times)" if len(v) > 1 and text else "")
                + f"; {hurry_fix(slow_rate, slot)}" for (where, text, slot), v in worst.items()]


@dataclass
class _Events:
    cues: list[Cue] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    marks: list[tuple[int, int, str]] = field(default_factory=list)
    sides: list[tuple[int, int, int, int]] = field(default_factory=list)

    def shifted(self, by: int) -> _Events:
        return _Events(
            [replace(c, start=c.start + by, end=c.end + by) for c in self.cues],
            [replace(i, start=i.start + by, end=i.end + by) for i in self.intervals],
            [(s + by, depth, t) for s, depth, t in self.marks],
            [(a + by, b + by, c + by, d + by) for a, b, c, d in self.sides])

    def extend(self, other: _Events) -> None:
        self.cues.extend(other.cues)
        self.intervals.extend(other.intervals)
        self.marks.extend(other.marks)
        self.sides.extend(other.sides)


class _Scheduler:
    def __init__(self, measure: Measure, sample_rate: int, chime_length: ChimeLength) -> None:
        self.measure = measure
        self.sr = sample_rate
        self.chime_length = chime_length

    def samples(self, seconds: float) -> int:
        return int(round(seconds * self.sr))

    def lay(self, versions: Sequence[Item], depth: int, after_slot: bool = False
            ) -> tuple[int, list[_Events]]:
        """Lay out structurally identical items together; returns their common length and
        each version's events relative to its own start (``after_slot``: the items
        follow a timed interval)."""
        first = versions[0]
        events = [_Events() for _ in versions]
        if isinstance(first, Speech):
            lengths = [self.measure(v.text, 1.0) if v.text else 0 for v in versions]  # type: ignore[union-attr]
            gap = self.samples(first.gap)
            total = max(lengths) + gap
            longest = max(lengths)
            for ev, v, n in zip(events, versions, lengths, strict=True):
                assert isinstance(v, Speech)
                # words that lead straight into a timed interval (gap 0) end exactly where
                # it starts, so a shorter wording (one side) starts later instead; but
                # words that end one (a hold's release) start exactly when it ends
                at = longest - n if first.gap == 0 and not after_slot else 0
                if n:
                    ev.cues.append(Cue(at, at + n, "speech", v.text, 1.0, v.where))
                # intervals tile truthfully: the voice, and the silence around it
                for kind, a, b in (("gap", 0, at), ("speech", at, at + n),
                                   ("gap", at + n, total)):
                    if b > a:
                        ev.intervals.append(Interval(kind, a, b, None, kind))
            return total, events
        if isinstance(first, Slot):
            total = self.samples(first.seconds)
            for ev, v in zip(events, versions, strict=True):
                assert isinstance(v, Slot)
                ev.cues.extend(self.slot_cues(v, total))
                ev.intervals.append(Interval(v.kind, 0, total, v.seconds, v.label, v.phase, v.rep))
            return total, events
        if isinstance(first, Group):
            cursor = 0
            groups = [v for v in versions if isinstance(v, Group)]
            for ev, g in zip(events, groups, strict=True):
                if g.title:
                    ev.marks.append((0, depth, g.title))
            count = len(groups[0].items)
            previous: Item | None = None
            for index, children in enumerate(zip(*(g.items for g in groups), strict=True)):
                length, sub = self.lay(list(children), depth + 1,
                                       isinstance(previous, Slot) and previous.seconds > 0)
                previous = children[0]
                for ev, s in zip(events, sub, strict=True):
                    ev.extend(s.shifted(cursor))
                cursor += length
                if isinstance(children[0], SidePair) and index + 1 < count:
                    # what follows the two sides belongs to the group again, not to a side
                    for ev, g in zip(events, groups, strict=True):
                        if g.title:
                            ev.marks.append((cursor, depth, g.continued or g.title))
            return cursor, events
        assert isinstance(first, SidePair)
        pairs = [v for v in versions if isinstance(v, SidePair)]
        side_len, sides = self.lay([p.first for p in pairs] + [p.second for p in pairs], depth)
        cursor = side_len
        n = len(pairs)
        for k, ev in enumerate(events):
            ev.extend(sides[k])
        switch_events: list[_Events] = [_Events() for _ in pairs]
        for children in zip(*(p.switch for p in pairs), strict=True):
            length, sub = self.lay(list(children), depth + 1)
            for ev, s in zip(switch_events, sub, strict=True):
                ev.extend(s.shifted(cursor))
            cursor += length
        for k, ev in enumerate(events):
            # the switch words belong to the side they announce
            second_title = pairs[k].second.title
            if second_title:
                ev.marks.append((side_len, depth + 1, second_title))
            ev.extend(switch_events[k])
            ev.extend(sides[n + k].shifted(cursor))
            ev.sides.append((0, side_len, cursor, cursor + side_len))
        return cursor + side_len, events

    def slot_cues(self, slot: Slot, total: int) -> list[Cue]:
        starts = [self.samples(c.offset) for c in slot.cues]
        counted, lead = self.countdown(slot, starts, total)
        # the countdown starts earlier by ``lead``: the cue before it has that much less room
        starts = [s - lead if i in counted else s for i, s in enumerate(starts)]
        out: list[Cue] = []
        guard = self.samples(MIN_CUE_GAP)
        for i, cue in enumerate(slot.cues):
            start = starts[i]
            if cue.kind == "chime":
                length = min(self.chime_length(cue.text, total - start), total - start)
                out.append(Cue(start, start + length, "chime", cue.text, 1.0, cue.where))
                continue
            if i in counted:
                text, speed, length = counted[i]
                out.append(Cue(start, start + length, "speech", text, speed, cue.where, True))
                continue
            if not cue.text:
                continue
            nxt = starts[i + 1] if i + 1 < len(starts) else total
            room = nxt - start - guard
            tries = speaking_order(cue, self.measure, nxt - start, SPEEDS)
            found = next(((t, s, n) for t, s in tries if (n := self.measure(t, s)) <= room), None)
            if found is None:
                raise self.too_long(cue, slot, room, slot.cues[i + 1] if nxt < total else None)
            text, speed, length = found
            out.append(Cue(start, start + length, "speech", text, speed, cue.where))
        return out

    def countdown(self, slot: Slot, starts: list[int], total: int
                  ) -> tuple[dict[int, tuple[str, float, int]], int]:
        """The countdown in ``slot`` as said, by cue index (text, speed, samples), and how
        many samples early it starts: each number up to :data:`COUNT_GAP` before the next,
        all at the slowest speed all fit at ("drei, zwei (x1.15), eins (x1.30)" hurried);
        early as far as the last needs to end :data:`COUNT_END_GAP` before the release."""
        if not (numbers := [i for i, c in enumerate(slot.cues) if c.kind == "count" and c.text]):
            return {}, 0
        first, last, guard = numbers[0], numbers[-1], self.samples(MIN_CUE_GAP)  # settle_gaps
        said = [i for i, c in enumerate(slot.cues[:first]) if c.text and c.kind != "chime"][-1:]

        @functools.cache
        def most() -> int:  # samples early the count may start: the cue before said at its
            floor = guard  # shortest (measured only when its own words do not fit: a clip
            for b in said:  # made at every speed is synthesised, and never heard)
                cue = slot.cues[b]
                end = floor + starts[b] + min(self.measure(t, SPEEDS[-1])
                                              for t in (cue.text, *cue.shorter))
                floor = end if end <= starts[first] else 0  # too long anyway: its error told
            return max(0, starts[first] - floor)

        def may_lead(lead: int) -> bool:  # the cue before said as its own words, or at most
            return lead == 0 or (bool(said) and self.measure(slot.cues[said[0]].text, 1.0)
                                 <= starts[first] - lead - starts[said[0]] - guard) \
                or lead <= most()

        ends = [starts[i + 1] if i + 1 < len(starts) else total for i in numbers]
        count_gap, end_gap = self.samples(COUNT_GAP), self.samples(COUNT_END_GAP)
        rooms = [e - starts[i] - (count_gap if i + 1 in numbers else end_gap)
                 for i, e in zip(numbers, ends, strict=True)]
        cap = ends[-1] - starts[last] - count_gap  # the last within its second
        for speed in SPEEDS:
            lengths = [self.measure(slot.cues[i].text, speed) for i in numbers]
            lead = max(0, lengths[-1] - rooms[-1])
            if all(n <= room for n, room in zip(lengths[:-1], rooms, strict=False)) \
                    and lengths[-1] <= cap and may_lead(lead):
                break
        else:
            rooms[-1] = min(rooms[-1] + most(), cap)  # with the lead there is room for
            i, room = next((i, room) for i, n, room in zip(numbers, lengths, rooms, strict=True)
                           if n > room)
            raise self.too_long(slot.cues[i], slot, room)
        return {i: (slot.cues[i].text, speed, n)
                for i, n in zip(numbers, lengths, strict=True)}, lead

    def too_long(self, cue: SlotCue, slot: Slot, room: int, before: SlotCue | None = None
                 ) -> PhraseTooLong:
        """The error for ``cue``, which does not fit the ``room`` samples ``slot`` (or the
        next cue, ``before``: a coach was told to lengthen a 60 s hold) leaves."""
        ends = f"its slot ({slot.label})"
        if before is not None and before.where not in (cue.where, slot.where):
            (mine, _, _), (its, _, field) = (w.partition(": ") for w in (cue.where, before.where))
            lines = [w.rsplit(":", 2)[1] if w.count(":") >= 2 else "" for w in (mine, its)]
            ends = (f"the next cue, {before.offset - cue.offset:g} s after it ("  # its line
                    f"{f'line {lines[1]}' if lines[1] != lines[0] else field}),")  # or field
        fast = self.measure(cue.text, SPEEDS[-1]) / self.sr
        return PhraseTooLong(f"{cue.where}: the phrase \"{cue.text}\" takes {fast:.2f} s even "
            f"at {SPEEDS[-1]:.0%} speed, but {ends} leaves {max(room, 0) / self.sr:.2f} s",
            slot=slot.kind if ends.startswith("its") else "gap before the next cue")


def _chapters(marks: list[tuple[int, int, str]], total: int, title: str, sr: int
              ) -> list[Chapter]:
    """Flat chapter list: at a shared start the deepest title wins; each ends where the
    next begins; the first starts at 0 (a chapter named after the routine opens the track
    when the first titled part starts later than the lead-in)."""
    if not marks or min(m[0] for m in marks) > OPENING_CHAPTER_AFTER * sr:
        marks = [(0, -1, title), *marks]
    best: dict[int, tuple[int, str]] = {}
    for start, depth, title in marks:
        if start >= total:
            continue
        if start not in best or depth >= best[start][0]:
            best[start] = (depth, title)
    starts = sorted(best)
    if not starts:
        return []
    starts_fixed = [0, *starts[1:]]
    titles = [best[s][1] for s in starts]
    out: list[Chapter] = []
    for i, start in enumerate(starts_fixed):
        end = starts_fixed[i + 1] if i + 1 < len(starts_fixed) else total
        if out and out[-1].title == titles[i]:
            out[-1] = Chapter(out[-1].start, end, titles[i])
        else:
            out.append(Chapter(start, end, titles[i]))
    return out


def _check_spacing(cues: list[Cue], sr: int) -> None:
    speech = [c for c in cues if c.kind == "speech"]
    for a, b in itertools.pairwise(speech):
        least = (COUNT_GAP if b.count else COUNT_END_GAP) if a.count else MIN_SENTENCE_GAP
        if b.start - a.end < round(least * sr) - 1:
            raise ScheduleError(
                f"{b.where}: \"{b.text}\" starts {(b.start - a.end) / sr:.2f} s after "
                f"\"{a.text}\" ends; keep at least {least:g} s "
                + ("after a countdown's number " if a.count else "between sentences ")
                + "(move the cue or shorten the words before it)")


def check_length(total: int, sample_rate: int) -> None:
    """A :class:`ScheduleError` for ``total`` samples over :data:`MAX_TRACK_SECONDS`."""
    if total > MAX_TRACK_SECONDS * sample_rate:
        raise ScheduleError(f"the track would last {total / sample_rate / 60:.0f} minutes; "
                            f"the most is {MAX_TRACK_SECONDS // 60} minutes")


def schedule(script: Script, measure: Measure, sample_rate: int,
             chime_length: ChimeLength | None = None, *, bounded: bool = True) -> Timeline:
    """Lay out ``script`` on one timeline of integer samples (``bounded=False``: also one
    over :data:`MAX_TRACK_SECONDS`, for a fit to measure; see :func:`check_length`)."""
    sched = _Scheduler(measure, sample_rate, chime_length or (lambda name, room: room))
    root = settle_gaps(script.root)
    total, (events,) = sched.lay([root], 0)
    if bounded:
        check_length(total, sample_rate)
    cues = sorted(events.cues, key=lambda c: (c.start, c.kind))
    _check_spacing(cues, sample_rate)
    intervals = sorted(events.intervals, key=lambda i: i.start)
    chapters = _chapters(events.marks, total, script.title, sample_rate)
    return Timeline(sample_rate, total, cues, intervals, chapters, sorted(events.sides))
