"""Starting a routine: ``new``."""

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import QuietOption, app, complete_routine, say, state
from voiceguide.cli.terminal import warn


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
    pack: Annotated[bool, typer.Option(
        "--pack", help="Start a pack (tracks for clients, one folder each) instead.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Start a routine: a commented starter (arrival with safety, a breath, a held stretch
    on both sides, a slow return) listing the library's exercises, or a copy of one; with
    --pack, a pack for clients.

    Example: voiceguide new evening-stretch
    """
    state["quiet"] = quiet
    what = "pack" if pack else "routine"
    if not name.strip():  # it said "'.yaml' is not a routine name"
        raise vg.UsageError(f"a {what} name is needed, as in 'voiceguide new "
                            f"{'clients --pack' if pack else 'evening-stretch'}'")
    if Path(name).name != name or "\\" in name:  # `new ../x` wrote outside the folder
        raise vg.UsageError(f"'{name}' is a path, not a routine name; give the name alone "
                            "and the folder with --dir")
    if name.endswith((".yaml", ".yml")) and name.rsplit(".", 1)[0]:  # x.yaml: x.yaml.yaml
        name = name.rsplit(".", 1)[0]
    target = folder / f"{name}.yaml"  # a folder there: the library says so
    if target.exists() and not target.is_dir() and not force:  # the library's: force=True
        raise vg.UsageError(f"{target} already exists; use --force to replace it")

    if pack:
        if from_ is not None:
            raise vg.UsageError("--from copies a routine; a pack starts from the starter "
                                "(leave out --from or --pack)")
        path = vg.new_pack(target, force=force)
        said = shlex.quote(str(path))
        say(f"Wrote {path}; list your routines and clients in it. Check it with: "
            f"voiceguide validate {said}\nBuild it with: voiceguide pack {said}")
        return

    def by_name() -> Path | None:
        found = [p for p in vg.list_routines() if p.stem == name]
        return found[0].resolve() if found else None

    before = by_name()
    path = vg.new_routine(target, from_, force=force)
    said = shlex.quote(str(path))
    say(f"Wrote {path}; edit it. Check it with: voiceguide validate {said}\n"
        f"Build it with: voiceguide build {said}")
    after = by_name()
    if before is not None and before != path.resolve():
        # a routine folder is searched before the shipped library: a name can hide one
        warn([f"the routine name '{name}' now means {path}, not {before}; pick another "
              "name to keep both"] if after == path.resolve() else
             [f"'voiceguide build {name}' builds {before}, not this file; build it by its "
              "path, or pick another name"])
