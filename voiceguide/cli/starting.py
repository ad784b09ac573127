"""Starting a routine: ``new``."""

from pathlib import Path
from typing import Annotated, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import QuietOption, app, complete_routine, say, state


@app.command()
def new(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="The new routine's name (its file is NAME.yaml).")],
    from_: Annotated[Optional[str], typer.Option(
        "--from", metavar="ROUTINE", autocompletion=complete_routine,
        help="Copy this routine (name or file) instead of the starter.")] = None,
    folder: Annotated[Path, typer.Option(
        "--dir", metavar="DIR", help="Folder to write it in.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Start a routine: a commented starter (arrival with safety, a breath, a held stretch
    on both sides, a slow return) listing the library's exercises, or a copy of one.

    Example: voiceguide new evening-stretch
    """
    state["quiet"] = quiet
    if Path(name).name != name or "\\" in name:  # `new ../x` wrote outside the folder
        raise vg.UsageError(f"'{name}' is a path, not a routine name; give the name alone "
                            "and the folder with --dir")
    path = vg.new_routine(folder / f"{name}.yaml", from_, force=force)
    say(f"Wrote {path}; edit it, check it with 'voiceguide validate {path}', "
        f"build it with 'voiceguide build {path}'")
