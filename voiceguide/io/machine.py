"""What this machine lends a build: the CPUs this process may use, and its memory back."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Final


def usable_cpus(cap_env: str | None = None) -> int:
    """The CPUs this process may run on, capped by the whole number in environment
    variable ``cap_env`` when it is set (a value that is not a positive number is
    ignored)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    cap = os.environ.get(cap_env, "") if cap_env else ""
    if cap.isdigit() and int(cap) > 0:
        cpus = min(cpus, int(cap))
    return max(1, cpus)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_memory() -> None:
    """Hand memory this process has freed back to the system, where the C library allows
    (glibc's ``malloc_trim``; elsewhere nothing happens).

    glibc keeps freed blocks in its heap for reuse. Once a large numpy array has been
    freed it serves arrays up to that size from the heap too, so a long build's stages,
    each making and dropping arrays of many sizes, leave tens of MB of free but resident
    heap behind them that the next stage's peak adds to. Called between stages (a few
    times a build: it costs a walk of the heap, about a millisecond)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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
_ENV_TRIM: Final = "MALLOC_TRIM_THRESHOLD_"
_ENV_MMAP: Final = "MALLOC_MMAP_THRESHOLD_"

_heap_lock = threading.Lock()
_heap_users = 0


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        mallopt: Callable[[int, int], int] = libc.mallopt
    except (OSError, AttributeError):
        return None
    return mallopt


def _fixed_thresholds() -> tuple[int, int] | None:
    """The (trim, mmap) thresholds the environment fixed for glibc, or None when it left
    them to slide (or set them in a form not read here)."""
    trim, mmap = os.environ.get(_ENV_TRIM, ""), os.environ.get(_ENV_MMAP, "")
    if not trim.isdigit() and not mmap.isdigit():
        return None
    return (int(trim) if trim.isdigit() else DEFAULT_THRESHOLD,
            int(mmap) if mmap.isdigit() else DEFAULT_THRESHOLD)


@contextlib.contextmanager
def build_heap() -> Iterator[None]:
    """Run a build with glibc's heap thresholds at what glibc would slide them to itself,
    where the environment fixed them, and put them back after (the last of overlapping
    builds in this process does).

    A Dask worker's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536``. Any fixed threshold stops
    glibc sliding its mmap threshold up past the sizes a program frees, so every array of
    128 KiB or more (a build's 10-second chunks and the arrays made from them) is a fresh
    ``mmap`` whose pages the kernel zeroes and maps one fault at a time: a 15-minute track
    in a worker took 5.0-5.6 s instead of 3.3 s, with 12 times the page faults and ten
    times the system time. The build hands its freed memory back itself, between stages
    (:func:`release_memory`). Elsewhere (glibc left to slide, another C library) this
    does nothing."""
    global _heap_users
    fixed = _fixed_thresholds()
    mallopt = _mallopt()
    if fixed is None or mallopt is None:
        yield
        return
    with _heap_lock:
        _heap_users += 1
        if _heap_users == 1:
            mallopt(M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD)
            mallopt(M_TRIM_THRESHOLD, BUILD_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users -= 1
            if _heap_users == 0:
                trim, mmap = fixed
                mallopt(M_MMAP_THRESHOLD, mmap)
                mallopt(M_TRIM_THRESHOLD, trim)
                release_memory()
