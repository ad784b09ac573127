"""The shared parts of the command line: the typer app, the consoles, progress bars and
the options several commands take (declared once)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from voiceguide import __version__
from voiceguide.cli.terminal import SafeConsole

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

# user text (routine lines, names, paths) is printed as written: no rich markup, and no
# terminal escape sequences or control characters (SafeConsole strips them)
out: Console = SafeConsole(highlight=False, soft_wrap=True, markup=False)
err: Console = SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)
state: dict[str, Any] = {"debug": False}


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


def mmss(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def bars(label_width: int) -> Progress:
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
def track_progress() -> Iterator[Any]:
    labels = {"speech": "Speaking phrases", "loudness": "Measuring loudness", "encode": "Encoding"}
    with bars(20) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


# options shared by several commands, declared once
EngineOption = Annotated[Optional[str], typer.Option(help="Speech engine: espeak (or test).")]
ProfileOption = Annotated[Optional[Path], typer.Option(
    help="Profile file (default: the one 'voiceguide init' wrote, if any).")]
LevelOption = Annotated[Optional[str], typer.Option(help="beginner or advanced.")]
MinutesOption = Annotated[Optional[float], typer.Option(help="Fit the track to this many minutes.")]
NameOption = Annotated[Optional[str], typer.Option(help="Listener's name, used in the narration.")]
RateOption = Annotated[Optional[int], typer.Option(
    help="Speaking rate in words per minute as heard (default 140).")]


def warn(lines: list[str]) -> None:
    """Print ``Warning:`` lines on stderr."""
    for line in lines:
        err.print(f"Warning: {line}")
