"""A level a routine does not change for: said when asked for (a warning), or refused
where it would give a beginner a routine's advanced work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from voiceguide.errors import LevelNotWritten, VoiceguideError, naming, option
from voiceguide.script.expand import expand

if TYPE_CHECKING:
    from voiceguide.routine.load import Routine
    from voiceguide.script.items import Script
    from voiceguide.settings import TrackSettings

SAME_AT_EVERY_LEVEL: Final = "has no steps or words of its own for the"
"""Words of the warning for a level a routine does not change for (``validate``, which
plans every routine at each level itself, leaves it out)."""


def same_at_every_level(routine: Routine, settings: TrackSettings, spoken: int | None,
                        script: Script) -> list[str]:
    """A warning when ``settings`` ask for a level the routine does not change for (a new
    user's --level advanced played morning-hips as written, and nothing said so); for
    ``--level beginner`` and an advanced routine, :class:`LevelNotWritten` (a listening
    audit: a beginner was given kneeling, a deep squat and pigeon with one warning)."""
    own = routine.spec.level
    if settings.level is None or settings.level == own:
        return []
    try:  # a step only its own level plays may fail: not this build's (an attack)
        other = expand(routine, settings.model_copy(update={"level": own}), minutes=spoken)
    except VoiceguideError:
        return []
    if other.root != script.root:
        return []
    if settings.level == "beginner" and own == "advanced":
        # a pack's track is named by its file and line already: the level is one of its
        source = "" if naming() == "file" else f" (from {option('level')}, a profile or a pack)"
        raise LevelNotWritten(f"'{routine.spec.title}' is an advanced routine with no steps "
                              f"or words of its own for beginners: the beginner level{source}"
                              " would play its advanced work; "
                              "leave the level out, or choose a beginner routine "
                              "(voiceguide list)")
    # a warning is kept in the cue sheet: worded alike for the command line and an app
    return [f"'{routine.spec.title}' {SAME_AT_EVERY_LEVEL} {settings.level} level: it "
            f"plays as its {own} level"]
