"""Time to move: a change of posture gets its words and a pause sized to the move.

Position changes need time in proportion to the move (lying to sitting 5-8 s, lying or
sitting to standing 8-12 s). Before kneeling or standing work the listener is asked to
open their eyes, and after it invited to close them again. Exercises declare their
position; the routine inserts these transitions where the posture changes, and a
``transition:`` step does it by hand.
"""

from __future__ import annotations

from typing import Final

from voiceguide.routine.steps import EYES_OPEN, Posture, TransitionSpec
from voiceguide.script.context import Ctx, closed_before_down, say
from voiceguide.script.items import Item, Slot, Speech

LEVEL: Final[dict[Posture, int]] = {"lying": 0, "seated": 1, "kneeling": 2, "standing": 3}
"""How far up a posture is, for sizing moves."""
MOVE_SECONDS: Final = (0.0, 6.0, 8.0, 10.0)
"""Seconds to move by how many levels (lying -> seated 6 s, lying -> standing 10 s)."""
STAND_SECONDS: Final = 8.0
"""Least time to come up to standing or down from it (from kneeling too, often holding a
stick, with the eyes just opened), and onto the knees from wherever the listener is."""
MOVE_GAP: Final = 0.8
"""Silence after the words that ask for the move, before its pause is counted."""


def move_seconds(before: Posture, after: Posture) -> float:
    """Seconds of time to move between two postures (0: no move)."""
    if after == before or after == "any":
        return 0.0
    if before == "any":  # wherever the listener is: time for the longest way there
        # (down from standing to lying 10 s, to sitting 8 s; up from lying to standing)
        return max(move_seconds(p, after) for p in LEVEL)
    seconds = MOVE_SECONDS[abs(LEVEL[after] - LEVEL[before])]
    return max(seconds, STAND_SECONDS) if "standing" in (before, after) else seconds


def eyes_first(ctx: Ctx, to: Posture, items: list[Item], where: str) -> bool:
    """Ask for open eyes before an exercise that moves the listener up onto the knees or
    feet, ahead of even its introduction ("Standing lunge. Stand tall..." must not be
    heard with the eyes still closed); whether it was asked."""
    before = ctx.run.posture
    if not _opens_eyes(before, to, move_seconds(before, to)):
        return False
    items.append(_eyes(ctx, "eyes_open", where))
    return True


def _opens_eyes(before: Posture, to: Posture, seconds: float) -> bool:
    """Whether a move (of ``seconds``) takes the listener up onto the knees or feet."""
    return seconds > 0 and to in EYES_OPEN and before not in EYES_OPEN


def _eyes(ctx: Ctx, phrase: str, where: str) -> Speech:
    ctx.run.eyes = "open" if phrase == "eyes_open" else "closed"
    return Speech(say(ctx, "{{ phrase('" + phrase + "') }}", "eyes"), MOVE_GAP, where)


def transition(ctx: Ctx, to: Posture, spec: TransitionSpec | None, items: list[Item],
               where: str, *, eyes_said: bool = False) -> None:
    """Move the listener to ``to`` (if they are not there): the words, then the pause
    (``eyes_said``: the open-eyes cue came already, see :func:`eyes_first`)."""
    before, told = ctx.run.posture, ctx.run.told
    seconds = spec.seconds if spec is not None and spec.seconds is not None \
        else move_seconds(before, to)
    if to != "any":  # (a move to anywhere keeps what was asked: no posture is taken)
        ctx.run.posture, ctx.run.told = to, None
    if seconds <= 0:
        return
    if told and told[0] == to and (spec is None or spec.say is None) and (note := (
            f"{told[1]} asks the listener to {'lie down' if to == 'lying' else 'sit'}, "
            "which the track cannot know they did, so the move after asks again ("
            f"{where}); put these words in a 'transition: {{to: {to}, say: ...}}' step in "
            "their place: it gives the move its time")) not in ctx.narrator.notes:
        ctx.narrator.notes.append(note)  # a new user's review: heard 90 s apart
    if before == "any":
        closed_before_down(ctx, to, where)
    if _opens_eyes(before, to, seconds) and not eyes_said:
        items.append(_eyes(ctx, "eyes_open", where))
    # from wherever the listener is, they may be lying or sitting already
    key = f"settle_{to}" if before == "any" and to in ("lying", "seated") else f"move_{to}"
    words = spec.say if spec is not None and spec.say is not None \
        else "{{ phrase('" + key + "') }}"
    items.append(Speech(say(ctx, words, "say"), 0.0, where))
    items.append(Slot(seconds, "transition", f"move to {to}", where))
    if before in EYES_OPEN and to not in EYES_OPEN:
        items.append(_eyes(ctx, "eyes_close", where))
