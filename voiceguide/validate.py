"""Checking files without building audio: validation and the JSON Schema of each format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from voiceguide.errors import UsageError
from voiceguide.pack.model import Pack
from voiceguide.preview import ESTIMATE_SR, estimate
from voiceguide.routine.catalogue import library_dirs
from voiceguide.routine.load import Routine
from voiceguide.routine.model import Exercise, RoutineSpec
from voiceguide.script.expand import expand
from voiceguide.settings import LEVELS, TrackSettings
from voiceguide.timeline import schedule


def validate_file(path: Path) -> Routine:
    """Load a routine and render its narration at every level; raise on any problem."""
    routine = Routine.from_file(path, library_dirs())
    for level in LEVELS:
        script = expand(routine, TrackSettings(name="Alex", level=level), minutes=10)
        schedule(script, estimate, ESTIMATE_SR)
    return routine


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
