"""Checking files without building audio: validation and the JSON Schema of each format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from voiceguide.build import plan_track
from voiceguide.errors import ScheduleError, UsageError
from voiceguide.pack.model import Pack
from voiceguide.routine.catalogue import library_dirs
from voiceguide.routine.load import Routine
from voiceguide.routine.model import Exercise, RoutineSpec
from voiceguide.settings import LEVELS, TrackSettings
from voiceguide.speech.engine import get_engine


def validate_file(path: Path, engine: str | None = None) -> list[str]:
    """Check a routine the way ``build`` will use it: load it, then plan it with the real
    speech engine and measurement (the phrase cache helps) at each level, at its own
    length and at both ends of its designed range. Raises on any problem; returns the
    warnings a build would print."""
    routine = Routine.from_file(path, library_dirs())
    settings = TrackSettings(engine=engine) if engine else TrackSettings()
    lengths: list[float | None] = [None]
    if routine.spec.length is not None:
        lengths += [routine.spec.length.min, routine.spec.length.max]
    warnings: list[str] = []
    voice = get_engine(settings.engine)
    try:
        for level in LEVELS:
            for minutes in lengths:
                name = "" if minutes is None else "Alex"  # with and without a name
                trial = settings.model_copy(update={"level": level, "minutes": minutes,
                                                    "name": name})
                try:
                    warnings += plan_track(routine, trial, engine=voice).warnings
                except ScheduleError as exc:
                    at = f"{minutes:g} minutes" if minutes is not None else "its own length"
                    raise ScheduleError(f"{path}: at the {level} level and {at}: {exc}"
                                        ) from None
    finally:
        voice.close()
    return list(dict.fromkeys(warnings))


def json_schema(kind: str = "routine") -> dict[str, Any]:
    """JSON Schema of routine, exercise, pack or profile files (in routines and exercises,
    numbers may also be ``$param`` names)."""
    models: dict[str, type[BaseModel]] = {
        "routine": RoutineSpec, "exercise": Exercise, "pack": Pack, "profile": TrackSettings,
    }
    if kind not in models:
        raise UsageError(f"--kind must be one of {', '.join(models)} (got {kind})")
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
