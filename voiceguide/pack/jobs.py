"""One track of a pack, fully decided, and how a worker builds it.

Runners (local processes, a cluster) call :func:`build_job` wherever they run; it
returns the track's manifest entry and its cue sheet, so the pack is published from
what was built, without reading it back. The audio stack is imported only when a track
is built, so a pack run with nothing to do stays quick.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import file_fields
from voiceguide.io.bounded import file_digest
from voiceguide.pack.dest import Destination, LocalDest

if TYPE_CHECKING:
    from voiceguide.results import BuildResult
    from voiceguide.settings import TrackSettings
    from voiceguide.speech.bank import Phrases
    from voiceguide.speech.cache import PhraseCache
    from voiceguide.speech.engine import SpeechEngine

__all__ = ["Outcome", "Progress", "TrackJob", "build_job", "entry_of", "file_digest"]


@dataclass
class TrackJob:
    """One track of a pack, fully decided."""

    n: int
    """Its number in the pack (1-based): the track tag and feed episode."""
    routine_path: Path
    settings: TrackSettings
    stem: str
    """Output file name without suffix."""
    dest: Destination
    """Where the track and its sidecars go."""
    album: str
    """The pack's title (album tag)."""
    artist: str = ""
    """The pack's author (artist tag, as in the feed)."""
    input_hash: str = ""
    """Everything that decides the track's bytes, hashed (see ``identity.input_hash``)."""
    minutes: float = 0.0
    """Expected length (for scheduling the longest tracks first)."""
    language: str = "en"
    """The routine's language (without a voice setting, a voice of it speaks)."""
    group: str = ""
    """The folder of its listener in a grouped pack (``group_by``), else empty."""
    track_number: int = 0
    """Its number among its listener's tracks (the track tag); 0: ``n``."""
    origin: str = ""
    """Where the pack file writes it (``pack.yaml:10:5``: its track, or the matrix)."""
    title: str = ""
    """Its title where the routine's (with the name) would not tell it from another track
    of its listener (``Hip reset for Sam · 12 min``); empty: that title."""

    @property
    def where(self) -> str:
        """How an error names it: ``pack.yaml:10:5: track 2 (01-reach-Ben)``."""
        own = f"track {self.n} ({self.stem})"
        return f"{self.origin}: {own}" if self.origin else own


def where_all(jobs: Sequence[TrackJob]) -> str:
    """How a warning names the tracks it holds for: the first as an error does, then how
    many more (``pack.yaml:10:5: track 2 (01-reach-Ben) and 2 more (02-reach-Ana,
    03-reach-Sam)``)."""
    first, *others = jobs
    if not others:
        return first.where
    return (f"{first.where} and {len(others)} more ("
            + ", ".join(o.stem for o in others[:3]) + ", ..." * (len(others) > 3) + ")")


@dataclass
class Outcome:
    """What building a job gave: its manifest entry and cue sheet, and phrase counts."""

    entry: dict[str, Any]
    sheet: dict[str, Any]
    synthesized: int
    cache_hits: int


Progress = Callable[[str, int, int], None]


def build_job(job: TrackJob, engine: SpeechEngine | None, cache: PhraseCache | bool,
              progress: Progress | None = None, phrases: Phrases | None = None) -> Outcome:
    """Build one job with a running engine (or with ``phrases`` made elsewhere) and put
    its files at the job's destination."""
    from voiceguide.build import build_track
    from voiceguide.export.sidecars import pack_owns_tracks
    from voiceguide.mix.voice import keep_peaks
    from voiceguide.routine.catalogue import library_dirs
    from voiceguide.routine.load import Routine

    routine = Routine.from_file(job.routine_path, library_dirs())
    keep_peaks()  # the next tracks of this process have mostly the same phrases

    def build(folder: Path) -> BuildResult:
        # the pack's settings rebuild its tracks; its errors name the pack file's fields
        with pack_owns_tracks(), file_fields():
            return build_track(routine, job.settings, folder, stem=job.stem,
                               album=job.album, track_number=job.track_number or job.n,
                               artist=job.artist or None, engine=engine, cache=cache,
                               progress=progress, phrases=phrases, title=job.title or None)

    if isinstance(job.dest, LocalDest):
        # the build makes the folder, and takes it away again when the track fails (a
        # failed pack left an empty folder for the listener: a new user's review)
        result = build(job.dest.path)
        entry = entry_of(job, result)
    else:
        with tempfile.TemporaryDirectory(prefix="voiceguide-track-") as tmp:
            result = build(Path(tmp))
            entry = entry_of(job, result)
            job.dest.put([*result.sidecars, result.path])  # the track last
    return Outcome(entry, result.sheet, result.stats.synthesized, result.stats.cache_hits)


def entry_of(job: TrackJob, result: BuildResult) -> dict[str, Any]:
    """The manifest entry of a built track (its files still where the build wrote them)."""
    path = result.path
    s = job.settings
    recorded = result.sheet.get("sidecar_sha256") or {}
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
        # what the build's cue sheet records already is not read again
        "sha256": result.sheet.get("sha256") or file_digest(path),
        "sidecars": [p.name for p in result.sidecars],
        "sidecar_sha256": [recorded.get(p.name) or file_digest(p) for p in result.sidecars],
        "description": result.plan.routine.spec.description.strip(),
        "input_hash": job.input_hash,
    } | ({"group": job.group} if job.group else {})
