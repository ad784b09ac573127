"""The ``voiceguide`` command line: a thin typer layer over the library.

This is the only module that prints or exits. Library errors become one line,
``Error: <message>``, on stderr and the exit code of their class (see
:class:`voiceguide.errors.ExitCode`); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

import voiceguide as vg
from voiceguide import __version__

app = typer.Typer(
    name="voiceguide",
    help="Turn exercise routines into calm, exactly timed voice-guided audio tracks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
cache_app = typer.Typer(help="Inspect or clear the phrase cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        out.print(f"voiceguide {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Turn exercise routines into calm, exactly timed voice-guided audio tracks."""
    _state["debug"] = debug


def _mmss(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _bars(label_width: int) -> Progress:
    """Progress bars on stderr, shown only on a terminal."""
    return Progress(
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        TextColumn("{task.completed:>4.0f}/{task.total:<4.0f}"),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
        disable=not err.is_terminal,
    )


@contextmanager
def _progress() -> Iterator[Any]:
    labels = {"speech": "Speaking phrases", "loudness": "Measuring loudness", "encode": "Encoding"}
    with _bars(20) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


Level = Literal["beginner", "advanced"]


@app.command()
def build(
    routine: Annotated[str, typer.Argument(help="Routine name (see 'list') or YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
    name: Annotated[
        Optional[str], typer.Option(help="Listener's name, used in the narration.")
    ] = None,
    voice: Annotated[Optional[str], typer.Option(help="Voice id (see 'voices').")] = None,
    rate: Annotated[
        Optional[int], typer.Option(help="Speaking rate in words per minute (default 150).")
    ] = None,
    minutes: Annotated[
        Optional[float], typer.Option(help="Fit the track to this many minutes.")
    ] = None,
    level: Annotated[
        Optional[str], typer.Option(help="beginner or advanced.")
    ] = None,
    optional: Annotated[
        Optional[bool], typer.Option("--optional/--no-optional", help="Include optional steps.")
    ] = None,
    bed: Annotated[
        Optional[str],
        typer.Option(help="Background: none, rain, ocean, drone, or an audio file."),
    ] = None,
    bed_volume: Annotated[
        Optional[float],
        typer.Option(help="Bed level in dB relative to the loudness target (default -14)."),
    ] = None,
    loudness: Annotated[
        Optional[str], typer.Option(help="Loudness target in LUFS (default -16), or 'off'.")
    ] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="mp3 or wav.")] = None,
    track_name: Annotated[
        Optional[str], typer.Option(help="Output file name (without extension).")
    ] = None,
    plot: Annotated[bool, typer.Option(help="Also write a PNG picture of the timeline.")] = False,
    profile: Annotated[
        Optional[Path],
        typer.Option(help="Profile file (default: the one 'voiceguide init' wrote, if any)."),
    ] = None,
    engine: Annotated[
        Optional[str], typer.Option(help="Speech engine: espeak (or test).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the phrase cache.")
    ] = False,
) -> None:
    """Build one voice-guided track (and its cue sheets) from a routine.

    Example: voiceguide build five-somatic-hip-exercises --name Ana --minutes 12 --bed rain
    """
    options = vg.TrackSettings.from_options({
        "name": name, "voice": voice, "rate": rate, "minutes": minutes, "level": level,
        "optional": optional, "bed": bed, "bed_volume": bed_volume, "loudness": loudness,
        "format": fmt, "engine": engine,
    })
    settings = vg.TrackSettings.layered(vg.load_profile(profile), options)
    routine_ = vg.load_routine(routine)
    with _progress() as update:
        result = vg.build_track(routine_, settings, out_dir, stem=track_name, plot=plot,
                                cache=not no_cache, progress=update)
    s = result.stats
    out.print(
        f"Wrote {result.path} ({_mmss(result.duration)}, {_size(result.size)}); "
        f"phrases: {s.synthesized} synthesised, {s.cache_hits} from cache"
        + (f"; plot: {result.plot}" if result.plot else "")
    )


@app.command()
def init(
    path: Annotated[
        Optional[Path], typer.Argument(help="Where to write it (default: your config folder).")
    ] = None,
    name: Annotated[str, typer.Option(help="Your name, for the narration.")] = "",
    force: Annotated[bool, typer.Option(help="Replace an existing profile.")] = False,
) -> None:
    """Write a commented personal profile (name, voice, rate, bed...) used by build and pack.

    Example: voiceguide init --name Ana
    """
    written = vg.write_profile_template(path or vg.default_profile_path(), name, force)
    out.print(f"Wrote {written}; edit it, then 'voiceguide build <routine>' uses it")


@app.command()
def pack(
    pack_file: Annotated[Path, typer.Argument(help="Pack file (YAML).")],
    out_dir: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Pack folder (default output/<pack>).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Tracks built at once.")] = 1,
    profile: Annotated[Optional[Path], typer.Option(help="Profile file.")] = None,
    base_url: Annotated[
        Optional[str], typer.Option(help="URL the folder will be hosted at (for feed.xml).")
    ] = None,
    make_zip: Annotated[bool, typer.Option("--zip", help="Also zip the pack folder.")] = False,
    engine: Annotated[
        Optional[str], typer.Option(help="Speech engine: espeak (or test).")
    ] = None,
) -> None:
    """Build a pack of tracks in parallel, with playlist, podcast feed and web player.

    Example: voiceguide pack routines/packs/week-of-hips.yaml --jobs 2 --zip
    """
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise vg.UsageError(f"--base-url must start with http:// or https:// (got {base_url})")
    options = vg.TrackSettings.from_options({"engine": engine})
    plan = vg.load_pack(pack_file, out_dir, profile, options)
    with _pack_progress(len(plan.jobs)) as sink:
        result = vg.build_pack(plan, jobs, sink, base_url, make_zip)
    out.print(
        f"Pack {result.out_dir}: {len(result.built)} built, {len(result.skipped)} unchanged"
        + (f", {len(result.removed)} removed" if result.removed else "")
        + f"; phrases: {result.synthesized} synthesised, {result.cache_hits} from cache"
        + (f"; zip: {result.zip}" if result.zip else "")
    )
    out.print(f"Open {result.out_dir / 'index.html'} or run 'voiceguide serve {result.out_dir}'")


@contextmanager
def _pack_progress(total: int) -> Iterator[Any]:
    labels = {"speech": "speaking", "loudness": "loudness", "encode": "encoding"}
    with _bars(44) as bar:
        overall = bar.add_task("Pack", total=total)
        rows: dict[str, TaskID] = {}

        def sink(stem: str, stage: str, done: int, count: int) -> None:
            if stage == "pack":
                bar.update(overall, completed=done, total=count)
                return
            if stage == "done":
                if stem in rows:
                    bar.remove_task(rows.pop(stem))
                return
            label = f"  {stem[:30]:<30} {labels.get(stage, stage)}"
            if stem not in rows:
                rows[stem] = bar.add_task(label, total=count)
            bar.update(rows[stem], description=label, completed=done, total=count)

        yield sink


@app.command()
def serve(
    folder: Annotated[Path, typer.Argument(help="Pack folder to serve.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Print a QR code of the URL.")] = True,
) -> None:
    """Serve a pack folder over HTTP (with range requests) to open on a phone.

    Example: voiceguide serve output/week-of-hips --port 8000
    """
    server = vg.make_server(folder, host, port)
    found = vg.urls(server)
    out.print(f"Serving {folder} at {found[0]}  (Ctrl-C stops)", markup=False)
    for extra in found[1:]:
        out.print(f"  also {extra}", markup=False)
    if qr:
        out.print(vg.qr_text(found[0]), markup=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("Stopped.")
    finally:
        server.server_close()


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
    minutes: Annotated[
        Optional[float], typer.Option(help="Fit to this many minutes.")
    ] = None,
    level: Annotated[Optional[str], typer.Option(help="beginner or advanced.")] = None,
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
    name: Annotated[str, typer.Option(help="Listener's name.")] = "",
    level: Annotated[Optional[str], typer.Option(help="beginner or advanced.")] = None,
) -> None:
    """Print the narration with its pauses, to proof-read without audio.

    Example: voiceguide script morning-hips --name Ana
    """
    for line in vg.script_text(routine, name, level):
        out.print(line)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Routine files to check.")],
) -> None:
    """Check routine files and report every problem as file:line:col: field: message.

    Example: voiceguide validate routines/*.yaml
    """
    bad = 0
    for path in files:
        try:
            vg.validate_file(path)
            out.print(f"ok: {path}")
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
    out.print(f"{info.path}: {info.entries} phrases, {_size(info.bytes)}")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached phrase.

    Example: voiceguide cache clear
    """
    n = vg.PhraseCache().clear()
    out.print(f"Removed {n} cached phrases")


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes."""
    signal.signal(signal.SIGTERM, _on_term)
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = command.main(args=args, prog_name="voiceguide", standalone_mode=False)
    except vg.VoiceguideError as exc:
        if debug:
            traceback.print_exc()
        lines = exc.problems if isinstance(exc, vg.InvalidInputError) else str(exc).splitlines()
        for line in lines or [str(exc)]:
            err.print(f"Error: {line}", markup=False)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, typer.Abort):
        code = int(vg.ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # usage errors from the option parser
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"Error: {exc.format_message()}", markup=False)
        sys.exit(int(vg.ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code)
    except Exception as exc:  # a bug: say so in one line unless debugging
        if debug:
            traceback.print_exc()
        err.print(f"Error: internal error ({type(exc).__name__}: {exc}); rerun with --debug "
                  "and report it", markup=False)
        sys.exit(int(vg.ExitCode.ERROR))
    if code == vg.ExitCode.INTERRUPTED:
        err.print("Error: interrupted; no partial files were left", markup=False)
    sys.exit(int(code) if isinstance(code, int) else 0)

