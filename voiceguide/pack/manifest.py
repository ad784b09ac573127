"""``pack.json``: what a pack run built, so the next run skips unchanged tracks.

Each track's entry records its input hash (settings, routine and exercise files, bed
file, tool and engine versions) and the SHA-256 of its files; a track whose inputs and
files are unchanged is not built again.

While a pack runs, each finished track is appended to a journal (one JSON line, O(1) per
track); the journal is folded into ``pack.json`` at the end and read back by a run that
resumes after a crash. A manifest is untrusted input (packs are unzipped from
elsewhere): one whose entries name anything but plain files of this folder is ignored
with a warning, and stale-track cleanup deletes only files whose SHA-256 is the one the
manifest recorded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import OutputError
from voiceguide.io.bounded import parse_json
from voiceguide.io.paths import safe_stem
from voiceguide.limits import MAX_MANIFEST_BYTES, track_length
from voiceguide.pack.dest import Destination, LocalDest, destination
from voiceguide.pack.identity import backend_packages
from voiceguide.pack.jobs import TrackJob
from voiceguide.pack.plan import PackPlan
from voiceguide.plugins import package_version
from voiceguide.settings import control_character
from voiceguide.version import __version__

MANIFEST: Final = "pack.json"
MANIFEST_VERSION: Final = 1
JOURNAL: Final = ".voiceguide-journal.jsonl"
"""Entries of finished tracks, one JSON line each, until the run folds them in."""
SIDECAR_SUFFIXES: Final = (".cues.json", ".vtt", ".lrc", ".chapters.json")
"""Files that belong to a track besides the track itself."""
_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")
_FOLDER: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A listener's folder in a grouped pack (as :func:`~voiceguide.io.paths.folder_slug`
makes them): nothing else is trusted in a manifest."""


def plain_folder(name: object) -> bool:
    """Whether ``name`` is a folder name this tool makes for a group (no dots, no '/')."""
    return isinstance(name, str) and _FOLDER.match(name) is not None


def entry_dest(dest: Destination, entry: dict[str, Any]) -> Destination:
    """Where an entry's files are: its listener's folder in a grouped pack, else ``dest``."""
    group = entry.get("group")
    return dest.child(group) if isinstance(group, str) and group else dest


def entry_path(entry: dict[str, Any], name: str) -> str:
    """``name`` (one of an entry's files) relative to the pack folder."""
    group = entry.get("group")
    return f"{group}/{name}" if isinstance(group, str) and group else name


def manifest_name(shard: tuple[int, int] | None) -> str:
    """``pack.json``, or ``pack.shard-I-of-N.json`` for one shard of a pack."""
    return MANIFEST if shard is None else f"pack.shard-{shard[0]}-of-{shard[1]}.json"


def _plain_name(name: object) -> bool:
    """A file name of this folder: no folders, no ``..``, nothing absolute or hidden."""
    if not isinstance(name, str) or not name or len(name) > 255:
        return False
    stem = name.split(".", 1)[0]
    return "/" not in name and "\\" not in name and not name.startswith(".") \
        and safe_stem(stem) == stem


def check_entry(entry: object) -> str | None:
    """Why a manifest entry cannot be trusted, or None."""
    if not isinstance(entry, dict):
        return "an entry is not a mapping"
    if "group" in entry and not plain_folder(entry["group"]):
        return f"folder {str(entry.get('group'))[:80]!r} is not a plain folder of the pack"
    if not _plain_name(entry.get("file")):
        return f"track file {str(entry.get('file'))[:80]!r} is not a plain name in the folder"
    sidecars = entry.get("sidecars", [])
    if not isinstance(sidecars, list) or not all(_plain_name(s) for s in sidecars):
        return f"sidecars of {entry.get('file')} are not plain names in the folder"
    if not isinstance(entry.get("sha256"), str) or not _HEX64.match(entry["sha256"]):
        return f"{entry.get('file')} has no valid sha256"
    size, recorded = entry.get("bytes"), entry.get("sidecar_sha256")
    if type(size) is not int or size < 0:
        return f"{entry.get('file')} has no size"
    if recorded is not None and (not isinstance(recorded, list) or len(recorded) != len(
            sidecars) or not all(isinstance(d, str) and _HEX64.match(d) for d in recorded)):
        return f"{entry.get('file')} has no valid sidecar_sha256"
    numbers = {"n": int, "rate": int, "minutes": int | float}
    if any(entry.get(k) is not None and (isinstance(entry.get(k), bool) or not isinstance(
            entry.get(k), kind)) for k, kind in numbers.items()):
        return f"{entry.get('file')} has a number of the wrong kind"
    if not track_length(entry.get("duration")):
        return f"{entry.get('file')} has no valid duration"
    for key, most in _TEXTS.items():
        text = entry.get(key)
        if text is None and key != "title":
            continue
        if not isinstance(text, str) or len(text) > most \
                or control_character(text, "\n\t") is not None:
            return f"{entry.get('file')} has no valid {key}"
    return None


_TEXTS: Final = {"title": 1000, "description": 10_000, "routine": 1000, "name": 1000,
                 "voice": 1000, "level": 100, "bed": 1000, "input_hash": 100}
"""The text fields of an entry a later run publishes (feed, player, playlist), and the
most characters each may have; the title must be there."""


def _reseeded(doc: dict[str, Any], seed: str) -> list[str]:
    """A warning when the tracks of manifest ``doc`` had their feed's episode IDs made
    from another title than ``seed`` (a coach's review: a typo put right in a pack's
    title gave every episode a new ID, and each client's app showed every track again)."""
    before = doc.get("feed_id", doc.get("title"))
    if not doc["tracks"] or not isinstance(before, str) or before == seed \
            or not 0 < len(before) <= 120 or control_character(before) is not None:
        return []  # the same, or nothing a pack's title could be (a damaged manifest)
    return [f"the episodes' IDs in feed.xml were made from {before!r} and are now made "
            f"from {seed!r}: a podcast app takes every track for a new episode and shows "
            f"it again; to keep their IDs, add feed_id: {json.dumps(before, ensure_ascii=False)} "
            "to the pack (the title can then change freely)"]


def _parse(data: bytes | None, what: str, warnings: list[str],
           seed: str | None = None) -> list[dict[str, Any]]:
    if data is None:
        return []
    if len(data) > MAX_MANIFEST_BYTES:
        warnings.append(f"{what} is larger than {MAX_MANIFEST_BYTES >> 20} MB; ignored")
        return []
    try:
        doc = parse_json(data)
    except ValueError:
        warnings.append(f"{what} is not valid JSON; ignored (every track is checked again)")
        return []
    if not isinstance(doc, dict) or doc.get("version") != MANIFEST_VERSION \
            or not isinstance(doc.get("tracks"), list):
        warnings.append(f"{what} is not a voiceguide pack manifest; ignored")
        return []
    for e in doc["tracks"]:
        why = check_entry(e)
        if why is not None:
            warnings.append(f"{what}: {why}; the manifest is ignored (nothing is skipped "
                            "or deleted because of it)")
            return []
    if seed is not None:
        warnings += _reseeded(doc, seed)
    return list(doc["tracks"])


def read_entries(dest: Destination | Path, warnings: list[str],
                 shard: tuple[int, int] | None = None, seed: str | None = None
                 ) -> list[dict[str, Any]]:
    """The trusted entries of the previous run: its manifest (and, for the whole pack,
    the shards' manifests), then what the journal of an interrupted run recorded. Given
    the ``seed`` the feed's episode IDs are made from now (:meth:`Pack.feed_seed`), a
    whole pack's run warns when its manifest's tracks were published with another."""
    dest = destination(dest) if isinstance(dest, Path) else dest
    names = [manifest_name(shard)]
    if shard is None:
        names += _shard_manifests(dest)
    entries: list[dict[str, Any]] = []
    for name in names:
        entries += _parse(dest.read_bytes(name), name, warnings,
                          seed if shard is None and name == names[0] else None)
    journal = Journal(dest, shard)
    entries += journal.read(warnings)
    return entries


def _shard_manifests(dest: Destination) -> list[str]:
    return sorted(n for n in dest.listing() if re.fullmatch(r"pack\.shard-\d+-of-\d+\.json", n))


def fold_shards(dest: Destination) -> None:
    """Remove the shards' manifests once ``pack.json`` holds their tracks (a whole run
    read them and wrote it): nothing stale is left beside the pack."""
    for name in _shard_manifests(dest):
        dest.remove(name)


def up_to_date(job: TrackJob, old: dict[str, Any] | None, dest: Destination | Path,
               listing: dict[str, int] | None = None) -> bool:
    """Whether ``old`` (a previous entry) describes this job and its files are intact:
    same input hash, the track present with its recorded size (and, in a local folder,
    SHA-256), the sidecars present (in a local folder, with the SHA-256 recorded: an
    entry without is built again)."""
    dest = destination(dest) if isinstance(dest, Path) else dest
    if old is None or old.get("input_hash") != job.input_hash or check_entry(old):
        return False
    files = dest.listing() if listing is None else listing
    name = str(old["file"])
    if files.get(name) != old.get("bytes"):
        return False
    sidecars = old.get("sidecars")
    if not sidecars or any(s not in files for s in sidecars):
        return False  # the feed and the player are made from its cue sheet
    if isinstance(dest, LocalDest):  # the very files recorded: the sidecars too
        digests = old.get("sidecar_sha256") or []
        return bool(digests) and dest.digest(name) == old.get("sha256") and all(
            dest.digest(s) == d for s, d in zip(sidecars, digests, strict=True))
    return True


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
        "feed_id": plan.model.feed_seed(),
        "author": plan.model.author,
        "description": plan.model.description.strip(),
        "generator": f"voiceguide {__version__}",
        "tools": {
            "voiceguide": __version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            **packages,
        },
        "tracks": [{"n": n, **{k: v for k, v in entries[n].items() if k != "n"}}
                   for n in sorted(entries)],
    }


def write_manifest(plan: PackPlan, entries: dict[int, dict[str, Any]],
                   shard: tuple[int, int] | None = None) -> None:
    """Write ``pack.json`` (or the shard's manifest) atomically, unless it already says
    exactly that."""
    data = (json.dumps(manifest(plan, entries), indent=1, ensure_ascii=False) + "\n").encode()
    name = manifest_name(shard)
    if plan.dest.read_bytes(name) != data:
        plan.dest.write_bytes(name, data)


class Journal:
    """Append-only record of finished tracks: one JSON line per track, fsynced.

    In a local pack folder it lives there (hidden); for a remote destination (object
    stores cannot append) it lives in the user's cache folder, named after the URL.
    """

    def __init__(self, dest: Destination, shard: tuple[int, int] | None = None) -> None:
        name = JOURNAL if shard is None else f".voiceguide-journal-{shard[0]}-of-{shard[1]}.jsonl"
        if dest.local is not None:
            self.path = dest.local / name
        else:
            from voiceguide.profile import default_cache_dir

            tag = hashlib.sha256(f"{dest}#{name}".encode()).hexdigest()[:24]
            self.path = default_cache_dir() / "journals" / f"{tag}.jsonl"
        self._fd: int | None = None

    def read(self, warnings: list[str]) -> list[dict[str, Any]]:
        """Trusted entries recorded by an earlier run (a torn last line is skipped)."""
        try:
            st = self.path.lstat()
            if st.st_size > MAX_MANIFEST_BYTES or not stat.S_ISREG(st.st_mode):
                # a FIFO would block the read for ever
                warnings.append(f"{self.path.name}: too large or not a regular file; ignored")
                return []
            lines = self.path.read_bytes().splitlines()
        except OSError:
            return []
        out: list[dict[str, Any]] = []
        for line in lines:
            try:
                entry = parse_json(line)
            except ValueError:
                continue
            why = check_entry(entry)
            if why is not None:
                warnings.append(f"{self.path.name}: {why}; the journal is ignored")
                return []
            out.append(entry)
        return out

    def append(self, entry: dict[str, Any]) -> None:
        """Record one finished track (a single write of one line, then fsync)."""
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    if not stat.S_ISREG(self.path.lstat().st_mode):
                        raise OSError(errno.EINVAL, "not a regular file; remove it")
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                             | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0), 0o644)
                if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO, a device
                    os.close(fd)
                    raise OSError(errno.EINVAL, "not a regular file; remove it")
                self._fd = fd
            os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot record the finished track "
                              f"({exc.strerror})") from None

    def close(self, remove: bool) -> None:
        """Close; ``remove`` once the manifest holds every entry."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()


def remove_stale(dest: Destination, old: Iterable[dict[str, Any]], keep: set[str]) -> list[str]:
    """Delete the tracks (and their sidecars) of trusted previous entries that this run
    does not keep (``keep``: paths relative to the pack folder, ``folder/name`` in a
    grouped pack), only where the file's SHA-256 is the one recorded (a file someone
    else put there under that name stays); returns the removed tracks' paths."""
    removed: list[str] = []
    for entry in sorted(old, key=lambda e: (str(e.get("group", "")), str(e.get("file")))):
        if check_entry(entry) is not None:
            continue
        name = str(entry["file"])
        if entry_path(entry, name) in keep:
            continue
        dest_ = entry_dest(dest, entry)
        if dest_.digest(name) != entry["sha256"]:
            continue
        stem = name.rsplit(".", 1)[0]
        hashes = dict(zip(entry.get("sidecars", []), entry.get("sidecar_sha256", []),
                          strict=False))
        dest_.remove(name)
        for suffix in SIDECAR_SUFFIXES:
            side = stem + suffix
            if entry_path(entry, side) in keep:
                continue
            recorded = hashes.get(side)
            if recorded is None and suffix != ".chapters.json":
                continue  # written by an older version: no hash to prove it is ours
            if recorded is None or dest_.digest(side) == recorded:
                dest_.remove(side)
        removed.append(entry_path(entry, name))
    return removed


_SAME_TRACK: Final = ("group", "routine", "name", "minutes", "bed", "voice", "rate", "level")
"""What makes two manifest entries one listener's same track, whatever its file name."""


def renamed(old: Iterable[dict[str, Any]], removed: list[str],
            now: Iterable[dict[str, Any]]) -> list[str]:
    """A warning for tracks published before under another file name, the earlier file
    removed (:func:`remove_stale`): an episode's GUID follows its file, so a podcast app
    takes each for a new episode (a coach's review: a track added first renumbered a
    client's two with ``{n:02d}``, and her app showed them again, without a word)."""
    made = {tuple(e.get(k) for k in _SAME_TRACK): e for e in now}
    moved = [(entry_path(e, str(e.get("file"))), entry_path(n, str(n["file"])))
             for e in old if entry_path(e, str(e.get("file"))) in removed
             and (n := made.get(tuple(e.get(k) for k in _SAME_TRACK))) is not None]
    if not moved:
        return []
    shown = ", ".join(f"{a} is now {b}" for a, b in moved[:3]) + (", ..." * (len(moved) > 3))
    return [f"{len(moved)} track(s) published before have another file name ({shown}): a "
            "podcast app takes each for a new episode and shows it again; an 'output:' "
            "name without {n} keeps a track's name when tracks are added before it"]
