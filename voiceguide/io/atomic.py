"""Atomic file writes: a good old file is never clobbered by a half-written new one.

On Linux the data goes to an unnamed ``O_TMPFILE`` inode in the target folder, so a
``kill -9`` mid-write leaves nothing behind; it is linked under a temporary name and
renamed over the target only once complete and fsynced. Elsewhere a named temporary
file in the same folder is used and removed on any exception.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from voiceguide.errors import OutputError

TMP_PREFIX = ".voiceguide-tmp-"


def _fail(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{path}: the disk is full; free some space and build again")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path.parent}: the output folder is not writable; choose --out")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


def ensure_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) or raise :class:`OutputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists and is not a folder") from None
    except OSError as exc:
        raise _fail(folder / "x", exc) from None


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yields a binary file; on success it replaces ``path``."""
    folder = path.parent
    ensure_dir(folder)
    fd = -1
    named: Path | None = None
    try:
        try:
            fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o644)
        except (AttributeError, OSError):
            named = folder / f"{TMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
            fd = os.open(named, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    except OSError as exc:
        raise _fail(path, exc) from None
    f = os.fdopen(fd, "w+b")
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        if named is None:
            named = folder / f"{TMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
            proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(str(f.fileno()), named, src_dir_fd=proc, follow_symlinks=True)
            finally:
                os.close(proc)
        os.replace(named, path)
        named = None
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise _fail(path, exc) from None
    finally:
        f.close()
        if named is not None:
            with contextlib.suppress(OSError):
                named.unlink()


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_write(path) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))
