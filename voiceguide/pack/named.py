"""The files a pack names (beds, voices), checked where they are written: inside the
pack's folder, and there, before any track is built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from voiceguide.errors import InvalidInputError
from voiceguide.io.models import doc_value
from voiceguide.io.yamldoc import Document, Loc
from voiceguide.pack.model import Pack, PackTrack
from voiceguide.routine.load import Routine
from voiceguide.settings import TrackSettings, files_outside
from voiceguide.vocabulary import BEDS, looks_like_file, seconds_as_decimal


def bed_loc(model: Pack, loc: tuple[str | int, ...], track: PackTrack
             ) -> tuple[str | int, ...]:
    """Where a track's bed is written: its own line, the matrix's list, the defaults."""
    if track.bed is not None:
        if loc == ("matrix",) and model.matrix is not None and track.bed in model.matrix.beds:
            return ("matrix", "beds", model.matrix.beds.index(track.bed))
        return (*loc, "bed")
    return ("defaults", "bed") if model.defaults.bed is not None else ("profile",)


def confined(doc: Document, layer: TrackSettings, at: Callable[[str], Loc],
             roots: Sequence[Path]) -> dict[str, str]:
    """The bed and voice files of ``layer`` (the pack's defaults, or a track's own; ``at``
    tells where a key is written) outside the pack's folder and the routine folders
    ``roots``: each key's error at its line (a pack from someone else reads its own
    files, not yours)."""
    said = {}
    for key, value, why in files_outside(layer, doc.path.parent, roots):
        line, col = doc.where(at(key))
        said[key] = (f"{doc.path}:{line}:{col}: {key}: '{value[:200]}' is outside the pack's "
                     f"folder and the routine folders ({why}); put the file in the pack's "
                     "folder or in a routine folder (routines/beds/), and name it from there")
    return said


def track_loc(model: Pack, loc: Loc, track: PackTrack, key: str) -> Loc:
    """Where a track's own ``key`` is written (its bed: see :func:`bed_loc`; its routine,
    in a matrix: the item of the matrix's list)."""
    if key == "routine" and loc == ("matrix",) and model.matrix is not None:
        return ("matrix", "routines", model.matrix.routines.index(track.routine))
    return bed_loc(model, loc, track) if key == "bed" else (*loc, key)


def check_bed(bed: str | None, doc: Document, loc: tuple[str | int, ...],
               ok: set[str]) -> None:
    """A bed file that is not there (or not a file) is the pack's error, said at its
    line before any track is built (it stopped the run at the track that used it);
    ``ok``: the beds found good so far (each is checked once)."""
    if not bed or bed in (*BEDS, "none") or bed in ok:
        return
    from voiceguide.mix.sounds import bed_problem  # the audio stack: packs build audio

    problem = bed_problem(bed)
    if problem is not None and loc == ("profile",):  # the profile's (or an option's)
        raise InvalidInputError(f"{doc.path}: bed (from the profile): {problem}")
    if problem is not None:
        line, col = doc.where(loc)
        raise InvalidInputError(f"{doc.path}:{line}:{col}: bed: {problem}")
    ok.add(bed)


def check_routine_bed(routine: Routine, settings: TrackSettings, ok: set[str]) -> None:
    """The routine's own bed file, where the track plays it (no bed set), checked as the
    pack's beds are, said at the routine's line: a pack built its first track before the
    second's missing ``bed: beds/rain.wav`` stopped it (an attack)."""
    bed = routine.spec.bed
    if settings.bed is None and bed and looks_like_file(bed) and routine.path is not None:
        check_bed(str(routine.path.parent / bed), routine.doc, ("bed",), ok)


def decimal_minutes(doc: Document) -> list[str]:
    """A warning for each length written as a decimal whose hundredths read as seconds
    (``minutes: 8.30`` is 8.3 minutes, 8:18; a coach's review meant 8:30): the length it
    is, and how to write the one it looks like."""
    data = doc.data if isinstance(doc.data, dict) else {}
    tracks, matrix = data.get("tracks"), data.get("matrix")
    places: list[Loc] = [("defaults", "minutes")] + [
        ("tracks", i, "minutes") for i in range(len(tracks) if isinstance(tracks, list) else 0)]
    if isinstance(matrix, dict) and isinstance(matrix.get("minutes"), list):
        places += [("matrix", "minutes", i) for i in range(len(matrix["minutes"]))]
    said = []
    for loc in places:
        value = doc_value(doc.data, loc)
        if isinstance(value, float) and (words := seconds_as_decimal(value)):
            line, col = doc.where(loc)
            said.append(f"{doc.path}:{line}:{col}: minutes: {words}")
    return said

