"""Whether a whole pack is already done, answered without loading its models.

A local pack run that finished every track writes a stamp (:func:`stamp_path`, in the
cache folder, so that the pack folder holds only what it publishes): a digest of every
input that run read or could have read, and the size and modification time of every file
in the folder. The digest covers the pack file, the profiles (given, named by the pack,
the default one), the user's lexicon, each routine with its exercises as the routine
folders resolve them *now* (a new file that would be found first changes it), the bed
files, tool, engine and voice identities, the settings given to the run, the working
folder and the ``VOICEGUIDE_*`` environment. A later run with the same digest and the
same files has nothing to do; any difference takes the full run, which checks each track
and writes the stamp again.

Light on purpose (standard library and YAML), like :mod:`voiceguide.fresh`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import InvalidInputError, UsageError, VoiceguideError, suggest
from voiceguide.export.formats import get_format
from voiceguide.fresh import backend_identity, one_spelling
from voiceguide.io.atomic import write_text
from voiceguide.io.bounded import parse_json
from voiceguide.io.paths import leaves_folder, path_arg, safe_stem, unnameable
from voiceguide.io.yamldoc import load_yaml
from voiceguide.limits import MAX_BED_BYTES
from voiceguide.profile import default_cache_dir, default_profile_path
from voiceguide.routine.catalogue import find_routine, library_dirs, list_routines
from voiceguide.routine.folders import routine_dirs
from voiceguide.routine.inputs import file_identity, hash_routine
from voiceguide.version import __version__
from voiceguide.vocabulary import BEDS

STAMPS: Final = "packs"
"""The cache's subfolder of up-to-date stamps."""
MAX_STAMP_BYTES: Final = 8 * 1024 * 1024
"""Largest stamp read back."""
MAX_FILES: Final = 20_000
"""A pack folder with more files than this gets no stamp (the full run checks it)."""


@dataclass(frozen=True)
class PackInputs:
    """What a pack run was asked, in the terms both the run and the quick check know."""

    pack_path: Path
    """The pack file."""
    folder: Path
    """The local pack folder."""
    profile: Path | None = None
    """The profile given on the command line (None: the pack's, else the default)."""
    options: Mapping[str, Any] | None = None
    """Track settings given on the command line (keys set, e.g. ``{"engine": "espeak"}``)."""
    base_url: str | None = None
    """Where the folder will be hosted (the feed's links)."""
    make_zip: bool = False
    """Whether the pack is zipped."""

    def __post_init__(self) -> None:
        # paths may come as text (as from a web form or a config file); another kind is
        # said here, not as an AttributeError when the check reads it
        for key in ("pack_path", "folder", "profile"):
            value = getattr(self, key)
            if value is not None or key != "profile":
                object.__setattr__(self, key, path_arg(value, key, "file" if key != "folder"
                                                       else "folder"))


@dataclass(frozen=True)
class PackDigest:
    """The digest of a pack's inputs, taken when it was planned, and what it covers."""

    digest: str
    """SHA-256 of every input (see the module's documentation)."""
    routines: list[list[str]]
    """Each ``routine:`` value with the file it named."""
    beds: list[str]
    """The bed files of the tracks, as the settings name them."""
    voices: list[list[Any]]
    """Each (engine, voice, format) of the tracks."""


def stamp_path(folder: Path) -> Path:
    """Where the up-to-date stamp of the pack folder ``folder`` is kept."""
    key = hashlib.sha256(os.fsencode(folder.absolute())).hexdigest()[:32]
    return default_cache_dir() / STAMPS / f"{key}.json"


def default_pack_folder(pack_path: Path | str) -> Path:
    """The folder a pack goes to without ``--out``: ``output/<pack file name>``."""
    return Path("output") / safe_stem(path_arg(pack_path, "pack_path", "pack file").stem)


def routine_path(ref: str, base: Path, where: str) -> Path:
    """The routine file a pack's ``routine:`` names: a file beside the pack, else a
    routine of that name in the routine folders. ``where`` prefixes an error: its place
    and field (``p.yaml:13:30: matrix.routines[1]``)."""
    if (why := unnameable(ref)) is not None:
        raise InvalidInputError(f"{where}: {why}")
    local = base / ref
    if ref.endswith((".yaml", ".yml")) or os.sep in ref or "/" in ref:
        why = leaves_folder(ref, base, routine_dirs())
        if why is not None:  # a pack from someone else reads its own files, not yours
            raise InvalidInputError(f"{where}: '{ref[:200]}' is outside the pack's "
                                    f"folder and the routine folders ({why}); put the "
                                    "routine file beside the pack, or name a routine in the "
                                    "routine folders (voiceguide list)")
        if not local.is_file():  # named from the pack's folder, not the one run in
            raise InvalidInputError(f"{where}: no such file '{ref}' beside the pack "
                                    f"(in {shown_folder(base)}){moved(ref)}")
        return local
    if (base / f"{ref}.yaml").is_file() and leaves_folder(f"{ref}.yaml", base) is None:
        return base / f"{ref}.yaml"
    try:
        return find_routine(ref, files=False)  # a name: the routine folders, not ./ref
    except InvalidInputError as exc:
        # every routine it would find: beside the pack ('voiceguide list' does not show
        # those) and in the routine folders (it said 'evening-hips', beside, for
        # 'morning-hip' with 'morning-hips' in the library)
        names = {q.stem for q in base.glob("*.yaml")} | {q.stem for q in list_routines()}
        if "no routine named" not in exc.message:
            raise InvalidInputError(f"{where}: {exc.message}") from None
        # a coach's review: "for the file here, give its name" named the folder run in
        hint = suggest(ref, sorted(names)) or moved(f"{ref}.yaml") or \
            "; 'voiceguide list' shows the routines"
        raise InvalidInputError(f"{where}: no routine named '{ref}' beside the pack (in "
                                f"{shown_folder(base)}) or in the routine folders{hint}") from None


def moved(name: str) -> str:
    """The fix where the routine file is in the folder run in, not beside the pack."""
    here = Path(name)
    if len(here.parts) != 1 or not here.is_file():
        return ""
    return f"; '{name}' is in the folder you ran this in: put it beside the pack"


def shown_folder(folder: Path) -> str:
    """A folder as a message names it: from the current folder where it is under it."""
    try:
        inside = folder.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        return str(folder)
    return f"{inside}/" if inside.parts else "this folder"


def _digest(asked: PackInputs, routines: list[list[str]], beds: list[str],
            voices: list[list[Any]]) -> str | None:
    """The digest of every input, or None when a routine now resolves to another file.
    Files are read in blocks, and only regular files of bounded size (beds: up to
    :data:`~voiceguide.limits.MAX_BED_BYTES`)."""
    h = hashlib.sha256()
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("VOICEGUIDE_"))
    h.update(json.dumps([
        __version__, os.getcwd(), str(asked.pack_path), str(asked.folder),
        str(asked.profile) if asked.profile else None, one_spelling(asked.options or {}),
        routines, beds, voices, env, [str(d) for d in library_dirs()],
    ], sort_keys=True, default=str).encode())
    doc = load_yaml(asked.pack_path, "pack").data  # bounded before it is hashed
    h.update(file_identity(asked.pack_path))
    named = doc.get("profile") if isinstance(doc, dict) else None
    profiles = [asked.profile, default_profile_path(),
                asked.pack_path.parent / named if isinstance(named, str) else None]
    for profile in profiles:
        if profile is not None:
            h.update(file_identity(profile))
    base = asked.pack_path.parent
    for ref, path in routines:
        try:
            now = routine_path(ref, base, "")
        except InvalidInputError:
            return None
        if str(now) != path:
            return None
        hash_routine(h, now)
    for bed in beds:
        h.update(file_identity(Path(bed), MAX_BED_BYTES))
    for engine, voice, fmt in voices:
        get_format(fmt)  # an unknown one is named by the plan that follows
        h.update(json.dumps([voice, *backend_identity(engine, voice, fmt)]).encode())
    return h.hexdigest()


def pack_digest(asked: PackInputs, routines: Mapping[str, Path],
                tracks: Iterable[tuple[str | None, str, str | None, str]]) -> PackDigest | None:
    """The digest of a planned pack's inputs: ``routines`` (each ``routine:`` value → the
    file it named) and each track's (bed, engine, voice, format); None if it cannot be
    taken (the pack then gets no stamp)."""
    rows = list(tracks)
    refs = sorted([ref, str(path)] for ref, path in routines.items())
    beds = sorted({b for b, *_ in rows if b and b not in (*BEDS, "none")})
    voices = [json.loads(v) for v in sorted({json.dumps(row[1:]) for row in rows})]
    try:
        digest = _digest(asked, refs, beds, voices)
    except (VoiceguideError, OSError, ValueError):
        return None
    return None if digest is None else PackDigest(digest, refs, beds, voices)


def _files(folder: Path) -> dict[str, list[int]] | None:
    """Every file under ``folder`` → [size, mtime, ctime (ns), inode]; None if more than
    :data:`MAX_FILES` or unreadable."""
    found: dict[str, list[int]] = {}
    try:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            rel = Path(root).relative_to(folder)
            for name in names:
                st = os.lstat(os.path.join(root, name))
                found[os.fsencode(rel / name).decode("utf-8", "backslashreplace")] = [
                    st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
                if len(found) > MAX_FILES:
                    return None
    except OSError:
        return None
    return found


def forget(folder: Path) -> None:
    """Remove the stamp (a run is about to change the folder); a stamp that cannot be
    removed is left (the run goes on: a stamp only saves time)."""
    with contextlib.suppress(OSError):
        stamp_path(folder).unlink()


def write_stamp(asked: PackInputs, planned: PackDigest | None,
                report: Mapping[str, Any]) -> bool:
    """Record that the pack in ``asked.folder`` is complete, when its inputs are still
    what they were when it was ``planned`` (an input edited during the run gives no
    stamp); ``report`` is what a run with nothing to do reports (see
    :func:`pack_up_to_date`). False when no stamp was written."""
    if planned is None:
        return False
    try:
        digest = _digest(asked, planned.routines, planned.beds, planned.voices)
        files = _files(asked.folder)
        if digest != planned.digest or files is None:
            return False
        stamp = {"digest": digest, "routines": planned.routines, "beds": planned.beds,
                 "voices": planned.voices, "base_url": asked.base_url,
                 "make_zip": asked.make_zip, "report": dict(report), "files": files}
        path = stamp_path(asked.folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(stamp, sort_keys=True))
    except (VoiceguideError, OSError, ValueError):
        return False
    return True


def _strings(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(s, str) for s in x)


def _report(report: Any, folder: Path) -> dict[str, Any] | None:
    """The stamp's report when it describes ``folder`` (its zips inside it), else None."""
    if not isinstance(report, dict) or report.get("folder") != str(folder) \
            or not _strings(report.get("tracks")) or not _strings(report.get("zips")) \
            or not _strings(report.get("warnings", [])):
        return None
    zips = [*report["zips"], *([report["zip"]] if report.get("zip") is not None else [])]
    if not _strings(zips) or not all(
            z.startswith(f"{folder}{os.sep}") and ".." not in Path(z).parts for z in zips):
        return None
    return report


def pack_up_to_date(asked: PackInputs) -> dict[str, Any] | None:
    """The report of the last run (``folder``, ``tracks`` in pack order, ``zip``,
    ``zips``, the plan's ``warnings``) when the pack in ``asked.folder`` is complete for
    the same inputs and no file in it changed since; else None (run the pack)."""
    if not isinstance(asked, PackInputs):
        raise UsageError(f"pack_up_to_date takes a PackInputs, not {type(asked).__name__}")
    path = stamp_path(asked.folder)
    try:
        if not path.is_file() or path.stat().st_size > MAX_STAMP_BYTES:
            return None
        stamp = parse_json(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(stamp, dict) or stamp.get("base_url") != asked.base_url \
            or stamp.get("make_zip") is not asked.make_zip:
        return None
    report = _report(stamp.get("report"), asked.folder)
    routines, beds, voices = stamp.get("routines"), stamp.get("beds"), stamp.get("voices")
    if report is None or not (
            isinstance(routines, list) and all(_strings(r) and len(r) == 2 for r in routines)
            and isinstance(beds, list) and _strings(beds) and isinstance(voices, list)
            and all(isinstance(v, list) and len(v) == 3 and isinstance(v[0], str)
                    and isinstance(v[1], str | None) and isinstance(v[2], str)
                    for v in voices)):
        return None
    if stamp.get("files") != _files(asked.folder):
        return None
    if stamp.get("digest") != _digest(asked, routines, beds, voices):
        return None
    return report
