"""Where routines are found: the folders searched for routine names, and their exercise
libraries (``exercises/`` in each routine folder)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import InvalidInputError, UsageError, suggest
from voiceguide.io.bounded import missing
from voiceguide.io.paths import path_arg, unnameable
from voiceguide.routine.folders import routine_dirs

if TYPE_CHECKING:  # the models load on first use: finding routines stays light
    from voiceguide.routine.load import Routine

def library_dirs() -> list[Path]:
    """Exercise library folders (``exercises/`` in each routine folder)."""
    return [d / "exercises" for d in routine_dirs() if (d / "exercises").is_dir()]


def _is(path: Path, test: Callable[[Path], bool]) -> bool:
    """``test(path)``, False where the name cannot be a file's (too long, say)."""
    try:
        return test(path)
    except OSError:
        return False



def find_routine(ref: str, *, files: bool = True) -> Path:
    """A routine file from a path or a routine name found in the routine folders (with
    ``files`` False, a name only: a pack's ``routine: notes`` is not the file ``notes``
    in the current folder)."""
    if "\n" in ref or len(ref) > 1024:  # not a name: the routine itself, most likely
        raise InvalidInputError(f"'{ref[:40].splitlines()[0]}...' is not a routine name or "
                                "file; for a routine's YAML text use Routine.from_yaml(text)")
    if (why := unnameable(ref)) is not None:
        raise InvalidInputError(f"routine '{ref[:40]}...': {why}")
    path = Path(ref)
    exists = files and _is(path, Path.exists)
    if files and (path.suffix in (".yaml", ".yml") or os.sep in ref or exists):
        if not exists:
            raise InvalidInputError(missing(path, "routine"))
        return path
    names: list[str] = []
    for d in routine_dirs():
        for ext in (".yaml", ".yml"):
            candidate = d / f"{ref}{ext}"
            if _is(candidate, Path.is_file):
                return candidate
        names.extend(p.stem for p in d.glob("*.yaml"))
    hint = suggest(ref, names)
    here = [f"{ref}{ext}" for ext in (".yaml", ".yml")
            if files and _is(Path(f"{ref}{ext}"), Path.is_file)]  # (a pack's: not here)
    if here:  # as 'voiceguide new' writes it: a name looks in the routine folders only
        hint = f" in the routine folders; for the file here, give its name: '{here[0]}'"
    exercise = next((d / f"{ref}.yaml" for d in library_dirs()
                     if _is(d / f"{ref}.yaml", Path.is_file)), None)
    if exercise is not None:  # a coach looking at an exercise's timing and parameters
        raise InvalidInputError(
            f"'{ref}' is an exercise, not a routine ({exercise}): use it in a routine as "
            f"'- exercise: {ref}' (its file lists its params:, and the min and max of each "
            f"number); 'voiceguide validate {exercise}' checks it")
    raise InvalidInputError(
        f"no routine named '{ref}'{hint}; 'voiceguide list' shows the routines (found in "
        "./routines under the current folder, $VOICEGUIDE_ROUTINES and the library)")


def list_routines() -> list[Path]:
    """Every routine file in the routine folders (first folder wins on a name clash)."""
    seen: dict[str, Path] = {}
    for d in routine_dirs():
        for p in sorted(d.glob("*.yaml")):
            seen.setdefault(p.stem, p)
    return [seen[k] for k in sorted(seen)]


def load_routine(source: str | Path | Mapping[str, Any] | Routine) -> Routine:
    """A routine, validated, with the library's exercises: ``source`` is a routine name
    (see ``list_routines``), a YAML file, the routine as a dict (no file needed), or a
    routine already loaded (returned as it is)."""
    from voiceguide.routine.load import Routine

    if isinstance(source, Routine):
        return source
    if isinstance(source, Mapping):
        return Routine.from_dict(source, library_dirs())
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidInputError(f"a routine is a name, a file, a dict or a Routine, not "
                                f"{type(source).__name__}")
    try:
        name = str(path_arg(source, "routine", "routine file")) if isinstance(
            source, os.PathLike) else source
    except UsageError as exc:
        raise InvalidInputError(str(exc)) from None
    return Routine.from_file(find_routine(name), library_dirs())
