"""What this machine lends a build: the CPUs this process may use, its memory back, and
scratch space that is not memory in disguise."""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final


def usable_cpus(cap_env: str | None = None) -> int:
    """The CPUs this process may run on: those its affinity allows, fewer where a cgroup
    CPU quota (a container's CPU limit) allows less time than that, capped by the whole
    number in environment variable ``cap_env`` when it is set (a value that is not a
    positive number is ignored)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = _own_cgroup_cpus()
    if quota is not None:
        cpus = min(cpus, quota)
    cap = os.environ.get(cap_env, "") if cap_env else ""
    if cap.isdigit() and int(cap) > 0:
        cpus = min(cpus, int(cap))
    return max(1, cpus)


@functools.cache
def _own_cgroup_cpus() -> int | None:
    return cgroup_cpus()  # read once: it is asked for at every chunk of an encode


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup"),
                membership: Path = Path("/proc/self/cgroup")) -> int | None:
    """The CPUs' worth of time this process's cgroup may use, rounded up (a container
    limited to 1.5 CPUs: 2), or None where no quota is set or none can be read.

    A pod limited to 2 CPUs on a 64-core node sees 64 CPUs in its affinity; taking them
    all would start 64 encoder threads and speech workers that the quota then throttles.
    cgroup v2 keeps ``cpu.max`` (``"max 100000"`` or ``"<quota> <period>"``) in the
    process's own group (from ``membership``) and in each group above it, any of which
    may hold the limit; v1 keeps ``cpu.cfs_quota_us`` (-1: none)
    and ``cpu.cfs_period_us`` under its cpu controller."""
    import math

    def read(path: Path, limit: int = 256) -> str | None:
        try:
            return path.read_text(encoding="ascii", errors="replace")[:limit].strip()
        except (OSError, ValueError):
            return None

    pairs: list[tuple[str, str]] = []
    groups = read(membership, 1 << 16) or ""
    for line in groups.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # v2: the unified hierarchy
            # the group's own limit and every enclosing group's: the smallest holds
            parts = [p for p in path.split("/") if p and p not in (".", "..")]
            for depth in range(len(parts), -1, -1):
                text = read(root.joinpath(*parts[:depth], "cpu.max"))
                if text:
                    quota, _, period = text.partition(" ")
                    pairs.append((quota, period))
    for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota_text, period_text = (read(root / name / "cpu.cfs_quota_us"),
                                   read(root / name / "cpu.cfs_period_us"))
        if quota_text and period_text:
            pairs.append((quota_text, period_text))
    limits = [math.ceil(int(q) / int(p)) for q, p in pairs
              if q.isascii() and q.isdigit() and p.isascii() and p.isdigit()
              and int(q) > 0 and int(p) > 0]
    return max(1, min(limits)) if limits else None


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """This process's C library where it is glibc (it has ``mallopt`` and
    ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError, TypeError):  # not glibc (Windows: no CDLL(None))
        return None
    return libc


def release_memory() -> None:
    """Hand memory this process has freed back to the system, where the C library allows
    (glibc's ``malloc_trim``; elsewhere nothing happens).

    glibc keeps freed blocks in its heap for reuse. Once a large numpy array has been
    freed it serves arrays up to that size from the heap too, so a long build's stages,
    each making and dropping arrays of many sizes, leave tens of MB of free but resident
    heap behind them that the next stage's peak adds to. Called between stages (a few
    times a build: it costs a walk of the heap, about a millisecond)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


M_TRIM_THRESHOLD: Final = -1
"""glibc ``mallopt`` parameter: free memory at the top of the heap kept before trimming."""
M_MMAP_THRESHOLD: Final = -3
"""glibc ``mallopt`` parameter: blocks this large or larger get their own ``mmap``."""
BUILD_MMAP_THRESHOLD: Final = 32 << 20
"""The mmap threshold a build runs with where the environment fixed glibc's: the ceiling
glibc's own sliding threshold reaches on 64-bit systems."""
BUILD_TRIM_THRESHOLD: Final = 64 << 20
"""The trim threshold with it (glibc keeps twice the mmap threshold when it slides)."""
DEFAULT_THRESHOLD: Final = 128 << 10
"""glibc's trim and mmap thresholds when nothing sets them."""
INT_MAX: Final = 2**31 - 1
"""The largest value ``mallopt`` takes (a C ``int``)."""
_HEAP_PARAMETERS: Final = {
    # what glibc reads at start-up: (environment variable, GLIBC_TUNABLES name)
    "trim": ("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold"),
    "mmap": ("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold"),
    "top_pad": ("MALLOC_TOP_PAD_", "glibc.malloc.top_pad"),
    "mmap_max": ("MALLOC_MMAP_MAX_", "glibc.malloc.mmap_max"),
}
"""Setting any of these stops glibc sliding its mmap and trim thresholds."""

_heap_lock = threading.Lock()
_heap_users = 0


def _start_environment(path: Path = Path("/proc/self/environ")) -> dict[str, str] | None:
    """The environment this process started with, which is what glibc read (a variable
    set later in ``os.environ``, as a Dask nanny does in the client's own process, never
    reached it); None where it cannot be read (not Linux)."""
    try:
        with path.open("rb") as f:
            raw = f.read(1 << 20)
    except OSError:
        return None
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, eq, value = item.partition(b"=")
        if eq:
            env[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def _glibc_number(text: str) -> int | None:
    """A number as glibc's ``strtoul`` with base 0 reads it (``65536``, ``0x10000``,
    ``0200000``, surrounding blanks), or None."""
    text = text.strip()
    if not text.isascii() or not text:
        return None
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return int(text, 8) if text.startswith("0") else None
    except ValueError:
        return None


def _fixed_thresholds(env: dict[str, str] | None) -> tuple[int, int] | None:
    """The (trim, mmap) thresholds glibc runs with in a process started with ``env``
    where the environment stopped them sliding; None where glibc slides them (nothing
    set), and None too where a value set cannot be read here for certain (an unreadable
    number, one past ``INT_MAX``, the two ways of setting it disagreeing): the heap is
    then left alone."""
    if env is None:
        return None
    tunables: dict[str, str] = {}
    for item in env.get("GLIBC_TUNABLES", "").split(":"):
        name, eq, value = item.partition("=")
        if eq:
            tunables[name.strip()] = value
    found: dict[str, int] = {}
    for key, (variable, tunable) in _HEAP_PARAMETERS.items():
        texts = {t for t in (env.get(variable), tunables.get(tunable)) if t is not None}
        values = {_glibc_number(t) for t in texts}
        if not texts:
            continue
        if len(values) != 1 or None in values:
            return None
        (number,) = values
        assert number is not None
        if number > INT_MAX:
            return None
        found[key] = number
    if not found:
        return None
    return found.get("trim", DEFAULT_THRESHOLD), found.get("mmap", DEFAULT_THRESHOLD)


@functools.cache
def _own_fixed_thresholds() -> tuple[int, int] | None:
    return _fixed_thresholds(_start_environment())  # the start-up environment never changes


@contextlib.contextmanager
def build_heap() -> Iterator[None]:
    """Run a build with glibc's heap thresholds at what glibc would slide them to itself,
    where the environment fixed them, and put them back after (the last of overlapping
    builds in this process does).

    A Dask worker's nanny starts it with ``MALLOC_TRIM_THRESHOLD_=65536``. Any fixed
    threshold stops glibc sliding its mmap threshold up past the sizes a program frees,
    so every array of 128 KiB or more (a build's 10-second chunks and the arrays made
    from them) is a fresh ``mmap`` whose pages the kernel zeroes and maps one fault at a
    time: a 15-minute track in a worker took 5.0-5.6 s instead of 3.3 s, with 12 to 18
    times the page faults and 8 to 12 times the system time. The build hands its freed
    memory back itself, between stages (:func:`release_memory`).

    What glibc runs with is read from the environment the process started with (the
    variables and ``GLIBC_TUNABLES``), since glibc reads nothing later. Where glibc
    slides its thresholds, where a value cannot be read for certain, or with another C
    library, this does nothing."""
    global _heap_users
    fixed = _own_fixed_thresholds()
    libc = None if fixed is None else _glibc()
    if fixed is None or libc is None:
        yield
        return
    with _heap_lock:
        _heap_users += 1
        if _heap_users == 1:
            libc.mallopt(M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, BUILD_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users -= 1
            if _heap_users == 0:
                trim, mmap = fixed
                libc.mallopt(M_MMAP_THRESHOLD, mmap)
                libc.mallopt(M_TRIM_THRESHOLD, trim)
                release_memory()


MEMORY_FILESYSTEMS: Final = frozenset({"tmpfs", "ramfs"})
"""Filesystems whose files are held in memory."""
_TEMP_ENV: Final = ("TMPDIR", "TEMP", "TMP")
_scratch: contextvars.ContextVar[Path | None] = contextvars.ContextVar("scratch", default=None)


def scratch_file() -> IO[bytes]:
    """An anonymous temporary file for a build's scratch data (the mix kept for a second
    encode, encoded segments, a copy of the track): in the folder set by
    :func:`scratch_beside`, else in the temporary folder."""
    return tempfile.TemporaryFile(dir=_scratch.get())


_reserve: contextvars.ContextVar[int] = contextvars.ContextVar("scratch_reserve", default=0)


@contextlib.contextmanager
def scratch_reserve(nbytes: int) -> Iterator[None]:
    """Keep ``nbytes`` free beside any scratch file for the duration (the track and its
    check being written on the same disk): see :func:`scratch_fits`."""
    token = _reserve.set(nbytes)
    try:
        yield
    finally:
        _reserve.reset(token)


def reserved() -> int:
    """The bytes :func:`scratch_reserve` keeps free here (0 outside it)."""
    return _reserve.get()


def scratch_fits(f: IO[bytes], nbytes: int, reserve: int | None = None) -> bool:
    """Whether ``nbytes`` more of scratch data in ``f`` leave ``reserve`` (by default
    :func:`reserved`) free on its disk: a build that keeps its mix for a re-encode on a
    nearly full disk gives the scratch up, rather than the track."""
    try:
        st = os.fstatvfs(f.fileno())
    except (AttributeError, OSError, ValueError):  # not on this system, or closed
        return True
    room = st.f_bavail * st.f_frsize
    return room - nbytes >= (reserved() if reserve is None else reserve)


def drop_scratch(f: IO[bytes]) -> None:
    """Give up a scratch file the disk could not hold: close it at once, so the space it
    took is free for the track (closing drops its unwritten buffer even when that cannot
    be flushed), and its data is not written again at the end of the build."""
    with contextlib.suppress(OSError, ValueError):
        f.close()


def scratch_write(f: IO[bytes], data: bytes | memoryview, reserve: int | None = None
                  ) -> bool:
    """Write ``data`` to scratch file ``f`` at its position, flushed, where that leaves
    the room :func:`scratch_fits` keeps; else (or when the write fails) give ``f`` up
    (:func:`drop_scratch`). Whether ``data`` was written."""
    try:
        if scratch_fits(f, memoryview(data).nbytes, reserve):
            f.write(data)
            f.flush()  # a full disk shows here, not when the build ends
            return True
    except (OSError, ValueError):
        pass
    drop_scratch(f)
    return False


@contextlib.contextmanager
def scratch_beside(folder: Path) -> Iterator[None]:
    """Keep scratch files in ``folder`` (where the track is being written) for the
    duration, when the temporary folder is held in memory and nobody chose it.

    Debian 13, Fedora and Arch mount ``/tmp`` as tmpfs: a 60-minute build's scratch
    files (its mix kept for a re-encode, about 160 MB, plus encoded segments and a copy
    of the track) would then take about 220 MB of memory that no RSS figure shows. A
    ``TMPDIR`` (or ``TEMP``, ``TMP``) that is set is taken as a choice and kept."""
    token = _scratch.set(folder if temp_in_memory() else None)
    try:
        yield
    finally:
        _scratch.reset(token)


@functools.cache
def temp_in_memory(mounts: Path = Path("/proc/mounts")) -> bool:
    """Whether the default temporary folder lies on a memory filesystem (False where
    ``TMPDIR``, ``TEMP`` or ``TMP`` is set, or where the mounts cannot be read)."""
    if any(os.environ.get(name) for name in _TEMP_ENV):
        return False
    try:
        table = mounts.read_text(encoding="utf-8", errors="replace")[: 1 << 20]
    except OSError:  # not Linux
        return False
    where = os.path.realpath(tempfile.gettempdir())
    best, kind = "", ""
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in MEMORY_FILESYSTEMS
