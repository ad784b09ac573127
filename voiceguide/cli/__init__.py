"""The ``voiceguide`` command line: a thin typer layer over the public API.

This is the only package that prints or exits. Library errors become one line,
``Error: <message>``, on stderr and the exit code of their class (see
:class:`voiceguide.errors.ExitCode`); ``--debug`` shows the traceback instead. The
commands live in :mod:`voiceguide.cli.run`; an up-to-date ``build`` or ``pack`` is
answered by :mod:`voiceguide.cli.quick` before typer loads.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes."""
    from voiceguide.cli.quick import answer, answer_pack

    args = sys.argv[1:] if argv is None else argv
    if answer(args) or answer_pack(args):
        sys.exit(0)
    from voiceguide.cli.run import run

    run(args)

