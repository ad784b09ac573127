"""What expanding a routine carries from step to step: where in which file a step was
written (for messages), the narrator, the template variables, the fitted values, and
the listener's posture as the routine moves them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from voiceguide.errors import InvalidInputError, TemplateError
from voiceguide.io.yamldoc import Document, Loc
from voiceguide.languages import DEFAULT_LANGUAGE, get_language
from voiceguide.limits import (
    MAX_SCRIPT_CHARACTERS,
    MAX_SCRIPT_DEPTH,
    MAX_SCRIPT_HOURS,
    MAX_SCRIPT_PHRASES,
    MAX_SCRIPT_STEPS,
)
from voiceguide.routine.library import Library
from voiceguide.routine.steps import EYES_OPEN, Posture, Span
from voiceguide.script.items import Elastic, Item, Slot, Speech, estimate_speech_seconds
from voiceguide.script.speakable import (
    eyes_closed_move,
    eyes_said,
    medical_claim,
    posture_asked,
    said_badly,
    speakable,
)
from voiceguide.script.telling import reads_as
from voiceguide.script.templates import Narrator, RenderBudgetError
from voiceguide.settings import Level, TrackSettings

READS_AS: Final = "this text reads as"
"""Words of the note on a text in another language than the routine's (given once)."""


class TooBig(InvalidInputError):
    """An expansion past one of the size limits (steps, phrases, characters of speech,
    hours): a fit that meets it at a longer setting takes that setting as too long."""


_DIGITS: Final = re.compile(r"\d")


def _most_seconds(text: str, rate: int) -> float:
    """``text``'s spoken length for the size limit: words, each digit 1.5 of them (a voice
    says every number in words: an attack's 50-digit phrases, each one "word", had hours
    of speech synthesised before the track's length was refused), each character a
    voice says by its name a word (a symbol, or a letter written in a compatibility form:
    'ǈ', 'ⓐ', '𝐀'; an attack's 990 'ǈ' took five minutes), and no fewer than a word per
    7 characters (a letter string that is spelt out)."""
    said = len(text.split())  # the estimate's words; what they leave out, added:
    named = 0 if text.isascii() else sum(  # (ASCII is said as written)
        1 for c in text if (kind := unicodedata.category(c)) == "So"
        or (kind[0] in "LN" and unicodedata.normalize("NFKC", c) != c))
    unseen = max(1.5 * len(_DIGITS.findall(text)) + named, len(text) / 7 - said, 0.0)
    return estimate_speech_seconds(text, rate) + unseen * 60.0 / rate


@dataclass
class Run:
    """State shared by the whole expansion of one routine."""

    settings: TrackSettings
    level: Level
    library: Library
    fit: Mapping[str, float]
    elastics: dict[str, Elastic] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Template problems (reported together as one TemplateError)."""
    invalid: list[str] = field(default_factory=list)
    """Problems of the routine or its exercises (reported as InvalidInputError)."""
    posture: Posture = "any"
    """Where the listener is now."""
    eyes: Literal["open", "closed"] | None = None
    """'open' or 'closed' as the listener was last asked (None: not yet asked)."""
    steps: int = 0
    """Items expanded so far (bounded by :data:`~voiceguide.limits.MAX_SCRIPT_STEPS`)."""
    phrases: int = 0
    """Phrases expanded so far (bounded by :data:`~voiceguide.limits.MAX_SCRIPT_PHRASES`)."""
    characters: int = 0
    """Characters of speech expanded so far."""
    seconds: float = 0.0
    """Estimated length of what was expanded so far."""
    language: str = "en"
    """The routine's language (its built-in words, and what a voice of it can say)."""
    within: list[str] = field(default_factory=list)
    """The exercises being expanded, outermost first (one may not include itself)."""
    name: str = ""
    """The listener's name as spoken."""
    told: tuple[Posture, str] | None = None
    """A posture the routine's own words asked for, and where, since the last move."""
    closed_at: str | None = None
    """Where the listener was asked to close their eyes while their posture was unknown
    (``start: any``): they may still be standing, and the move down comes later."""
    depth: int = 0
    """How many sections and exercises the expansion is inside now."""
    minutes: tuple[int, int] | None = None
    """The whole minutes ``--minutes`` may fit the track to (the routine's designed
    range), where that range is more than one length."""

    def account(self, items: Sequence[Item], where: str) -> None:
        """Add newly expanded speech and slots to the script's size and estimated length,
        and stop the expansion (before anything is synthesised) once a limit is passed."""
        self.steps += len(items)
        for item in items:
            texts: list[str] = []
            if isinstance(item, Speech):
                texts = [item.text] if item.text else []
                self.seconds += item.gap
            elif isinstance(item, Slot):
                texts = [c.text for c in item.cues if c.kind != "chime" and c.text]
                self.seconds += item.seconds
            else:
                continue
            self.phrases += len(texts)
            self.characters += sum(len(t) for t in texts)
            if isinstance(item, Speech) and item.text:
                self.seconds += _most_seconds(item.text, self.settings.rate)
        fix = "use fewer or shorter steps, repetitions or holds, or split the routine"
        if self.steps > MAX_SCRIPT_STEPS:
            raise TooBig(f"{where}: the routine expands to more than "
                                    f"{MAX_SCRIPT_STEPS} steps (an exercise counts each time "
                                    f"it is included); {fix}")
        if self.phrases > MAX_SCRIPT_PHRASES:
            raise TooBig(f"{where}: the routine expands to more than "
                                    f"{MAX_SCRIPT_PHRASES} phrases; {fix}")
        if self.characters > MAX_SCRIPT_CHARACTERS:
            raise TooBig(f"{where}: the routine expands to more than "
                                    f"{MAX_SCRIPT_CHARACTERS} characters of speech; {fix}")
        if self.seconds > MAX_SCRIPT_HOURS * 3600:
            raise TooBig(f"{where}: the routine expands to more than "
                                    f"{MAX_SCRIPT_HOURS:g} hours (about "
                                    f"{self.seconds / 3600:.1f} so far); {fix}")


@dataclass
class Ctx:
    """Where a step is, and what its templates see."""

    run: Run
    doc: Document
    loc: Loc
    narrator: Narrator
    variables: dict[str, Any]
    id_prefix: str = ""
    title: str | None = None
    in_sides: bool = False

    def at(self, *parts: str | int) -> Ctx:
        """The context of a field or a nested step."""
        return replace(self, loc=(*self.loc, *parts))

    def with_vars(self, **extra: Any) -> Ctx:
        """The same place with more template variables."""
        return replace(self, variables={**self.variables, **extra})

    def where(self, *parts: str | int) -> str:
        """``file:line:col: field.path`` of a field, for messages."""
        return self.doc.located((*self.loc, *parts))

    def ident(self, *parts: str | int) -> str:
        """A stable id for a field (elastic values and wording rotation use it)."""
        return self.id_prefix + self.doc.dotted((*self.loc, *parts))


_DOWN_TO: Final[dict[Posture, str]] = {"lying": "lie down", "seated": "sit down"}
"""The moves down to the floor, as a warning names them (up onto the knees or feet, the
eyes are asked open first)."""


def closed_before_down(ctx: Ctx, to: Posture, where: str) -> None:
    """Warn where the listener, wherever they started, was asked to close their eyes before
    this move down to the floor (``where``: a transition, an exercise, or the routine's
    own words) (a listening audit: closed at 0:15, down at 1:37)."""
    if to not in _DOWN_TO or ctx.run.eyes != "closed" or not ctx.run.closed_at:
        return
    lead = f"{ctx.run.closed_at}: asks the listener to close their eyes before the routine"
    if not any(n.startswith(lead) for n in ctx.narrator.notes):  # at its first move down
        ctx.narrator.notes.append(
            f"{lead} asks them to {_DOWN_TO[to]} ({where}), and they may still be standing "
            "('start: any'): they would come down to the floor with their eyes closed; ask "
            f"for the move first, in a 'transition: {{to: {to}, say: ...}}' step before "
            "those words")


@contextmanager
def nested(ctx: Ctx) -> Iterator[bool]:
    """One level deeper (a section's or an exercise's steps): whether its steps may be
    expanded, past :data:`~voiceguide.limits.MAX_SCRIPT_DEPTH` not (a problem of the
    routine)."""
    deeper = ctx.run.depth < MAX_SCRIPT_DEPTH
    if not deeper and not any("nest more than" in p for p in ctx.run.invalid):
        ctx.run.invalid.append(f"{ctx.where()}: sections and exercises nest more than "
                               f"{MAX_SCRIPT_DEPTH} deep here; nest fewer")
    ctx.run.depth += deeper
    try:
        yield deeper
    finally:
        ctx.run.depth -= deeper


def say(ctx: Ctx, text: str | Sequence[str], field_: str | int, **extra: Any) -> str:
    """Render one wording of ``text`` (a template) for this occurrence, as it will be
    spoken (nothing the voice cannot say)."""
    variables = {**ctx.variables, **extra}
    key = ctx.ident(field_) + (f"@{variables['side']}" if variables.get("side") else "")
    try:
        spoken = speakable(ctx.narrator.render(text, variables, key,
                                               lambda: ctx.where(field_)), ctx.run.language)
    except RenderBudgetError:
        raise
    except TemplateError as exc:
        ctx.run.problems.append(str(exc))
        return ""
    notes = ctx.narrator.notes
    if spoken and not any(ch.isalnum() for ch in spoken):  # "...": a voice says nothing
        note = (f"{ctx.where(field_)}: {spoken[:40]!r} has no words to say, and is left "
                "out; write words, or use a pause")
        if note not in notes:
            notes.append(note)
        return ""
    name, heard = ctx.run.name, spoken
    if name and name in spoken:  # what the name says badly is told once, of the name
        heard = spoken.replace(name, "Alex")
        notes.extend(note for why in said_badly(name, ctx.run.language)
                     if (note := f"the name '{ctx.run.settings.name}': {why}") not in notes)
    claim = medical_claim(heard, ctx.run.language)  # a listener named Sana claims nothing
    if claim and (note := f"{ctx.where(field_)}: {claim}") not in notes:
        notes.append(note)
    other = None if any(READS_AS in n for n in notes) else reads_as(heard, ctx.run.language)
    if other:  # once: the first such text
        own, theirs = get_language(ctx.run.language), get_language(other)
        fix = "add 'language: {}' to it" if own.code == DEFAULT_LANGUAGE else \
            "set its 'language:' to {}"  # a review: "add" to an Italian routine's own line
        notes.append(f"{ctx.where(field_)}: {READS_AS} {theirs.name} ('{other}'), not "
                     f"{own.name}, the routine's language, whose voice reads it as "
                     f"{own.name}; if the routine is written in {theirs.name}, "
                     f"{fix.format(other)}, else write this in {own.name}")
    # eyes not asked open, and lying or sitting (where they may be closed), or asked closed
    up = ctx.run.eyes != "open" and ctx.run.posture not in EYES_OPEN
    if up or ctx.run.eyes == "closed":
        move = eyes_closed_move(heard, ctx.run.language, moving_up=up)
        if move and (note := f"{ctx.where(field_)}: {move}") not in notes:
            notes.append(note)
    # a routine's own words that move the listener (an exercise's introduce its own move),
    # which the next move there asks for again (see moves.transition)
    asked = None if ctx.run.within else posture_asked(heard, ctx.run.language)
    if asked and asked[1] != ctx.run.posture:
        ctx.run.told = (asked[1], f"{ctx.where(field_)}: '{asked[0]}'")
        if ctx.run.posture == "any":  # "Keep your eyes closed." then "Lie on your back."
            closed_before_down(ctx, asked[1], f"{ctx.where(field_)}: '{asked[0]}'")
    eyes = eyes_said(heard, ctx.run.language)
    if eyes == "closed" and ctx.run.posture == "any":
        ctx.run.closed_at = ctx.where(field_)
    ctx.run.eyes = eyes or ctx.run.eyes
    notes.extend(note for why in said_badly(heard, ctx.run.language)
                 if (note := f"{ctx.where(field_)}: {why}") not in notes)
    return spoken


def span(ctx: Ctx, value: Span, field_: str, label: str, grain: float) -> float:
    """A length in seconds: the fitted value of an elastic span, else its default."""
    ident = ctx.ident(field_)
    if value.elastic is not None:
        lo, hi = value.elastic
        ctx.run.elastics[ident] = Elastic(ident, "seconds", lo, hi, value.default, grain,
                                          label)
        if ident in ctx.run.fit:
            return ctx.run.fit[ident]
    return value.default


def count(ctx: Ctx, default: int, lo: int | None, hi: int | None, field_: str,
          label: str) -> int:
    """A count: the fitted value of an elastic count, else its default."""
    ident = ctx.ident(field_)
    if lo is not None and hi is not None and lo != hi:
        ctx.run.elastics[ident] = Elastic(ident, "count", lo, hi, default, 1.0, label)
        if ident in ctx.run.fit:
            return int(round(ctx.run.fit[ident]))
    return default
