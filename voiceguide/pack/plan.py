"""Planning a pack: load the pack file, expand its matrix and track list into jobs with
their settings layered (profile < pack defaults < track < command line), safe unique
file names, and an input hash per track. No audio yet."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import InvalidInputError, suggest
from voiceguide.export.formats import get_format
from voiceguide.io.bounded import read_bounded
from voiceguide.io.models import validate_document
from voiceguide.io.paths import render_name, safe_stem
from voiceguide.io.yamldoc import Document, load_yaml
from voiceguide.limits import MAX_FILE_BYTES
from voiceguide.mix.names import BEDS
from voiceguide.pack.dest import Destination, destination
from voiceguide.pack.jobs import TrackJob, file_digest
from voiceguide.pack.model import MAX_TRACKS, Pack, PackTrack
from voiceguide.plugins import package_version
from voiceguide.profile import default_lexicon_path, load_profile
from voiceguide.routine.catalogue import find_routine, library_dirs
from voiceguide.routine.load import Routine, iter_steps
from voiceguide.routine.steps import ExerciseRef
from voiceguide.settings import (
    DEFAULT_BED_DB,
    TrackSettings,
    looks_like_file,
    relative_to,
)
from voiceguide.speech.engine import engines, voice_identity
from voiceguide.version import __version__


@dataclass
class PackPlan:
    """A loaded pack, expanded to jobs."""

    path: Path
    model: Pack
    dest: Destination
    """Where the pack goes (a folder or an fsspec URL)."""
    jobs: list[TrackJob]

    @property
    def out_dir(self) -> Path | str:
        """The pack folder (a path), or the URL of a remote destination."""
        return self.dest.local or str(self.dest)


def _fmt_number(x: float | None) -> str:
    return "" if x is None else (f"{x:g}")


def track_count(model: Pack) -> int:
    """How many tracks ``model`` makes, from the matrix dimensions (no row is built)."""
    count = len(model.tracks)
    if model.matrix is not None:
        m = model.matrix
        count += math.prod(len(d) for d in (m.routines, m.names, m.minutes, m.beds, m.levels))
    return count


def load_pack(path: Path, out_dir: Path | str | None = None, profile_path: Path | None = None,
              options: TrackSettings | None = None) -> PackPlan:
    """Load and validate a pack file and expand it to jobs (no audio yet); ``options``
    is the command line's settings layer (e.g. the engine); ``out_dir`` a folder or an
    fsspec URL (``s3://bucket/prefix``)."""
    doc = load_yaml(path, "pack")
    model = validate_document(doc, Pack)
    count = track_count(model)
    if count > MAX_TRACKS:
        line, col = doc.where(("matrix",) if model.matrix is not None else ("tracks",))
        raise InvalidInputError(f"{path}:{line}:{col}: the pack makes {count} tracks; the "
                                f"most is {MAX_TRACKS}; split it into several packs")
    if profile_path is None and model.profile:
        profile_path = path.parent / model.profile
        if not profile_path.is_file():
            line, col = doc.where(("profile",))
            raise InvalidInputError(f"{path}:{line}:{col}: profile: no such file "
                                    f"'{model.profile}'")
    profile = load_profile(profile_path)
    dest = destination(out_dir or Path("output") / safe_stem(path.stem))
    jobs = _expand(doc, model, profile, dest, options)
    return PackPlan(path, model, dest, jobs)


def _rows(model: Pack) -> list[tuple[tuple[str | int, ...], PackTrack]]:
    rows: list[tuple[tuple[str | int, ...], PackTrack]] = []
    for i, t in enumerate(model.tracks):
        rows.append((("tracks", i), t))
    if model.matrix is not None:
        m = model.matrix
        for ref, name, minutes, bed, level in itertools.product(
            m.routines, m.names, m.minutes, m.beds, m.levels
        ):
            values = {"routine": ref, "name": name, "minutes": minutes, "bed": bed,
                      "level": level}
            rows.append((("matrix",), PackTrack.model_validate(
                {k: v for k, v in values.items() if v is not None})))
    return rows


def _expand(doc: Document, model: Pack, profile: TrackSettings, out: Destination,
            options: TrackSettings | None) -> list[TrackJob]:
    path = doc.path
    base = path.parent
    jobs: list[TrackJob] = []
    seen: dict[str, str] = {}
    routines: dict[str, Routine] = {}
    for n, (loc, track) in enumerate(_rows(model), 1):
        line, col = doc.where(loc)
        where = f"{path}:{line}:{col}"
        routine_path = _routine_path(track.routine, base, where)
        key = str(routine_path)
        if key not in routines:
            routines[key] = Routine.from_file(routine_path, library_dirs())
        routine = routines[key]
        settings = TrackSettings.layered(profile, relative_to(model.defaults, base),
                           relative_to(track.layer(), base), options)
        if settings.bed is not None and settings.bed not in (*BEDS, "none") \
                and not looks_like_file(settings.bed):
            raise InvalidInputError(f"{where}: bed: unknown bed '{settings.bed}'"
                                    f"{suggest(settings.bed, BEDS)}; use none, "
                                    + ", ".join(BEDS) + " or an audio file")
        values = {
            "n": n,
            "routine": routine.id,
            "name": settings.name,
            "minutes": _fmt_number(settings.minutes),
            "length": f"{_fmt_number(settings.minutes)}min" if settings.minutes is not None
            else "",
            "bed": Path(settings.bed).stem if settings.bed else "",
            "level": settings.level or "",
            "voice": (settings.voice or "").split("/")[-1],
            "title": routine.spec.title,
        }
        template = track.file or model.output
        try:
            stem = render_name(template, values)
        except ValueError as exc:
            line, col = doc.where((*loc, "file") if track.file else ("output",))
            raise InvalidInputError(f"{path}:{line}:{col}: output: {exc}") from None
        if stem in seen:
            line, col = doc.where(("output",))
            raise InvalidInputError(
                f"{path}:{line}:{col}: output: tracks {seen[stem]} and {n} would both be named "
                f"'{stem}'; add fields such as {{name}} or {{length}} to the template"
            )
        seen[stem] = str(n)
        job = TrackJob(n, routine_path, settings, stem, out, model.title, model.author,
                       minutes=_expected_minutes(settings, routine),
                       language=routine.spec.language)
        job.input_hash = input_hash(job, routine)
        jobs.append(job)
    return jobs


def _expected_minutes(settings: TrackSettings, routine: Routine) -> float:
    """The length a track is asked for, else the middle of its routine's designed range
    (only orders the work: longest first)."""
    if settings.minutes is not None:
        return settings.minutes
    length = routine.spec.length
    return (length.min + length.max) / 2 if length is not None else 0.0


def shard_of(jobs: list[TrackJob], shard: tuple[int, int] | None) -> list[TrackJob]:
    """The deterministic slice ``I/N`` of a pack: every N-th track from track I."""
    if shard is None:
        return jobs
    i, n = shard
    return [j for j in jobs if (j.n - 1) % n == i - 1]


def _routine_path(ref: str, base: Path, where: str) -> Path:
    local = base / ref
    if ref.endswith((".yaml", ".yml")) or os.sep in ref:
        if not local.is_file():
            raise InvalidInputError(f"{where}: routine: no such file '{ref}'")
        return local
    if (base / f"{ref}.yaml").is_file():
        return base / f"{ref}.yaml"
    try:
        return find_routine(ref)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: routine: {exc.message}") from None


def backend_packages(settings: TrackSettings) -> list[str]:
    """The PyPI packages whose versions decide a track's bytes: its engine's, then its
    format's."""
    engine = engines().get(settings.engine)
    return [*getattr(engine, "packages", ()), *get_format(settings.format).packages]


def input_hash(job: TrackJob, routine: Routine) -> str:
    """Everything that decides a track's bytes: settings, name and tags, the routine and
    exercise files, the bed file, tool and engine versions, the voice's identity (a
    Piper voice's file hash)."""
    s = job.settings
    h = hashlib.sha256()
    settings = {
        "name": s.name, "voice": s.voice, "rate": s.rate, "level": s.level,
        "include_optional": s.optional, "minutes": s.minutes, "bed": s.bed,
        "bed_volume": None if s.bed_volume == DEFAULT_BED_DB else s.bed_volume,
        "loudness": s.loudness_target, "format": s.format, "engine": s.engine,
        "track_name": job.stem, "track_number": job.n, "album": job.album,
        "artist": job.artist,
    }
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(json.dumps([__version__, s.engine, voice_identity(s.engine, s.voice),
                         *(package_version(p) for p in backend_packages(s))]).encode())
    assert routine.path is not None
    h.update(read_bounded(routine.path, "routine", MAX_FILE_BYTES))
    used = sorted({step.exercise for _, step in iter_steps(routine.spec.steps, ("steps",))
                   if isinstance(step, ExerciseRef)})
    for ex_id in used:
        src = routine.library.source(ex_id)
        if src is not None and src.doc.path != routine.path:
            h.update(ex_id.encode() + b"\0"
                     + read_bounded(src.doc.path, "exercise", MAX_FILE_BYTES))
    lexicon = default_lexicon_path()  # the user's lexicon changes what is said
    if lexicon.is_file():
        h.update(b"\0lexicon\0" + read_bounded(lexicon, "lexicon", MAX_FILE_BYTES))
    if s.bed and s.bed not in BEDS and s.bed != "none" and Path(s.bed).exists():
        from voiceguide.mix.sounds import check_bed_file  # numpy: only for a bed file

        check_bed_file(Path(s.bed))  # a regular file of bounded size, before hashing it
        h.update(file_digest(Path(s.bed)).encode())
    return h.hexdigest()
