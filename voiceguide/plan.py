"""Looking at routines without building audio: estimates, outlines, proof-read scripts,
validation and the JSON Schema of the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voiceguide.engines import get_engine
from voiceguide.errors import UsageError
from voiceguide.pipeline import BuildRequest, library_dirs, make_plan, open_routine
from voiceguide.routine import LEVELS, Exercise, Level, LoadedRoutine, Routine, load_routine
from voiceguide.script import (
    Group,
    Item,
    Options,
    SidePair,
    Slot,
    Speech,
    estimate_speech_seconds,
    expand,
)
from voiceguide.timeline import Timeline, schedule

ESTIMATE_RATE = 150
ESTIMATE_SR = 1000


def _estimate(text: str, speed: float) -> int:
    return int(estimate_speech_seconds(text, int(ESTIMATE_RATE * speed)) * ESTIMATE_SR)


def estimate_minutes(path: Path) -> tuple[LoadedRoutine, float]:
    """Load a routine and estimate its length from word counts (no engine)."""
    routine = load_routine(path, library_dirs())
    tl = schedule(expand(routine, Options()), _estimate, ESTIMATE_SR)
    return routine, tl.duration / 60


def validate_file(path: Path) -> LoadedRoutine:
    """Load a routine and render its narration at every level; raise on any problem."""
    routine = load_routine(path, library_dirs())
    for level in LEVELS:
        script = expand(routine, Options(name="Alex", level=level, minutes=10))
        schedule(script, _estimate, ESTIMATE_SR)
    return routine


def _fmt(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def outline(ref: str, minutes: float | None, level: str | None, engine: str) -> list[str]:
    """The outline of a routine with measured (and fitted) timing."""
    eng = get_engine(engine)
    try:
        lvl: Level | None = level if level in LEVELS else None
        req = BuildRequest(routine=ref, minutes=minutes, level=lvl, engine=engine)
        from voiceguide.cache import PhraseCache

        plan = make_plan(req, eng, PhraseCache())
    finally:
        eng.close()
    tl = plan.timeline
    model = plan.routine.model
    lines = [f"{model.title}  ({plan.routine.id}, {level or model.level})"]
    if model.length:
        lines.append(f"designed for {model.length.min:g}-{model.length.max:g} min")
    lines.append(f"length: {_fmt(tl.duration)}" + (
        f" (target {_fmt(minutes * 60)}; reachable {_fmt(plan.fit.reachable[0])} to "
        f"{_fmt(plan.fit.reachable[1])})" if plan.fit and minutes else ""))
    if plan.fit and plan.fit.values:
        lines.append("fitted: " + ", ".join(
            f"{e.label} {plan.fit.values.get(k, e.default):g}"
            for k, e in sorted(plan.script.elastics.items())))
    lines.append("")
    lines.extend(_chapter_lines(tl))
    return lines


def _chapter_lines(tl: Timeline) -> list[str]:
    sr = tl.sample_rate
    lines: list[str] = []
    for ch in tl.chapters:
        lines.append(f"{_fmt(ch.start / sr)}  {ch.title}  ({_fmt((ch.end - ch.start) / sr)})")
        inside = [i for i in tl.intervals if ch.start <= i.start < ch.end and i.kind != "speech"]
        k = 0
        while k < len(inside):
            i = inside[k]
            if i.kind in ("breath", "phase"):
                run = [i]
                while k + 1 < len(inside) and inside[k + 1].kind == i.kind:
                    k += 1
                    run.append(inside[k])
                pattern = "-".join(f"{r.seconds:g}" for r in run[: _period(run)])
                cycles = len(run) // max(1, _period(run))
                name = "breathe" if i.kind == "breath" else "reps"
                lines.append(f"    {_fmt(i.start / sr)}  {name} {pattern} s x {cycles}")
            elif i.label not in ("lead-in", "ending"):
                lines.append(f"    {_fmt(i.start / sr)}  {i.kind} {i.seconds:g} s")
            k += 1
    return lines


def _period(run: list[Any]) -> int:
    labels = [r.label for r in run]
    for p in range(1, len(labels) + 1):
        if all(labels[j] == labels[j % p] for j in range(len(labels))):
            return p
    return len(labels)


def script_text(ref: str, name: str, level: str | None) -> list[str]:
    """The narration as text with its pauses."""
    routine = open_routine(ref)
    lvl: Level | None = level if level in LEVELS else None
    script = expand(routine, Options(name=name, level=lvl))
    lines = [f"# {script.title}", ""]
    _text_lines(script.root, lines, 0)
    return lines


def _text_lines(item: Item, lines: list[str], depth: int) -> None:
    pad = "  " * max(0, depth - 1)
    if isinstance(item, Group):
        if item.title:
            lines.append("")
            lines.append(f"{pad}## {item.title}")
        for child in item.items:
            _text_lines(child, lines, depth + 1)
    elif isinstance(item, SidePair):
        _text_lines(item.first, lines, depth)
        for child in item.switch:
            _text_lines(child, lines, depth + 1)
        _text_lines(item.second, lines, depth)
    elif isinstance(item, Speech):
        if item.text:
            lines.append(f"{pad}{item.text}")
    elif isinstance(item, Slot):
        if item.kind in ("breath", "phase"):
            text = item.cues[0].text if item.cues else ""
            lines.append(f"{pad}[{item.label} {item.seconds:g} s] {text}")
        elif item.kind == "chime":
            lines.append(f"{pad}[{item.label}]")
        else:
            lines.append(f"{pad}[{item.kind} {item.seconds:g} s]")
            for cue in item.cues:
                lines.append(f"{pad}    at {cue.offset:g} s: {cue.text}")


def json_schema(kind: str = "routine") -> dict[str, Any]:
    """JSON Schema of routine, exercise, pack or profile files (in routines and exercises,
    numbers may also be ``$param`` names)."""
    from pydantic import BaseModel

    from voiceguide.pack import Pack
    from voiceguide.profile import Profile

    models: dict[str, type[BaseModel]] = {
        "routine": Routine, "exercise": Exercise, "pack": Pack, "profile": Profile,
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
