"""Commands that look without building audio: ``list``, ``show``, ``script``,
``validate``, ``schema``, ``voices`` and ``cache``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import (
    EngineOption,
    JsonOption,
    LevelOption,
    MinutesOption,
    NameOption,
    QuietOption,
    RateOption,
    RoutineArgument,
    app,
    cache_app,
    emit_json,
    err,
    out,
    say,
    size,
    state,
    warn,
)

FileKind = Literal["routine", "exercise", "pack", "profile", "lexicon"]
"""The kinds of file ``validate`` and ``schema`` know."""


def _table(*columns: str) -> Any:
    from rich.table import Table

    return Table(*columns, box=None)


@app.command()
def voices(
    engine: Annotated[str, typer.Option(metavar="ENGINE", help="Speech engine.")] = "espeak",
    lang: Annotated[
        Optional[str], typer.Option(metavar="TEXT", help="Only voices whose id contains this.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the speech engine's voices.

    Example: voiceguide voices --lang en
    """
    found = [v for v in vg.list_voices(engine)
             if lang is None or lang.lower() in v.id.lower()]
    if as_json:
        emit_json({"engine": engine, "voices": [
            {"id": v.id, "name": v.name, "languages": list(v.languages), "gender": v.gender}
            for v in found]})
        return
    table = _table("id", "name")
    for v in found:
        table.add_row(v.id, v.name)
    out.print(table)


@app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """List the routines with title, level and estimated length.

    Example: voiceguide list
    """
    table = _table("routine", "title", "level", "length")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in vg.list_routines():
        try:
            routine, minutes = vg.estimate_minutes(path)
        except vg.VoiceguideError as exc:
            problems.append(str(exc))
            continue
        spec = routine.spec
        rows.append({"routine": path.stem, "file": str(path), "title": spec.title,
                     "level": spec.level, "language": spec.language,
                     "minutes": round(minutes, 1),
                     "designed": None if spec.length is None else
                     [spec.length.min, spec.length.max]})
        title = spec.title if spec.language == "en" else f"{spec.title} [{spec.language}]"
        table.add_row(path.stem, title, spec.level, f"~{minutes:.0f} min")
    if as_json:
        emit_json({"routines": rows, "problems": problems})
        return
    out.print(table)
    warn(problems)


@app.command()
def show(
    routine: RoutineArgument,
    minutes: MinutesOption = None,
    level: LevelOption = None,
    engine: Annotated[str, typer.Option(
        metavar="ENGINE", help="Speech engine used to measure.")] = "espeak",
    as_json: JsonOption = False,
) -> None:
    """Show a routine's outline and measured timing (fitted with --minutes), without audio.

    Example: voiceguide show bedtime-hips --minutes 10
    """
    lines = vg.outline(routine, minutes, level, engine)
    if as_json:
        emit_json({"routine": routine, "minutes": minutes, "level": level, "engine": engine,
                   "outline": lines})
        return
    for line in lines:
        out.print(line)


@app.command()
def script(
    routine: RoutineArgument,
    name: NameOption = None,
    level: LevelOption = None,
    minutes: MinutesOption = None,
    rate: RateOption = None,
    engine: EngineOption = None,
) -> None:
    """Print what will play: every sentence, pause, hold, breath and move, timed as built
    (fitted with --minutes), to proof-read without audio.

    Example: voiceguide script five-somatic-hip-exercises --minutes 12 --name Ana
    """
    options = vg.TrackSettings.from_options(
        {"name": name, "level": level, "minutes": minutes, "rate": rate, "engine": engine})
    for line in vg.script_text(routine, options):
        out.print(line)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="Routine, exercise, pack, profile or lexicon files to check.")],
    engine: EngineOption = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Check structure and narration only, without measuring speech "
        "(no speech engine; fast).")] = False,
    kind: Annotated[Optional[FileKind], typer.Option(
        help="What the files are (default: recognised by place and content).")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Check routine, exercise, pack, profile and lexicon files (each recognised by its
    place and content) and report every problem as file:line:col: field: message; routines are also
    planned at each level and their designed lengths with the speech engine.

    Example: voiceguide validate routines/*.yaml routines/exercises/*.yaml
    """
    state["quiet"] = quiet or as_json
    bad = 0
    results: list[dict[str, Any]] = []
    for path in files:
        try:
            checked = vg.check_file(path, engine, measure=not quick, kind=kind)
        except vg.VoiceguideError as exc:
            bad += 1
            problems = (exc.problems if isinstance(exc, vg.InvalidInputError) else []) \
                or str(exc).splitlines()
            results.append({"path": str(path), "kind": kind, "ok": False, "errors": problems,
                            "warnings": []})
            if not as_json:
                for p in problems:
                    err.print(f"Error: {p}")
            continue
        results.append({"path": str(path), "kind": checked.kind, "ok": True, "errors": [],
                        "warnings": checked.warnings})
        if not as_json:
            say(f"ok: {path} ({checked.kind}"
                + (f", {len(checked.warnings)} warnings)" if checked.warnings else ")"))
            warn(checked.warnings)
    if as_json:
        emit_json({"ok": not bad, "files": results})
    if bad:
        raise typer.Exit(vg.ExitCode.INVALID_INPUT)


@app.command()
def schema(
    kind: Annotated[FileKind, typer.Option(
        help="Which file format.")] = "routine",
) -> None:
    """Print the JSON Schema of routine, exercise, pack, profile or lexicon files, for
    editors.

    Example: voiceguide schema > routine.schema.json
    """
    out.print(json.dumps(vg.json_schema(kind), indent=2), markup=False)


@cache_app.command("info")
def cache_info(as_json: JsonOption = False) -> None:
    """Show where the phrase cache is and what it holds.

    Example: voiceguide cache info
    """
    info = vg.PhraseCache().info()
    if as_json:
        emit_json({"path": str(info.path), "phrases": info.entries, "bytes": info.bytes,
                   "limit": info.limit})
        return
    out.print(f"{info.path}: {info.entries} phrases, {size(info.bytes)} of {size(info.limit)}"
              " (least recently used phrases are removed beyond it; set "
              "VOICEGUIDE_CACHE_MAX_MB to change)")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached phrase.

    Example: voiceguide cache clear
    """
    n = vg.PhraseCache().clear()
    out.print(f"Removed {n} cached phrases")
