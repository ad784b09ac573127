"""The shared parts of the command line: the typer app, the consoles, progress bars and
the options several commands take (declared once)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

import typer

from voiceguide import __version__
from voiceguide.cli.quick import json_text
from voiceguide.cli.terminal import printable, safe_console, warn

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from voiceguide import TrackSettings

app = typer.Typer(
    name="voiceguide",
    help="Turn exercise routines into calm, exactly timed voice-guided audio tracks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode=None,
)
cache_app = typer.Typer(help="Inspect or clear the phrase cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")



class _LazyConsole:
    """A rich console made on first use (rich costs start-up time ``--help`` need not pay)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        """The console itself (what rich's progress bars enter as a context manager: a
        proxy's ``__getattr__`` is not asked for ``__enter__``)."""
        if self._console is None:
            # user text (routine lines, names, paths) is printed as written: no rich
            # markup, and no terminal escape sequences or control characters
            self._console = safe_console(stderr=self._stderr, highlight=False,
                                         soft_wrap=True, markup=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


out: Any = _LazyConsole(stderr=False)
err: Any = _LazyConsole(stderr=True)
state: dict[str, Any] = {"debug": False, "quiet": False, "warnings": [], "reading": False}
"""The run's switches, and ``warnings``: what the command line itself warned of (an
option given twice, --minutes 8.30) and the library logged, which a --json document lists
too; ``reading``: an option's value is being read only to compare it with another."""


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
    state["debug"] = debug


class _NoBars:
    """Progress bars that show nothing (no terminal, or ``--quiet``): rich never loads."""

    def __enter__(self) -> _NoBars:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        return None

    def remove_task(self, task: int) -> None:
        return None


def bars(label_width: int) -> Any:
    """Progress bars on stderr, shown only on a terminal (and not with ``--quiet``)."""
    if state["quiet"] or not sys.stderr.isatty():
        return _NoBars()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        TextColumn("{task.completed:>4.0f}/{task.total:<4.0f}"),
        TimeElapsedColumn(),
        console=err.real(),
        transient=not err.is_terminal,
        disable=not err.is_terminal or state["quiet"],
    )


@contextmanager
def track_progress() -> Iterator[Any]:
    labels = {"speech": "Speaking phrases", "loudness": "Measuring loudness", "encode": "Encoding"}
    with bars(20) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def complete_routine(incomplete: str) -> list[str]:
    """Shell completion of routine names."""
    import voiceguide as vg

    return [p.stem for p in vg.list_routines() if p.stem.startswith(incomplete)]


# options shared by several commands, declared once
EngineOption = Annotated[Optional[str], typer.Option(
    metavar="ENGINE", help="Speech engine: espeak, piper (the neural extra) or a plugin's.")]
ProfileOption = Annotated[Optional[Path], typer.Option(
    metavar="FILE", help="Profile file (default: the one 'voiceguide init' wrote, if any).")]
LevelOption = Annotated[Optional[Literal["beginner", "advanced"]], typer.Option(
    help="Which variations of the exercises (default: the routine's own level).")]


def _minutes(text: str) -> float:
    """``--minutes``: a number, or minutes and seconds (``3:30``) as lengths are shown."""
    import voiceguide as vg

    value = vg.minutes_of(text)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise typer.BadParameter("must be a number, such as 12, or minutes and "
                                     "seconds, such as 3:30") from None
        if (words := vg.seconds_as_decimal(text)) and not state["reading"]:  # 8.30 for 8:30
            said = f"--minutes {words}"
            state["warnings"].append(said)  # listed in --json too
            warn([said])
    return float(value)


MinutesOption = Annotated[Optional[float], typer.Option(
    metavar="MINUTES", parser=_minutes,
    help="Fit the track to this many minutes (or minutes and seconds: 3:30, 3m30s).")]
NameOption = Annotated[Optional[str], typer.Option(
    metavar="NAME", help="Listener's name, used in the narration.")]
RateOption = Annotated[Optional[int], typer.Option(
    metavar="WPM", help="Speaking rate in words per minute as heard (default 140).")]
VoiceOption = Annotated[Optional[str], typer.Option(
    metavar="VOICE", help="Voice id (see 'voices').")]
BedOption = Annotated[Optional[str], typer.Option(
    help="Background: none, rain, ocean, drone, or an audio file.")]
OptionalOption = Annotated[Optional[bool], typer.Option(
    "--optional/--no-optional", help="Include optional steps.")]
RoutineArgument = Annotated[str, typer.Argument(
    metavar="ROUTINE", autocompletion=complete_routine,
    help="Routine name (see 'list') or YAML file.")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document (fields in the README) instead of text.")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print only warnings and errors.")]


def track_settings(profile: Path | None, options: dict[str, Any]) -> TrackSettings:
    """A track's settings as ``build`` takes them: the command-line ``options`` (None:
    not given) over the profile (``--profile``, else the default one, if any)."""
    import voiceguide as vg

    return vg.TrackSettings.layered(vg.load_profile(profile),
                                    vg.TrackSettings.from_options(options, as_settings=False))


@contextmanager
def profile_named(profile: Path | None, options: dict[str, Any],
                  settings: TrackSettings) -> Iterator[None]:
    """A length or a bed file that cannot be used, taken from the profile (not given as
    an option): the error says it is the profile's, and which option chooses another."""
    import voiceguide as vg

    where = profile or vg.default_profile_path()
    try:
        yield
    except vg.ScheduleError as exc:
        if options.get("minutes") is None and settings.minutes is not None:
            raise vg.ScheduleError(f"{exc} (minutes: {settings.minutes:g} is set in the "
                                   f"profile {where}; give --minutes to choose another "
                                   "length)") from None
        raise
    except vg.AudioInputError as exc:
        if options.get("bed") is None and settings.bed is not None:
            raise vg.AudioInputError(f"{exc} (the bed is set in the profile {where}; give "
                                     "--bed to choose another)") from None
        raise


def say(text: str) -> None:
    """Print a line for people on stdout, unless ``--quiet`` (plain print: no rich needed;
    escape sequences removed, as from everything printed)."""
    if not state["quiet"]:
        print(printable(text))


def emit_json(doc: Any) -> None:
    """Print one JSON document on stdout, with a ``warnings`` list that holds the command
    line's own warnings and those the library logged as it ran first
    (``state["warnings"]``: said on stderr at once), then the command's, each once (a
    document without its own gets one: an app reads every command alike)."""
    if isinstance(doc, dict):
        own = doc.get("warnings")
        doc = {**doc, "warnings": _once([*state["warnings"],
                                         *(own if isinstance(own, list) else [])])}
    print(json_text(doc))


def _once(warnings: list[Any]) -> list[Any]:
    """``warnings`` with each text only at its first place (a pack says its warnings at
    once, as the library logs them, and lists them in its report)."""
    seen: set[str] = set()
    kept = []
    for w in warnings:
        if isinstance(w, str):
            if w in seen:
                continue
            seen.add(w)
        kept.append(w)
    return kept


METAVARS = {"out_dir": "DIR", "path": "PATH", "folder": "DIR", "pack_file": "PACK",
            "bed_volume": "DB", "loudness": "LUFS", "track_name": "TEMPLATE",
            "from_": "ROUTINE", "voice": "VOICE", "bed": "BED", "jobs": "N", "port": "PORT",
            "host": "HOST", "base_url": "URL", "lang": "TEXT", "kind": "KIND", "engine": "ENGINE"}
"""Names shown for option values in help (typer would show ``<str>``)."""


def tidy_help(command: Any, formats: list[str] | None = None) -> Any:
    """Plain metavars in help (``--out DIR``, not ``<path>``), and the format choices when
    ``formats`` is given (help only: listing them loads the plugins)."""
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub, formats)
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            shown = (param.metavar or param.name.upper()) + ("..." if param.nargs != 1 else "")
            param.display_type = lambda ctx: ""
            param._usage_display_name = (lambda s=shown, p=param: s if p.required
                                         else f"[{s}]")
            continue
        if getattr(param, "is_flag", False) or param.metavar is not None:
            continue
        choices = getattr(getattr(param, "type_descriptor", None), "is_choice", False)
        if param.name == "fmt" and formats:
            param.metavar = "<" + "|".join(formats) + ">"
        elif not choices:
            param.metavar = METAVARS.get(param.name, param.name.upper())
    return command
