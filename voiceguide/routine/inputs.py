"""What decides a routine's track besides the settings, as an input hash reads it: the
routine file (or its data), every exercise it uses as the folders resolve them now, the
user's lexicon and the routine's own bed file. Files are read bounded; no models."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from voiceguide.io.yamldoc import load_yaml
from voiceguide.limits import MAX_BED_BYTES, MAX_FILE_BYTES
from voiceguide.profile import default_lexicon_path
from voiceguide.routine.catalogue import library_dirs
from voiceguide.vocabulary import BEDS


def exercise_refs(node: Any) -> Iterator[str]:
    """The exercise ids a routine's or an exercise's steps (as written) name, nested
    steps included."""
    if isinstance(node, dict):
        ref = node.get("exercise")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from exercise_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from exercise_refs(value)


def file_identity(path: Path, limit: int | None = MAX_FILE_BYTES) -> bytes:
    """What stands for a file in an input hash: its path and SHA-256 (read in blocks, so
    memory stays bounded), else why there is none (missing, not a regular file, larger
    than ``limit``)."""
    # a name no file can have (a lone surrogate, from a routine) is missing, not a crash
    head = b"\0" + str(path).encode("utf-8", "surrogatepass") + b"\0"
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return head + b"not a regular file"
        if limit is not None and st.st_size > limit:
            return head + b"too large"
        with open(path, "rb") as f:
            return head + hashlib.file_digest(f, "sha256").digest()
    except (OSError, ValueError):
        return head + b"missing"


def _exercise_file(folders: list[Path], ex_id: str) -> Path | None:
    """The file an exercise id names: the first folder with an entry of that name (a
    folder or a broken link there is found too, as the library loader finds it)."""
    return next((f / f"{ex_id}.yaml" for f in folders
                 if os.path.lexists(f / f"{ex_id}.yaml")), None)


def hash_routine(h: Any, path: Path | None, raw: Mapping[str, Any] | None = None,
                 folders: Sequence[Path] | None = None) -> None:
    """Feed hash ``h`` with what decides a routine's track besides the settings: the
    routine file (``path``; None: the routine is the data ``raw``), every exercise it
    uses as the routine folders resolve them now (exercises may use exercises), the
    user's lexicon and the routine's own bed file. ``raw``: the routine document, if
    already read (files are read bounded); ``folders``: where its exercises are looked
    for, if not the routine's and the library's."""
    if raw is None:
        doc = load_yaml(path, "routine").data if path is not None else {}
        raw = doc if isinstance(doc, dict) else {}
    if path is None:  # a routine given as data: the data (2 and 2.0 are one number)
        h.update(b"\0routine-data\0" + json.dumps(_plain(raw), sort_keys=True,
                                                     default=str).encode())
    else:
        h.update(b"\0routine\0" + file_identity(path))
    folder = path.parent if path is not None else Path()  # a dict's files: from here
    if folders is None:
        folders = [*([folder / "exercises"] if path is not None else []), *library_dirs()]
    seen: set[str] = set()
    todo = list(exercise_refs(raw.get("steps")))
    while todo:  # exercises may use exercises: follow them
        ex_id = todo.pop(0)
        if ex_id in seen:
            continue
        seen.add(ex_id)
        found = _exercise_file(list(folders), ex_id)
        h.update(b"\0exercise\0" + ex_id.encode() + b"\0")
        if found is not None:
            h.update(file_identity(found))
            if found.is_file():
                data = load_yaml(found, "exercise").data
                todo += exercise_refs(data.get("steps") if isinstance(data, dict) else None)
    lexicon = default_lexicon_path()  # the user's lexicon changes what is said
    if os.path.lexists(lexicon):
        h.update(b"\0lexicon\0" + file_identity(lexicon))
    bed = raw.get("bed")
    if isinstance(bed, str) and bed not in (*BEDS, "none"):
        h.update(b"\0bed\0" + file_identity(folder / bed, MAX_BED_BYTES))


def _plain(value: Any) -> Any:
    """``value`` with every whole float as an int (a routine's ``2.0`` is its ``2``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
