"""Printing user text safely: routine titles, lines, names and paths may carry terminal
escape sequences (clear the screen, set the window title, hyperlinks, hide text), so
everything the CLI prints passes through :func:`printable` first."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads when something is printed (start-up stays quick)
    from rich.console import Console

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, clear screen, colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks, clipboard
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b.?"  # any other escape
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # other C0 and C1 controls (newline and tab stay)
    # direction overrides, isolates and marks: text that reads in another order than it
    # is (a title that turns the rest of a line around)
    r"|[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)


def printable(text: str) -> str:
    """``text`` without ESC sequences and control characters (newlines and tabs kept)."""
    return _ESCAPES.sub("", text)


def warning_line(text: str) -> str:
    """``Warning: text`` as one printable line: a file's value it quotes cannot start a
    line of its own (an attack forged ``ok:`` and ``Error:`` lines)."""
    import voiceguide as vg

    return printable(f"Warning: {vg.one_line(text)}")


def warn(lines: Iterable[str]) -> None:
    """Print ``Warning:`` lines on stderr (escape sequences removed: they quote files),
    with --quiet and --json too (plain print: the quick answers load no rich)."""
    for line in lines:
        print(warning_line(line), file=sys.stderr)


def safe_console(**options: Any) -> Console:
    """A rich console that strips escape sequences and control characters from every
    string it renders (printed text and table cells alike)."""
    from rich.console import Console
    from rich.text import Text

    class SafeConsole(Console):
        def render_str(self, text: str, *args: Any, **kwargs: Any) -> Text:
            return super().render_str(printable(text), *args, **kwargs)

    return SafeConsole(**options)


class WarningHandler(logging.Handler):
    """Shows the library's log warnings (e.g. a build waiting on a phrase lock, or
    replacing another listener's track) as ``Warning:`` lines on ``console`` and hands
    each to ``keep`` (for the ``--json`` document's ``warnings``)."""

    def __init__(self, console: Any, keep: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.console = console
        self.keep = keep

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.keep(message)
        self.console.print(warning_line(message), markup=False)
