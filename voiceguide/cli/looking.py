"""Commands that look without building audio: ``list``, ``show``, ``script``,
``validate``, ``schema``, ``voices`` and ``cache``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

import voiceguide as vg
from voiceguide.cli.app import (
    EngineOption,
    LevelOption,
    MinutesOption,
    NameOption,
    RateOption,
    app,
    cache_app,
    err,
    out,
    size,
    warn,
)


@app.command()
def voices(
    engine: Annotated[str, typer.Option(help="Speech engine.")] = "espeak",
    lang: Annotated[
        Optional[str], typer.Option(help="Only voices whose id contains this.")
    ] = None,
) -> None:
    """List the speech engine's voices.

    Example: voiceguide voices --lang en
    """
    found = vg.list_voices(engine)
    table = Table("id", "name", box=None)
    for v in found:
        if lang is None or lang.lower() in v.id.lower():
            table.add_row(v.id, v.name)
    out.print(table)


@app.command("list")
def list_cmd() -> None:
    """List the routines with title, level and estimated length.

    Example: voiceguide list
    """
    table = Table("routine", "title", "level", "length", box=None)
    problems: list[str] = []
    for path in vg.list_routines():
        try:
            routine, minutes = vg.estimate_minutes(path)
        except vg.VoiceguideError as exc:
            problems.append(str(exc))
            continue
        table.add_row(path.stem, routine.spec.title, routine.spec.level, f"~{minutes:.0f} min")
    out.print(table)
    for p in problems:
        err.print(f"Warning: {p}")


@app.command()
def show(
    routine: Annotated[str, typer.Argument(help="Routine name or file.")],
    minutes: MinutesOption = None,
    level: LevelOption = None,
    engine: Annotated[str, typer.Option(help="Speech engine used to measure.")] = "espeak",
) -> None:
    """Show a routine's outline and measured timing (fitted with --minutes), without audio.

    Example: voiceguide show bedtime-hips --minutes 10
    """
    for line in vg.outline(routine, minutes, level, engine):
        out.print(line)


@app.command()
def script(
    routine: Annotated[str, typer.Argument(help="Routine name or file.")],
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
    files: Annotated[list[Path], typer.Argument(help="Routine files to check.")],
    engine: EngineOption = None,
) -> None:
    """Check routine files and report every problem as file:line:col: field: message.

    Example: voiceguide validate routines/*.yaml
    """
    bad = 0
    for path in files:
        try:
            warnings = vg.validate_file(path, engine)
            out.print(f"ok: {path}" + (f" ({len(warnings)} warnings)" if warnings else ""))
            warn(warnings)
        except vg.InvalidInputError as exc:
            bad += 1
            for p in exc.problems:
                err.print(f"Error: {p}")
        except vg.VoiceguideError as exc:
            bad += 1
            for line in str(exc).splitlines():
                err.print(f"Error: {line}")
    if bad:
        raise typer.Exit(vg.ExitCode.INVALID_INPUT)


@app.command()
def schema(
    kind: Annotated[str, typer.Option(help="routine, exercise, pack or profile.")] = "routine",
) -> None:
    """Print the JSON Schema of routine, exercise, pack or profile files, for editors.

    Example: voiceguide schema > routine.schema.json
    """
    out.print(json.dumps(vg.json_schema(kind), indent=2), markup=False)


@cache_app.command("info")
def cache_info() -> None:
    """Show where the phrase cache is and what it holds.

    Example: voiceguide cache info
    """
    info = vg.PhraseCache().info()
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
