"""Bounded reads of untrusted files: only regular files, never more than a limit.

``Path.read_bytes()`` on ``/dev/zero`` grows memory until the process is killed, and on
a FIFO it waits forever for a writer. :func:`read_bounded` opens without blocking,
refuses anything that is not a regular file (FIFO, device, socket, folder) before
reading a byte, and reads at most ``limit + 1`` bytes, so a file that grows while it is
read is caught too.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import stat
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import InvalidInputError, VoiceguideError, suggest

YAML_SUFFIXES: Final = (".yaml", ".yml")  # what a routine, pack or profile file ends in
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(
    os, "O_BINARY", 0
)


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file, read in blocks (memory stays bounded); raises OSError."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def open_beneath(root: Path, relative: Path) -> int:
    """A read-only, non-blocking descriptor of ``root / relative``, opened one name at a
    time from ``root`` and following no link on the way (``openat`` with
    ``O_NOFOLLOW``): a folder swapped for a link after the path was checked (a race
    anyone who can write under ``root`` can run) is FileNotFoundError, not a file
    outside. Where descriptors of folders cannot be used (Windows), a plain open."""
    flags = _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)
    if os.open not in os.supports_dir_fd:  # pragma: no cover - Windows
        return os.open(root / relative, flags)
    *folders, name = relative.parts
    at = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in folders:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                dir_fd=at)
            except OSError as exc:  # a link (ELOOP), not a folder, or gone
                raise FileNotFoundError(root / relative) from exc
            os.close(at)
            at = inner
        try:
            return os.open(name, flags, dir_fd=at)
        except OSError as exc:
            raise FileNotFoundError(root / relative) from exc
    finally:
        os.close(at)


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_regular(path: Path, mode: int, what: str) -> str:
    """The message for a ``path`` that is not a regular file."""
    if stat.S_ISDIR(mode):
        return f"{path}: is a folder, not a {what} file"
    return f"{path}: is {kind_of(mode)}, not a {what} file; give a regular file"


def near_names(path: Path) -> str:
    """A "did you mean" for a file not found: a name of its kind in its folder that is
    close to it (of the first 500 there; nothing if the folder cannot be read). A name
    without a suffix is matched with the YAML files too: routines go by name, so
    `pack clients` was typed for clients.yaml; and .yml with .yaml."""
    suffixes = {path.suffix} if path.suffix else {"", *YAML_SUFFIXES}
    if path.suffix in YAML_SUFFIXES:  # hip-melt.yml for hip-melt.yaml (a coach's review)
        suffixes = set(YAML_SUFFIXES)
    try:
        there = list(itertools.islice(path.parent.iterdir(), 500))
    except OSError:
        return ""
    names = {p.stem: p.name for p in there if p.suffix in suffixes and p.name != path.name
             and (p.exists() or not p.is_symlink())}  # not another link to nothing
    hint = suggest(path.stem, names)  # by stem: '.wav' made 'gone' look like 'rain'
    if not hint:  # the name alone, of a file one folder down: beds/waves.wav
        below = next((p / path.name for p in there[:100] if path.suffix
                      and (p / path.name).is_file()), None)
        return f" (did you mean '{below}'?)" if below is not None else ""
    # the path as given with the name it meant (a coach's 'beds/Waves.wav' was told
    # 'waves.wav', and wrote that)
    return re.sub(r"'([^']*)'", lambda m: f"'{path.with_name(names.get(m.group(1), m.group(1)))}'",
                  hint)


def missing(path: Path, what: str) -> str:
    """The message for a ``what`` file not found at ``path``: a link to nothing is said to
    be one (it "meant" itself, or another name: an attack), else the names near it."""
    if path.is_symlink():
        return f"{path}: a link to nothing ({os.readlink(path)}); link it to the {what} " \
               "file, or remove it"
    return f"{path}: no such {what} file{near_names(path)}"


def _unreadable(path: Path, what: str, exc: OSError) -> str:
    """The message for an ``exc`` met opening or reading ``path``."""
    if isinstance(exc, FileNotFoundError):
        return missing(path, what)
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not a {what} file"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied reading the {what} file"
    return f"{path}: cannot read the {what} file ({exc.strerror})"


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes from ``fd`` (one more than allowed tells "too long")."""
    chunks: list[bytes] = []
    got = 0
    while got <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def regular_size(path: Path, what: str,
                 error: type[VoiceguideError] = InvalidInputError) -> int:
    """The size of ``path`` if it is a regular file (symlinks followed), else ``error``."""
    try:
        st = path.stat()
    except OSError as exc:
        raise error(_unreadable(path, what, exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise error(not_regular(path, st.st_mode, what))
    return st.st_size


def read_bounded(path: Path, what: str, limit: int,
                 error: type[VoiceguideError] = InvalidInputError) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them, or ``error`` saying
    why not (missing, not a regular file, too large, unreadable)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise error(_unreadable(path, what, exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(not_regular(path, st.st_mode, what))
        if st.st_size > limit:
            raise error(f"{path}: {what} file is {st.st_size} bytes, more than the "
                        f"{limit} allowed")
        data = read_at_most(fd, limit)
        if len(data) > limit:
            raise error(f"{path}: {what} file is more than the {limit} bytes allowed")
        return data
    except OSError as exc:
        raise error(_unreadable(path, what, exc)) from None
    finally:
        os.close(fd)


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` for a file that may have been tampered with: a document nested
    more than :data:`JSON_DEPTH` levels (``[[[[...``) raises ValueError, as any other
    broken JSON does, not RecursionError (here or in what later walks it); so does a
    number that is not finite (``Infinity``, ``NaN``, ``1e999``), which we never write
    and which a page's ``JSON.parse`` refuses."""
    import json

    try:
        value = json.loads(data, parse_constant=_not_finite, parse_float=_finite)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    _shallow(value)
    return value


JSON_DEPTH: Final = 32
"""Deepest nesting of lists and objects a JSON file we read may have (we write at most
six levels): a cue sheet nested 975 deep parsed, and writing it into a player page ran
out of stack (an attack)."""


def _shallow(value: Any) -> None:
    """Raise ValueError where ``value`` nests deeper than :data:`JSON_DEPTH` (walked
    without recursion)."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    for _ in range(JSON_DEPTH):  # level: the lists and objects at one depth
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x)
                 if isinstance(v, dict | list)]
        if not level:
            return
    raise ValueError(f"JSON nested more than {JSON_DEPTH} levels deep")


def _not_finite(text: str) -> float:
    raise ValueError(f"a number that is not finite ({text})")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"a number that is not finite ({text[:20]})")
    return value


_READ_REGULAR: Final = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                        | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))


def read_regular(path: Path, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of ``path`` if it is a regular file (not a link, FIFO or
    device: those are never opened), else None."""
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        fd = os.open(path, _READ_REGULAR)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = read_at_most(fd, limit)
            return data if len(data) <= limit else None
        finally:
            os.close(fd)
    except OSError:
        return None
