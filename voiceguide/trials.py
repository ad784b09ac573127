"""A routine planned as ``validate`` checks it: at each level, at its own length and at
both ends of its designed range, with and without a listener's name, with the speech
engine and measurement (or only expanded, without one); and its narration without its
optional steps. Every problem is raised, every warning returned once."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import (
    NO_OPTIONAL,
    LevelNotWritten,
    ScheduleError,
    VoiceguideError,
    counted_once,
    with_message,
)
from voiceguide.limits import render_budget

if TYPE_CHECKING:
    from voiceguide.routine.load import Routine
    from voiceguide.settings import TrackSettings


def settings_for(engine: str | None, voice: str | None = None, rate: int | None = None
                 ) -> TrackSettings:
    """The settings a routine is checked with: the defaults, and the ``engine``, ``voice``
    and ``rate`` given."""
    from voiceguide.settings import TrackSettings

    given = {k: v for k, v in (("engine", engine), ("voice", voice), ("rate", rate))
             if v is not None}
    # checked as an app's values are: an unknown engine is a UsageError, not pydantic's
    return TrackSettings.from_options(given) if given else TrackSettings()


def designed_lengths(routine: Routine) -> list[float | None]:
    lengths: list[float | None] = [None]
    if routine.spec.length is not None:
        lengths += [routine.spec.length.min, routine.spec.length.max]
    return lengths


@render_budget()  # one for every plan of this file (see TOTAL_RENDER_SECONDS)
def plan_all(routine: Routine, settings: TrackSettings, lengths: list[float | None],
             engine: str | None, path: Path) -> list[str]:
    """Plan (with ``engine``) or expand (None) at each level and length, with and without a
    listener's name, and expand without the optional steps; the warnings, once each."""
    from voiceguide.lengths import SILENT, LengthOutOfReach, out_of_reach, quiet_stretches
    from voiceguide.script.expand import expand, spoken_minutes
    from voiceguide.settings import LEVELS

    voice = None
    if engine is not None:
        from voiceguide.speech.engine import get_engine

        voice = get_engine(engine)
    warnings: list[str] = []
    asked = _asked(settings)
    # a track's long silences differ at each level and length: the longest is said once
    quiet: list[tuple[int, str, float | None, str]] = []
    try:
        for level in LEVELS:
            # with and without a name (a routine with no length range: its own length both)
            trials = [(m, "" if m is None else "Alex") for m in lengths]
            for minutes, name in trials + ([(None, "Alex")] if len(lengths) == 1 else []):
                trial = settings.model_copy(update={"level": level, "minutes": minutes,
                                                    "name": name})
                try:
                    if voice is None:
                        spoken = spoken_minutes(minutes) if minutes is not None else 0
                        warnings += expand(routine, trial, minutes=spoken).warnings
                        continue
                    from voiceguide.build import plan_track
                    from voiceguide.script.levels import SAME_AT_EVERY_LEVEL

                    try:
                        plan = plan_track(routine, trial, engine=voice)
                    except LevelNotWritten:  # the same steps: planned at its own level
                        continue
                    warnings += [w for w in plan.warnings + plan.notes
                                 if SAME_AT_EVERY_LEVEL not in w  # asked by validate
                                 and not w.startswith(SILENT)]  # the worst plan's, below
                    quiet += [(max(n for _, n in quiet_stretches(plan.timeline)), level,
                               minutes, said) for said in plan.warnings
                              if said.startswith(SILENT)]
                except ScheduleError as exc:
                    if asked and isinstance(exc, LengthOutOfReach) and minutes:
                        # a listener's rate moves what the routine can last: the file is
                        # right, and a build asking for that end is told this
                        warnings.append(f"{path}: at the {level} level, " + str(out_of_reach(
                            minutes * 60, routine.spec.title, *exc.reachable, why=exc.why))
                            + asked)
                        continue
                    raise _in_place(exc, routine, settings, lengths, voice, path, level,
                                    minutes, warnings) from None
        warnings += _without_optional(routine, settings, warnings)
    finally:
        if voice is not None:
            voice.close()
    if quiet:
        _, worst, longest, said = max(quiet, key=lambda q: q[0])
        at = f"{longest:g} minutes" if longest is not None else "its own length"
        more = len({(q[1], q[2]) for q in quiet}) - 1  # (with a name and without: one)
        others = f" (and at {more} more of the levels and lengths planned)" if more else ""
        warnings.append(f"{path}: at the {worst} level and {at}{others}: {said}")
    return counted_once(warnings)


def _without_optional(routine: Routine, settings: TrackSettings, said: list[str]
                      ) -> list[str]:
    """What the narration of ``routine`` without its optional steps (``--no-optional``)
    warns of that ``said`` does not, at each level, saying so: a move an optional step
    made is then asked again (an attack: unlock-tight-hips said "To finish, lie on your
    back." then "Take your time to come down and lie down."). Its narration only: the
    lengths and silences of a track that leaves steps out are no news."""
    from voiceguide.script.expand import expand
    from voiceguide.script.items import walk_speech
    from voiceguide.settings import LEVELS

    found: list[str] = []
    for level in LEVELS:
        with contextlib.suppress(VoiceguideError):  # what only it would fail on: not said
            script = expand(routine, settings.model_copy(update={"level": level,
                                                                 "optional": False}))
            found += script.warnings if walk_speech(script.root) else []
    return [f"{w} ({NO_OPTIONAL})" for w in dict.fromkeys(found) if w not in said]


def _asked(settings: TrackSettings) -> str:
    """`` (checked with --rate 100)``: a listener's voice and rate the check was asked
    with, said after what it found; empty where none was."""
    asked = [f"--{k} {v}" for k, v in settings.given().items() if k in ("voice", "rate")]
    return f" (checked with {', '.join(asked)})" if asked else ""


def _in_place(exc: ScheduleError, routine: Routine, settings: TrackSettings,
              lengths: list[float | None], voice: object, path: Path, level: str,
              minutes: float | None, warnings: list[str]) -> VoiceguideError:
    """The error of a routine's plan at ``level`` and ``minutes``, naming where and what to
    change, with the warnings said so far and the narration's (expanded, not timed: that
    failed), so one run shows what to fix."""
    from voiceguide.lengths import LengthOutOfReach, designed_out_of_reach

    error: VoiceguideError
    if isinstance(exc, LengthOutOfReach) and minutes is not None:
        # an end of the designed range: the fix is in ``length:``
        error = designed_out_of_reach(routine, level, exc.reachable, exc.why)
    elif str(exc).startswith(f"{path}:"):  # it names its place
        error = exc
    else:
        at = f"{minutes:g} minutes" if minutes is not None else "its own length"
        error = ScheduleError(f"{path}: at the {level} level and {at}: {exc}")
    if asked := _asked(settings):  # a listener's voice or rate: said with what it found
        error = with_message(error, f"{error}{asked}")
    narrated: list[str] = []
    if voice is not None:
        with contextlib.suppress(VoiceguideError):
            narrated = plan_all(routine, settings, lengths, None, path)
    error.warnings = list(dict.fromkeys(warnings + narrated))
    return error
