"""What decides a pack track's bytes: its input hash (a track whose hash and files are
unchanged is not built again) and the packages whose versions count."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from voiceguide.export.formats import get_format
from voiceguide.fresh import backend_identity
from voiceguide.fresh import backend_packages as fresh_backend_packages
from voiceguide.io.bounded import file_digest, read_bounded
from voiceguide.limits import MAX_FILE_BYTES
from voiceguide.pack.jobs import TrackJob
from voiceguide.profile import default_lexicon_path
from voiceguide.routine.inputs import exercise_refs
from voiceguide.routine.load import Routine, iter_steps
from voiceguide.routine.steps import ExerciseRef
from voiceguide.settings import DEFAULT_BED_DB, TrackSettings
from voiceguide.version import __version__
from voiceguide.vocabulary import BEDS


def backend_packages(settings: TrackSettings) -> list[str]:
    """The PyPI packages whose versions decide a track's bytes: its engine's, then its
    format's."""
    get_format(settings.format)  # an unknown one is named
    return fresh_backend_packages(settings.engine, settings.format)


def input_hash(job: TrackJob, routine: Routine) -> str:
    """Everything that decides a track's bytes: settings, name and tags, the routine and
    exercise files, the bed file, tool and engine versions, the voice's identity (a
    Piper voice's file hash)."""
    s = job.settings
    h = hashlib.sha256()
    # a bed or voice file by its name: its contents are hashed below, and its path is
    # spelt from wherever the pack is built (packs/p.yaml or /home/..., a rebuild of all)
    settings = {
        "name": s.name, "voice": _named(s.voice), "rate": s.rate, "level": s.level,
        "include_optional": s.optional, "minutes": s.minutes, "bed": _named(s.bed),
        "bed_volume": None if s.bed_volume == DEFAULT_BED_DB else s.bed_volume,
        "loudness": s.loudness_target, "format": s.format, "engine": s.engine,
        "track_name": job.stem, "track_number": job.track_number or job.n,
        "album": job.album, "artist": job.artist,
    }
    if job.title:
        settings["title"] = job.title
    if job.group:
        settings["folder"] = job.group
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(json.dumps([__version__, *backend_identity(s.engine, s.voice, s.format)]
                        ).encode())
    assert routine.path is not None
    h.update(read_bounded(routine.path, "routine", MAX_FILE_BYTES))
    for ex_id in sorted(_used_exercises(routine)):
        src = routine.library.source(ex_id)
        if src is not None and src.doc.path != routine.path:
            h.update(ex_id.encode() + b"\0"
                     + read_bounded(src.doc.path, "exercise", MAX_FILE_BYTES))
    lexicon = default_lexicon_path()  # the user's lexicon changes what is said
    if lexicon.is_file():
        h.update(b"\0lexicon\0" + read_bounded(lexicon, "lexicon", MAX_FILE_BYTES))
    bed = s.bed if s.bed is not None else routine.spec.bed  # the routine's own, if not set
    if bed and bed not in BEDS and bed != "none":
        path = Path(bed)
        if s.bed is None and not path.is_absolute():
            path = routine.path.parent / path  # a routine's bed file sits beside it
        if path.exists():
            from voiceguide.mix.bedfile import check_bed_file  # numpy: only for a bed file

            check_bed_file(path)  # a regular file of bounded size, before hashing it
            h.update(file_digest(path).encode())
    return h.hexdigest()


def _named(value: str | None) -> str | None:
    """A setting as the input hash takes it: a file (a path) by its name."""
    return Path(value).name if value is not None and ("/" in value or "\\" in value) \
        else value


def _used_exercises(routine: Routine) -> set[str]:
    """Every exercise the routine uses, and those they use in turn (an exercise may use
    exercises: a change to one of those changes the track too)."""
    todo = [step.exercise for _, step in iter_steps(routine.spec.steps, ("steps",))
            if isinstance(step, ExerciseRef)]
    used: set[str] = set()
    while todo:
        ex_id = todo.pop()
        if ex_id in used:
            continue
        used.add(ex_id)
        src = routine.library.source(ex_id)
        if src is not None:
            todo += exercise_refs(src.raw.get("steps"))
    return used
