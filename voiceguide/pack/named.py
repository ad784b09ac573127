"""The files a pack names (beds, voices), checked where they are written: inside the
pack's folder, and there, before any track is built."""

from __future__ import annotations

from voiceguide.errors import InvalidInputError
from voiceguide.io.yamldoc import Document
from voiceguide.pack.model import Pack, PackTrack
from voiceguide.routine.folders import routine_dirs
from voiceguide.settings import files_outside
from voiceguide.vocabulary import BEDS


def bed_loc(model: Pack, loc: tuple[str | int, ...], track: PackTrack
             ) -> tuple[str | int, ...]:
    """Where a track's bed is written: its own line, the matrix's list, the defaults."""
    if track.bed is not None:
        if loc == ("matrix",) and model.matrix is not None and track.bed in model.matrix.beds:
            return ("matrix", "beds", model.matrix.beds.index(track.bed))
        return (*loc, "bed")
    return ("defaults", "bed") if model.defaults.bed is not None else ("profile",)


def confined(doc: Document, model: Pack, loc: tuple[str | int, ...], track: PackTrack
              ) -> None:
    """A bed or voice file the pack names for this track outside the pack's folder is
    an error at its line (a pack from someone else reads its own files, not yours)."""
    problems = []
    for layer, at in ((model.defaults, ("defaults",)), (track.layer(), loc)):
        for key, value, why in files_outside(layer, doc.path.parent, routine_dirs()):
            line, col = doc.where(bed_loc(model, loc, track) if key == "bed" and at == loc
                                  else (*at, key))
            problems.append(
                f"{doc.path}:{line}:{col}: {key}: '{value[:200]}' is outside the pack's "
                f"folder and the routine folders ({why}); put the file in the pack's folder "
                "or in a routine folder (routines/beds/), and name it from there")
    if problems:
        raise InvalidInputError(problems[0], problems)


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
