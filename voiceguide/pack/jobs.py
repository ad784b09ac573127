"""One track of a pack, fully decided, and how a worker builds it.

Runners (local processes, a cluster) call :func:`build_job` wherever they run; it
returns the track's manifest entry and its cue sheet, so the pack is published from
what was built, without reading it back from disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.build import BuildResult, build_track
from voiceguide.routine.catalogue import library_dirs
from voiceguide.routine.load import Routine
from voiceguide.settings import TrackSettings
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import SpeechEngine


@dataclass
class TrackJob:
    """One track of a pack, fully decided."""

    n: int
    """Its number in the pack (1-based): the track tag and feed episode."""
    routine_path: Path
    settings: TrackSettings
    stem: str
    """Output file name without suffix."""
    out_dir: Path
    album: str
    """The pack's title (album tag)."""
    artist: str = ""
    """The pack's author (artist tag, as in the feed)."""
    input_hash: str = ""
    """Everything that decides the track's bytes, hashed (see ``plan.input_hash``)."""


@dataclass
class Outcome:
    """What building a job gave: its manifest entry and cue sheet, and phrase counts."""

    entry: dict[str, Any]
    sheet: dict[str, Any]
    synthesized: int
    cache_hits: int


Progress = Callable[[str, int, int], None]


def build_job(job: TrackJob, engine: SpeechEngine, cache: PhraseCache | bool,
              progress: Progress | None = None) -> Outcome:
    """Build one job with a running engine."""
    routine = Routine.from_file(job.routine_path, library_dirs())
    result = build_track(routine, job.settings, job.out_dir, stem=job.stem, album=job.album,
                         track_number=job.n, artist=job.artist or None,
                         engine=engine, cache=cache, progress=progress)
    return Outcome(entry_of(job, result), result.sheet, result.stats.synthesized,
                   result.stats.cache_hits)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_of(job: TrackJob, result: BuildResult) -> dict[str, Any]:
    """The manifest entry of a built track."""
    path = result.path
    s = job.settings
    stem = job.stem
    return {
        "file": path.name,
        "title": result.sheet["title"],
        "routine": result.sheet["routine"],
        "name": s.name,
        "minutes": s.minutes,
        "bed": Path(s.bed).name if s.bed else None,
        "voice": result.sheet["voice"],
        "rate": s.rate,
        "level": s.level,
        "duration": result.sheet["duration"],
        "bytes": result.size,
        "sha256": file_digest(path),
        "sidecars": [stem + ".cues.json", stem + ".vtt", stem + ".lrc"],
        "description": result.plan.routine.spec.description.strip(),
        "input_hash": job.input_hash,
    }
