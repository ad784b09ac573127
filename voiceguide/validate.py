"""Checking files without building audio: validation of routines, exercises, packs and
profiles (each recognised by its place and content), and the JSON Schema of each format.

Light to import: the models load when a file is checked, the speech engine and the audio
stack only when a check measures speech.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from voiceguide.errors import (
    InvalidInputError,
    OtherKindError,
    UsageError,
    VoiceguideError,
    file_fields,
    option,
    with_message,
    yes_or_no,
)
from voiceguide.io.kinds import guess_kind
from voiceguide.io.models import capped
from voiceguide.io.paths import path_arg
from voiceguide.io.yamldoc import load_yaml, parsing_once
from voiceguide.trials import designed_lengths, plan_all, settings_for

if TYPE_CHECKING:
    from pydantic import BaseModel

    from voiceguide.pack.jobs import TrackJob
    from voiceguide.routine.load import Routine
    from voiceguide.settings import TrackSettings

KINDS: Final = ("routine", "exercise", "pack", "profile", "lexicon")
"""The kinds of file ``check_file`` knows."""


@dataclass
class Checked:
    """A file that passed its checks."""

    path: Path
    kind: str
    """routine, exercise, pack, profile or lexicon."""
    warnings: list[str] = field(default_factory=list)
    """What a build would warn about (``file:line:col: message``)."""


def file_kind(path: Path | str) -> str:
    """What a file is, by its place (``exercises/``, ``packs/``, ``profile.yaml`` or
    ``profiles/``), else by its keys (see :func:`~voiceguide.io.kinds.guess_kind`): one
    of :data:`KINDS`, or what voiceguide writes ('cue sheet', 'pack manifest')."""
    path = path_arg(path, "path", "file")
    if path.parent.name == "exercises":
        return "exercise"
    if path.parent.name == "packs":
        return "pack"
    if path.stem == "profile" or path.parent.name == "profiles":
        return "profile"
    if path.stem == "lexicon":
        return "lexicon"
    from voiceguide.settings import TrackSettings

    return guess_kind(load_yaml(path, "YAML").data, TrackSettings.model_fields)


def check_file(path: Path | str, engine: str | None = None, *, measure: bool = True,
               kind: str | None = None, voice: str | None = None,
               rate: int | None = None) -> Checked:
    """Check any voiceguide file the way it will be used: a routine is loaded and planned
    at each level and at its designed lengths (``measure``: with the speech engine and
    measurement, as ``build`` does; else its narration is rendered without speech); an
    exercise is checked at each level with its default parameters (inside ``sides`` when
    it has none of its own); a pack is expanded to its tracks (and each distinct track
    planned when ``measure``); a profile is validated. ``kind`` overrides the guess;
    ``voice`` and ``rate`` are a listener's (a pack's tracks take them over their own).
    Raises on any problem; returns the kind and the warnings."""
    path = path_arg(path, "path", "file")
    yes_or_no(measure=measure)
    settings = settings_for(engine, voice, rate)  # checked before any file is read
    with parsing_once():
        return _check_file(path, settings, measure, kind)


def _check_file(path: Path, settings: TrackSettings, measure: bool,
                kind: str | None) -> Checked:
    named, kind = kind, kind or file_kind(path)
    if named is None and kind not in KINDS:  # a cue sheet, a pack.json: one line
        from voiceguide.errors import OtherKindError
        from voiceguide.io.kinds import RUN_WITH

        raise OtherKindError(f"{path}: this is a {kind}, not a file validate checks; "
                             + RUN_WITH[kind])
    if kind not in KINDS:
        raise UsageError(f"{option('kind')} must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "routine":
        if measure:
            return Checked(path, kind, _validate_routine(path, settings))
        routine = _load_routine(path)
        return Checked(path, kind, plan_all(routine, settings, designed_lengths(routine),
                                            None, path))
    if kind == "exercise":
        return Checked(path, kind, _check_exercise(path, settings, measure))
    if kind == "pack":
        return Checked(path, kind, _check_pack(path, settings, measure))
    if kind == "lexicon":
        from voiceguide.routine.lexicon import load_user_lexicon

        load_user_lexicon(path)
        return Checked(path, kind)
    from voiceguide.profile import load_profile

    bed = load_profile(path).bed
    if measure and bed:  # a bed file: beside the profile, as build finds it
        from voiceguide.mix.sounds import bed_problem

        problem = bed_problem(bed)
        if problem is not None:
            line, col = load_yaml(path, "profile", empty_ok=True).where(("bed",))
            raise InvalidInputError(f"{path}:{line}:{col}: bed: {problem}")
    return Checked(path, kind)


def validate_file(path: Path | str, engine: str | None = None, *, voice: str | None = None,
                  rate: int | None = None) -> list[str]:
    """Check a routine the way ``build`` will use it: load it, then plan it with the real
    speech engine and measurement (the phrase cache helps) at each level, at its own
    length and at both ends of its designed range (with ``voice`` and ``rate``, a
    listener's). Raises on any problem; returns the warnings a build would print."""
    return _validate_routine(path_arg(path, "path", "file"), settings_for(engine, voice, rate))


def _validate_routine(path: Path, settings: TrackSettings) -> list[str]:
    routine = _load_routine(path)
    return plan_all(routine, settings, designed_lengths(routine), settings.engine, path)


def _load_routine(path: Path) -> Routine:
    from voiceguide.routine.catalogue import library_dirs
    from voiceguide.routine.load import Routine

    with _with_templates(path, "routine"):
        return Routine.from_file(path, library_dirs())


@contextlib.contextmanager
def _with_templates(path: Path, kind: str) -> Iterator[None]:
    """A file whose structure has problems: its templates' problems said with them (a
    template is rendered only once the structure is valid, which took a second run)."""
    try:
        yield
    except InvalidInputError as exc:
        if isinstance(exc, OtherKindError):
            raise
        from voiceguide.script.templates import template_problems

        try:
            found = template_problems(load_yaml(path, kind))
        except VoiceguideError:
            raise exc from None
        extra = [p for p in found if p not in exc.problems]
        if not extra:
            raise
        problems = capped([*exc.problems, *extra])
        error = InvalidInputError(problems[0], problems)
        error.warnings = exc.warnings
        raise error from None


def _has_sides(node: Any) -> bool:
    if isinstance(node, dict):
        return "sides" in node or any(_has_sides(v) for v in node.values())
    return isinstance(node, list) and any(_has_sides(v) for v in node)


def _check_exercise(path: Path, settings: TrackSettings, measure: bool) -> list[str]:
    from voiceguide.errors import InvalidInputError
    from voiceguide.routine.catalogue import library_dirs
    from voiceguide.routine.load import Routine
    from voiceguide.script.sidewords import SAME_ON_BOTH
    from voiceguide.settings import LEVELS

    folders = [path.parent, *library_dirs()]
    data = load_yaml(path, "exercise").data
    step: dict[str, Any] = {"exercise": path.stem}
    if not _has_sides(data):  # an exercise without sides of its own is used inside them
        step = {"section": path.stem, "steps": [{"sides": {"steps": [step]}}]}  # titled
    with _with_templates(path, "exercise"):
        routine = Routine.from_dict({"title": path.stem, "steps": [step]}, folders,
                                    name=str(path))
        for level in LEVELS:
            loaded, problems = routine.library.instantiate(path.stem, {}, level)
            if loaded is None:
                said = capped(problems)
                raise InvalidInputError(said[0], said)
    said = plan_all(routine, settings, [None], settings.engine if measure else None, path)
    return [w for w in said if SAME_ON_BOTH not in w]  # sides of its own making, above


MAX_TRACKS_SAID: Final = 20
"""A pack's tracks that cannot be built named one by one; the rest are counted."""


def _check_pack(path: Path, settings: TrackSettings, measure: bool) -> list[str]:
    from voiceguide.build import plan_track
    from voiceguide.pack.jobs import where_all
    from voiceguide.pack.plan import load_pack
    from voiceguide.routine.catalogue import library_dirs
    from voiceguide.routine.load import Routine
    from voiceguide.speech.engine import get_engine

    options = settings if settings.given() else None  # the command line's layer
    plan = load_pack(path, Path("output") / "validate", None, options)  # beds there
    if not measure:
        return list(plan.warnings)
    warnings: list[str] = list(plan.warnings)
    alike: dict[str, list[TrackJob]] = {}  # tracks planned once for their settings
    for job in plan.jobs:
        s = job.settings
        key = repr((str(job.routine_path), s.minutes, s.level, bool(s.name), s.rate,
                    s.engine, s.voice, s.optional, s.bed))  # a bed file: decoded
        alike.setdefault(key, []).append(job)
    failed: list[VoiceguideError] = []  # every track that cannot be built, not the first
    for job, *others in alike.values():
        s = job.settings
        where = f"{job.where}: "
        try:
            voice = get_engine(s.engine)
            try:
                routine = Routine.from_file(job.routine_path, library_dirs())
                with file_fields():  # named as the pack file names them, as pack does
                    planned = plan_track(routine, s, engine=voice)
                # a track's warning names it, as pack does (several: which one was it?)
                warnings += [f"{where_all([job, *others])}: {w}" for w in planned.warnings]
            finally:
                voice.close()
        except InvalidInputError:  # the routine's own file names its place
            raise
        except VoiceguideError as exc:  # the pack's file and track, same kind of error
            failed.append(with_message(exc, where + str(exc)))
    if failed:
        said = [str(e) for e in failed[:MAX_TRACKS_SAID]]
        if len(failed) > MAX_TRACKS_SAID:  # 10,000 tracks: not 9,563 lines
            said.append(f"{path}: and {len(failed) - MAX_TRACKS_SAID} more tracks that "
                        "cannot be built")
        error = with_message(failed[0], "\n".join(said))
        error.warnings = list(dict.fromkeys(warnings))
        raise error
    return list(dict.fromkeys(warnings))


def json_schema(kind: str = "routine") -> dict[str, Any]:
    """JSON Schema of routine, exercise, pack or profile files (in routines and exercises,
    numbers may also be ``$param`` names)."""
    from voiceguide.pack.model import Pack
    from voiceguide.routine.lexicon import LexiconFile
    from voiceguide.routine.model import Exercise, RoutineSpec
    from voiceguide.settings import TrackSettings

    models: dict[str, type[BaseModel]] = {
        "routine": RoutineSpec, "exercise": Exercise, "pack": Pack, "profile": TrackSettings,
        "lexicon": LexiconFile,
    }
    if kind not in models:
        raise UsageError(f"{option('kind')} must be one of {', '.join(models)} (got {kind!r})")
    schema = models[kind].model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"voiceguide {kind}"
    if kind in ("routine", "exercise"):
        _allow_params(schema)
    return schema


def _allow_params(node: Any) -> None:
    param = {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"}
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    if isinstance(sub, dict) and sub.get("type") in ("number", "integer"):
                        value[prop] = {"anyOf": [sub, param], **{
                            k: sub[k] for k in ("description", "default", "title") if k in sub}}
            _allow_params(value)
        options = node.get("anyOf")
        numeric = isinstance(options, list) and any(
            isinstance(a, dict) and a.get("type") in ("number", "integer") for a in options
        )
        if numeric and param not in node["anyOf"]:
            node["anyOf"].append(param)
    elif isinstance(node, list):
        for v in node:
            _allow_params(v)
