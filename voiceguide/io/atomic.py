"""Atomic file writes: a good old file is never clobbered by a half-written new one.

On Linux the data goes to an unnamed ``O_TMPFILE`` inode in the target folder, so a
``kill -9`` mid-write leaves nothing behind; it is linked under a temporary name and
renamed over the target only once complete and fsynced. Elsewhere a named temporary
file in the same folder is used and removed on any exception.

Inside :func:`atomic_unit`, files written with :func:`atomic_write` are committed
together when the unit ends (a track and its cue sheets): a failure while writing any of
them leaves every old file as it was. They are named in the order they were written, so
the file written last (a cue sheet that records the others' digests, see
:func:`unit_digest`) is named only once every other file is in place: a build stopped
between two renames leaves a record that does not vouch for what is there.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from voiceguide.errors import OutputError, option

TMP_PREFIX = ".voiceguide-tmp-"


class _Pending:
    """A written, fsynced file waiting for its name."""

    def __init__(self, f: BinaryIO, folder: Path, path: Path, named: Path | None) -> None:
        self.f, self.folder, self.path, self.named = f, folder, path, named
        self.keep_same = False
        """Left unnamed if the file at its path holds its bytes when the unit is named."""

    def commit(self) -> None:
        """Link (or rename) the file to its path, fsync the folder, close it."""
        try:
            if self.named is None:
                self.named = self.folder / f"{TMP_PREFIX}{secrets.token_hex(6)}-{self.path.name}"
                proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.link(str(self.f.fileno()), self.named, src_dir_fd=proc,
                            follow_symlinks=True)
                finally:
                    os.close(proc)
            os.replace(self.named, self.path)
            self.named = None
            dir_fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the file (an unnamed one vanishes) and remove a named temporary."""
        # a second error while closing (a full disk again) must not hide the first
        with contextlib.suppress(OSError):
            self.f.close()
        if self.named is not None:
            with contextlib.suppress(OSError):
                self.named.unlink()
            self.named = None


_unit: contextvars.ContextVar[list[_Pending] | None] = contextvars.ContextVar(
    "atomic_unit", default=None)


ROOMY: Final = 64 << 20
"""Free bytes beside a track that show the full disk was another (the temporary folder)."""


def temp_full() -> OutputError:
    """The error for a full disk under the temporary folder (ffmpeg's output is written
    there first; so are a build's scratch files where ``/tmp`` is not in memory)."""
    return OutputError(f"{tempfile.gettempdir()}: the disk of the temporary folder is "
                       "full; free some space there, or set TMPDIR to a folder on a "
                       "roomier disk")


_FIX: contextvars.ContextVar[str | None] = contextvars.ContextVar("voiceguide_folder_fix",
                                                                 default="")
"""The fix :func:`another` gives inside :func:`folder_fix` ("": the output folder's)."""


def another() -> str:
    """``; `` and the fix for a folder that cannot be written: choose another output
    folder (named as the caller knows it: see :func:`~voiceguide.errors.option`), or
    the fix :func:`folder_fix` gives (none where it gives None)."""
    fix = _FIX.get()
    if fix is None:
        return ""
    return f"; {fix or 'choose another folder (' + option('out_dir', flag='--out') + ')'}"


@contextlib.contextmanager
def folder_fix(fix: str | None) -> Iterator[None]:
    """Inside, a folder that cannot be written is said with ``fix`` (None: none), not
    "choose another folder (--out)": ``init`` names its PATH argument, and the phrase
    cache its own variable (both had the output option's fix cut out of the message)."""
    token = _FIX.set(fix)
    try:
        yield
    finally:
        _FIX.reset(token)


def _fail(path: Path, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        with contextlib.suppress(OSError, AttributeError):
            st = os.statvfs(path.parent)
            if st.f_bavail * st.f_frsize >= ROOMY:  # the track's disk has room
                return temp_full()
        return OutputError(f"{path}: the disk is full; free some space and build again")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path.parent}: the output folder is not writable{another()}")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


STRAY_AGE: Final = 3600.0
"""Seconds after which a temporary file of ours in an output folder is taken as left by
a killed run (a write in progress names its file for microseconds, or, where files
cannot be made unnamed, for as long as the write takes)."""


def sweep_temporaries(folder: Path, older_than: float = STRAY_AGE) -> list[Path]:
    """Remove the temporary files (``.voiceguide-tmp-*``, regular files only) that a
    killed run left in ``folder`` more than ``older_than`` seconds ago; returns them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def ensure_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) or raise :class:`OutputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file, or a link to nothing, on the
        # way: named (it said "exists", and named the folder below a dangling link)
        there = next((p for p in (folder, *folder.parents) if os.path.lexists(p)
                      and not p.is_dir()), folder)
        what = "is a link to nothing" if there.is_symlink() else "is a file, not a folder"
        raise OutputError(f"{there}: {what}{another()}") from None
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise OutputError(f"{folder}: cannot make this folder (not writable)"
                              f"{another()}") from None
        raise _fail(folder, exc) from None


@contextlib.contextmanager
def atomic_write(path: Path, *, keep_same: bool = False) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yields a binary file; on success it replaces ``path``
    (which must be a regular file, or nothing: a device, a pipe, a folder or a symbolic
    link is refused, where the rename would have put a file in its place). With
    ``keep_same``, a regular file there with exactly the bytes written is left as it was
    (its modification time too)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = None  # nothing there: made
    if mode is not None and not stat.S_ISREG(mode):
        what = ("a folder" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode)
                else "a device or a pipe")
        raise OutputError(f"{path}: is {what}, not a file a track may replace; give the "
                          "path of a file to write (or, from Python, an open stream)")
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
    pending = _Pending(os.fdopen(fd, "w+b"), folder, path, named)
    unit = _unit.get()
    try:
        yield pending.f
        pending.f.flush()
        if unit is not None:  # the unit names every file once all are written (and
            pending.keep_same = keep_same  # compares them then: another build's unit
            if not keep_same:  # may have named others in between)
                os.fsync(pending.f.fileno())
            unit.append(pending)
            return
        if keep_same and mode is not None and _same_bytes(pending.f.fileno(), path):
            pending.discard()
            return
        os.fsync(pending.f.fileno())
        pending.commit()
    except OSError as exc:
        pending.discard()
        raise _fail(path, exc) from None
    except BaseException:
        pending.discard()
        raise


def _same_bytes(fd: int, path: Path) -> bool:
    """Whether the file open at ``fd`` holds exactly the bytes of the file at ``path``."""
    try:
        with path.open("rb") as other:
            if os.fstat(fd).st_size != os.fstat(other.fileno()).st_size:
                return False
            at = 0
            while block := os.pread(fd, 1 << 20, at):
                if other.read(len(block)) != block:
                    return False
                at += len(block)
            return True
    except OSError:
        return False


def unit_file(path: Path) -> BinaryIO | None:
    """The file written to ``path`` in the current :func:`atomic_unit` and not yet named,
    or None outside a unit (the last: a split build writes its parts again for a
    true-peak dip, and the unit names them in order)."""
    return next((p.f for p in reversed(_unit.get() or []) if p.path == path), None)


def unit_digest(path: Path) -> str | None:
    """SHA-256 (hex) of the file :func:`unit_file` gives for ``path``, or None."""
    if (f := unit_file(path)) is None:
        return None
    h = hashlib.sha256()
    fd, at = f.fileno(), 0
    while block := os.pread(fd, 1 << 20, at):
        h.update(block)
        at += len(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_unit(tidy: Callable[[], Callable[[], None]] | None = None) -> Iterator[None]:
    """Write several files as one unit: each :func:`atomic_write` inside is named only
    when the unit ends without an error, in the order they were written (write last the
    file that vouches for the others); an error anywhere before the first rename leaves
    every old file in place. ``tidy``, called with the folder held just before the
    files are named, returns what to do just after, still holding it (a build removes
    what the build before it left, as the folder is then: a split build and a whole one
    at once left the whole track beside the parts, 6 runs of 6). Ctrl-C and SIGTERM
    wait while the files are named (one part way through left a mixed folder)."""
    pending: list[_Pending] = []
    token = _unit.set(pending)
    try:
        yield
    except BaseException:
        for p in pending:
            p.discard()
        raise
    finally:
        _unit.reset(token)
    for p in pending:  # a name taken by a folder fails the first rename or the last:
        if p.path.is_dir():  # check them all before any file of the unit is named
            for q in pending:
                q.discard()
            raise _fail(p.path, IsADirectoryError(errno.EISDIR, "Is a directory"))
    done = 0
    try:
        with _folder_held(pending[0].path.parent if pending else None), _stops_held():
            after = tidy() if tidy is not None else None
            for p in pending:
                if p.keep_same and _same_bytes(p.f.fileno(), p.path):
                    p.discard()
                else:
                    if p.keep_same:
                        os.fsync(p.f.fileno())  # put off until it is to be named
                    p.commit()
                done += 1
            if after is not None:
                after()
    except BaseException as exc:  # a full disk, or a Ctrl-C while the folder was held
        for rest in pending[done:]:  # by another build: nothing of ours is left
            rest.discard()
        if isinstance(exc, OSError):
            raise _fail(pending[done].path, exc) from None
        raise


@contextlib.contextmanager
def _folder_held(folder: Path | None) -> Iterator[None]:
    """Hold an advisory lock on ``folder`` (flock on the folder itself: no lock file is
    left) while a unit's files are named, so that two builds of one track name at once
    leave one build's files, not a track with the other's subtitles (an attack: 4 runs
    out of 4). Where the folder cannot be locked, the unit is named without it."""
    fd = -1
    with contextlib.suppress(OSError, ImportError):
        import fcntl

        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) \
            if folder is not None else -1
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # the lock goes with it


@contextlib.contextmanager
def _stops_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block ends, then come as they would have (only
    on the main thread, where Python runs their handlers)."""
    import signal
    import threading

    kept = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if threading.current_thread() is not threading.main_thread() or None in kept.values():
        yield
        return
    came: list[int] = []
    for s in kept:
        signal.signal(s, lambda signum, _frame: came.append(signum))
    try:
        yield
    finally:
        for s, handler in kept.items():
            signal.signal(s, handler)
        if came:
            signal.raise_signal(came[0])


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``; a regular file that already holds exactly
    ``data`` is left alone (its modification time too: a pack run that changed one
    track does not touch the others' files, and mirrors and caches see nothing new)."""
    with atomic_write(path, keep_same=True) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))
