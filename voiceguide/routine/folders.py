"""The routine folders: where routine names are looked up, and where the files a routine
or pack names may also lie (a coach's shared ``routines/beds/``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ROUTINES_ENV: Final = "VOICEGUIDE_ROUTINES"
"""Environment variable naming an extra folder of routines."""


def routine_dirs() -> list[Path]:
    """Folders searched for routine names, in order."""
    dirs: list[Path] = []
    env = os.environ.get(ROUTINES_ENV)
    if env:
        dirs.append(Path(env))
    dirs.append(Path("routines"))
    here = Path(__file__).resolve().parent.parent
    dirs.append(here / "_routines")  # installed wheel
    dirs.append(here.parent / "routines")  # source tree / editable install
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(not _same(d, o) for o in out):
            out.append(d)
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
