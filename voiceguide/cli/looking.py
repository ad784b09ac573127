"""Commands that look without building audio: ``list``, ``show``, ``script``,
``validate``, ``schema``, ``voices`` and ``cache``."""

import contextlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import (
    BedOption,
    EngineOption,
    JsonOption,
    LevelOption,
    MinutesOption,
    NameOption,
    OptionalOption,
    ProfileOption,
    QuietOption,
    RateOption,
    RoutineArgument,
    VoiceOption,
    app,
    cache_app,
    emit_json,
    err,
    out,
    profile_named,
    say,
    state,
    track_settings,
)
from voiceguide.cli.quick import size
from voiceguide.cli.terminal import warn

FileKind = Literal["routine", "exercise", "pack", "profile", "lexicon"]
"""The kinds of file ``validate`` and ``schema`` know."""


def _table(*columns: str) -> Any:
    from rich.table import Column, Table

    # nothing is cut short with an ellipsis (an id is typed, a length read at a glance):
    # on a terminal too narrow for a word, it folds
    return Table(*(Column(c, overflow="fold") for c in columns), box=None)


@app.command()
def voices(
    engine: Annotated[Optional[str], typer.Option(
        metavar="ENGINE", help="Only this engine's voices (default: every installed engine).")
    ] = None,
    lang: Annotated[Optional[str], typer.Option(
        metavar="LANG", help="Only voices of this language or its variants (en: en-us, "
        "en-gb, ...).")] = None,
    say_text: Annotated[Optional[str], typer.Option(
        "--say", metavar="TEXT", help="Speak TEXT with each listed voice into a WAV file "
        "per voice (in --out), to compare them.")] = None,
    voice: Annotated[Optional[str], typer.Option(
        metavar="VOICE", help="Only this voice (an id; with --say also a Piper .onnx file "
        "with --engine piper).")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", "-o", metavar="DIR", help="Folder for the --say samples.")] = Path("voices"),
    rate: RateOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the voices of every installed speech engine, or speak a sample with each.

    Example: voiceguide voices --lang en --say "Breathe in slowly."
    """
    if engine is not None:  # an unknown name is a usage error, as it is for build
        vg.TrackSettings.from_options({"engine": engine}, as_settings=False)
    if say_text is not None:
        written = vg.voice_samples(say_text, out_dir, engine=engine, lang=lang, voice=voice,
                                   rate=rate)
        if as_json:
            emit_json({"samples": [str(p) for p in written]})
            return
        for p in written:
            say(str(p))
        return
    found, notes = vg.find_voices(engine, lang)
    if voice is not None:
        found = [ev for ev in found if voice in (ev.voice.id, ev.voice.name)]
    if not found:
        notes = [*notes, "no voice " + " ".join(
            ([f"'{voice}'"] if voice else []) + ([f"of language '{lang}'"] if lang else [])
            + ([f"in engine '{engine}'"] if engine else [])).strip()
            + "; 'voiceguide voices' lists them all"]
    if as_json:
        emit_json({"engine": engine, "voices": [
            {"engine": ev.engine, "id": ev.voice.id, "name": ev.voice.name,
             "languages": list(ev.voice.languages), "gender": ev.voice.gender,
             "sample_rate": ev.voice.sample_rate}
            for ev in found], "notes": notes})
        return
    table = _table("engine", "id", "language", "Hz", "name")
    for ev in found:
        table.add_row(ev.engine, ev.voice.id, ", ".join(ev.voice.languages),
                      str(ev.voice.sample_rate or ""), ev.voice.name)
    if found:
        out.print(table)
    for note in notes:
        err.print(f"Note: {note}")


@app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """List the routines with title, level, estimated length and the lengths each is
    designed for (the range --minutes can ask for).

    Example: voiceguide list
    """
    table = _table("routine", "title", "level", "minutes")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in vg.list_routines():
        try:
            routine, minutes = vg.estimate_minutes(path)
        except vg.OtherKindError:
            continue  # a pack or profile kept beside the routines is not one of them
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
        designed = "" if spec.length is None else f" ({spec.length.min:g}-{spec.length.max:g})"
        table.add_row(path.stem, title, spec.level, f"~{minutes:.0f}{designed}")
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
    name: NameOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    optional: OptionalOption = None,
    bed: BedOption = None,
    engine: Annotated[Optional[str], typer.Option(
        metavar="ENGINE", help="Speech engine used to measure (default espeak).")] = None,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a routine's outline and measured timing (fitted with --minutes), without audio;
    the profile's settings apply, as they do to build.

    Example: voiceguide show bedtime-hips --minutes 10
    """
    given = {"minutes": minutes, "level": level, "name": name, "voice": voice, "rate": rate,
             "optional": optional, "bed": bed, "engine": engine}  # a bed: what is heard
    settings = track_settings(profile, given)
    warnings: list[str] = []
    with profile_named(profile, given, settings):
        lines = vg.outline(routine, settings=settings, warnings=warnings)
    warn(warnings)  # on stderr, as build says them (with --json too)
    if as_json:
        level = settings.level or vg.load_routine(routine).spec.level  # as the text says
        emit_json({"routine": routine, "minutes": settings.minutes, "level": level,
                   "engine": settings.engine, "outline": lines, "warnings": warnings})
        return
    for line in lines:
        out.print(line)


@app.command()
def script(
    routine: RoutineArgument,
    name: NameOption = None,
    level: LevelOption = None,
    minutes: MinutesOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    optional: OptionalOption = None,
    bed: BedOption = None,
    engine: EngineOption = None,
    profile: ProfileOption = None,
) -> None:
    """Print what will play: every sentence, pause, hold, breath and move, timed as built
    (fitted with --minutes; the profile's settings apply, as they do to build), to
    proof-read without audio.

    Example: voiceguide script five-somatic-hip-exercises --minutes 12 --name Ana
    """
    given = {"name": name, "level": level, "minutes": minutes, "voice": voice, "rate": rate,
             "optional": optional, "bed": bed, "engine": engine}  # with none: long silences
    settings = track_settings(profile, given)
    warnings: list[str] = []
    with profile_named(profile, given, settings):
        lines = vg.script_text(routine, settings, warnings=warnings)
    warn(warnings)  # on stderr, as build says them
    for line in lines:
        out.print(line)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="Routine, exercise, pack, profile or lexicon files to check.")],
    engine: EngineOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
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
    planned at each level and their designed lengths with the speech engine (with
    --voice and --rate, a listener's: a pack's tracks take them over their own).

    Example: voiceguide validate routines/*.yaml routines/exercises/*.yaml --rate 120
    """
    state["quiet"] = quiet or as_json
    # told as build tells them ('--rate must be ...', exit 2), before any file is read
    vg.TrackSettings.from_options({"voice": voice, "rate": rate}, as_settings=False)
    bad = 0
    results: list[dict[str, Any]] = []
    said: dict[str, Path] = {}  # an exercise's problems (file:line:col: ...), by file,
    # said again of each routine using it
    for path in files:
        try:
            checked = vg.check_file(path, engine, measure=not quick, kind=kind,
                                    voice=voice, rate=rate)
        except vg.VoiceguideError as exc:
            if isinstance(exc, vg.VoiceNotFoundError) and voice is not None:
                raise  # --voice's, not the file's: said as build says it (exit 7)
            bad += 1
            problems = (exc.problems if isinstance(exc, vg.InvalidInputError) else []) \
                or str(exc).splitlines()
            guessed: str | None = kind
            if guessed is None and as_json:  # said only there (a file read again)
                with contextlib.suppress(vg.VoiceguideError, OSError):
                    guessed = vg.file_kind(path)  # None only where it cannot be read
            results.append({"path": str(path), "kind": guessed, "ok": False,
                            "errors": problems, "warnings": exc.warnings})
            if not as_json:
                for p in (p for p in problems if p not in said):
                    err.print(f"Error: {p}")
                if again := [p.split(": ")[0] for p in problems if said.get(p, path) != path]:
                    err.print(f"Error: {vg.one_line(str(path))}: fails with the "
                              f"problem{'s' * (len(again) > 1)} "
                              f"said above ({', '.join(dict.fromkeys(again))})")
                said |= {p: Path(at[1]) for p in problems
                         if (at := re.match(r"(.+?):\d+:\d+: ", p)) and p not in said}
                warn(exc.warnings)
            continue
        results.append({"path": str(path), "kind": checked.kind, "ok": True, "errors": [],
                        "warnings": checked.warnings})
        if not as_json:
            # (a file's name from a folder someone sent: one line, as its problems are)
            say(f"ok: {vg.one_line(str(path))} ({checked.kind}"
                + (f", {len(checked.warnings)} warning{'s' if len(checked.warnings) > 1 else ''})"
                   if checked.warnings else ")"))
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
    out.print(f"Removed {n} cached phrase{'s' * (n != 1)}")
