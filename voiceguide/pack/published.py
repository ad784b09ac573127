"""The record of what a pack run published (playlist, feed, players, zips): a stamp of
its inputs, the files, and their SHA-256, kept in the pack folder as
:data:`PUBLISHED`. A re-run with the same stamp whose files are all there and intact
writes nothing; a later run removes only listener files that are still the recorded
ones."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Final

from voiceguide.io.bounded import parse_json
from voiceguide.pack.dest import Destination
from voiceguide.pack.manifest import plain_folder

PUBLISHED: Final = ".voiceguide-published.json"
"""What the last run published: a stamp of its inputs and the files it wrote."""
MAX_RECORD_BYTES: Final = 1 << 20
"""Largest record read back."""


def digest(dest: Destination, name: str) -> str | None:
    """The SHA-256 of ``name`` (a path relative to the pack folder), None if absent."""
    folder, _, file = name.rpartition("/")
    return (dest.child(folder) if folder else dest).digest(file)


def present(dest: Destination, names: list[str]) -> set[str]:
    """Which of ``names`` (paths relative to the pack folder) are there."""
    folders = sorted({n.rpartition("/")[0] for n in names})
    found: set[str] = set()
    for folder in folders:
        listing = (dest.child(folder) if folder else dest).listing()
        found |= {f"{folder}/{n}" if folder else n for n in listing}
    return found


def intact(dest: Destination, before: dict[str, Any]) -> bool:
    """Whether every file the last run published is there and, in a local folder, still
    the recorded one (a record from an older version, without every file's digest, is
    taken on presence)."""
    files = before.get("files", [])
    if not set(files) <= present(dest, files):
        return False
    recorded = before.get("sha256")
    if dest.local is None or not isinstance(recorded, dict) or set(recorded) != set(files):
        return True
    return all(digest(dest, name) == recorded[name] for name in files)


def record(stamp: str, names: list[str], dest: Destination) -> bytes:
    """The record of a run that published ``names`` with inputs ``stamp``: with the
    SHA-256 of every file in a local folder, of the listeners' files in a remote one."""
    doc: dict[str, Any] = {"stamp": stamp, "files": names}
    digests = {name: digest(dest, name) for name in names
               if dest.local is not None or "/" in name}
    if digests:  # what proves the files are intact, and a listener's files ours
        doc["sha256"] = digests
    return json.dumps(doc).encode()


def removal_notices(dest: Destination, gone: list[str], make_zip: bool) -> list[str]:
    """What a run says of the pack files it removed (:func:`remove_unpublished`) that a
    link may have been sent to: a zip, and a listener's whole folder (a coach's review:
    "1 removed (tom/01-morning-hips-Tom-5min.mp3)", and tom/ with its feed, player and
    zip was gone; a zip named after an old title went without a word)."""
    said = []
    folders = sorted({g.partition("/")[0] for g in gone if "/" in g})
    empty = [f for f in folders if dest.local is not None and not (dest.local / f).exists()]
    zips = [z for z in gone if z.endswith(".zip") and ("/" not in z or z.partition("/")[0]
                                                       not in empty)]
    if zips:
        said.append(f"Removed {', '.join(zips)}: " + (
            "the pack's zip is named after its title now" if make_zip else
            "made by an earlier run with --zip; pack with --zip to keep making it"))
    if empty:
        said.append(f"Removed {', '.join(f + '/' for f in empty)}: no track of the pack is "
                    "there now; the feed and player links given out there stop working")
    return said


def remove_unpublished(dest: Destination, before: dict[str, Any], now: set[str]
                       ) -> list[str]:
    """Delete pack files the last run published in listeners' folders and this one did
    not (a listener taken out of the pack, a zip no longer asked for), and a zip at the
    root no longer asked for, only where the file is the one recorded (a stale zip
    would hand out old audio); then the emptied folders (local packs). Other files at
    the root are left as before. Returns the names removed."""
    recorded = before.get("sha256")
    if not isinstance(recorded, dict):
        return []  # published by an older version: nothing proves the files are ours
    folders: set[str] = set()
    removed: list[str] = []
    for name in sorted(set(before.get("files", [])) - now):
        if ("/" not in name and not name.endswith(".zip")) \
                or not isinstance(recorded.get(name), str) \
                or digest(dest, name) != recorded[name]:
            continue
        folder, _, file = name.rpartition("/")
        (dest.child(folder) if folder else dest).remove(file)
        removed.append(name)
        if folder:
            folders.add(folder)
    if dest.local is not None:
        for folder in sorted(folders):
            with contextlib.suppress(OSError):
                (dest.local / folder).rmdir()  # only if empty
    return removed


def published(dest: Destination) -> dict[str, Any] | None:
    """What the last run published (its stamp and files), if anything."""
    data = dest.read_bytes(PUBLISHED)
    try:
        doc = parse_json(data) if data is not None and len(data) < MAX_RECORD_BYTES else None
    except ValueError:
        return None
    files = doc.get("files") if isinstance(doc, dict) else None
    return doc if isinstance(files, list) and all(_published_name(f) for f in files) \
        else None


def _published_name(name: object) -> bool:
    """A file of the pack folder, or of one of its listeners' folders."""
    if not isinstance(name, str):
        return False
    folder, _, file = name.rpartition("/")
    return bool(file) and "\\" not in file and not file.startswith(".") \
        and (not folder or plain_folder(folder))
