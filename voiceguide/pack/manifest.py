"""``pack.json``: what a pack run built, so the next run skips unchanged tracks.

Each track's entry records its input hash (settings, routine and exercise files, bed
file, tool and engine versions) and the SHA-256 of its file; a track whose inputs and
file are unchanged is not built again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import InvalidInputError
from voiceguide.io.atomic import write_text
from voiceguide.io.bounded import read_bounded
from voiceguide.io.paths import safe_stem
from voiceguide.limits import MAX_MANIFEST_BYTES
from voiceguide.pack.jobs import TrackJob, file_digest
from voiceguide.pack.plan import PackPlan, backend_packages
from voiceguide.plugins import package_version
from voiceguide.version import __version__

MANIFEST: Final = "pack.json"
MANIFEST_VERSION: Final = 1
SIDECAR_SUFFIXES: Final = (".cues.json", ".vtt", ".lrc", ".chapters.json")
"""Files that belong to a track besides the track itself."""


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of a previous run, or an empty one (unreadable counts as empty)."""
    try:
        data = json.loads(read_bounded(out_dir / MANIFEST, "manifest", MAX_MANIFEST_BYTES))
        if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION:
            return data
    except (OSError, ValueError, InvalidInputError):
        pass
    return {"tracks": []}


def up_to_date(job: TrackJob, old: dict[str, Any] | None, out_dir: Path) -> bool:
    """Whether ``old`` (a previous entry) describes this job and its files are intact."""
    if old is None or old.get("input_hash") != job.input_hash:
        return False
    f = out_dir / str(old.get("file", ""))
    try:
        if f.stat().st_size != old.get("bytes"):
            return False
        if any(not (out_dir / s).is_file() for s in old.get("sidecars", [])):
            return False
        return file_digest(f) == old.get("sha256")
    except OSError:
        return False


def manifest(plan: PackPlan, entries: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The manifest document."""
    packages: dict[str, str] = {}
    for job in plan.jobs:
        for p in backend_packages(job.settings):
            packages.setdefault(p, package_version(p))
    return {
        "format": "voiceguide-pack",
        "version": MANIFEST_VERSION,
        "title": plan.model.title,
        "author": plan.model.author,
        "description": plan.model.description.strip(),
        "generator": f"voiceguide {__version__}",
        "tools": {
            "voiceguide": __version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            **packages,
        },
        "tracks": [{"n": n, **entries[n]} for n in sorted(entries)],
    }


def write_manifest(plan: PackPlan, entries: dict[int, dict[str, Any]]) -> None:
    """Write ``pack.json`` atomically."""
    text = json.dumps(manifest(plan, entries), indent=1, ensure_ascii=False) + "\n"
    write_text(plan.out_dir / MANIFEST, text)


def remove_stale(out_dir: Path, old_files: set[str], keep: set[str]) -> list[str]:
    """Delete tracks (and their sidecars) a previous run listed that this run does not
    keep; returns their names."""
    removed: list[str] = []
    for name in sorted(old_files - keep):
        stale = out_dir / name
        if safe_stem(Path(name).stem) == Path(name).stem and stale.is_file():
            stem = stale.stem
            for p in (stale, *(out_dir / f"{stem}{s}" for s in SIDECAR_SUFFIXES)):
                p.unlink(missing_ok=True)
            removed.append(name)
    return removed
