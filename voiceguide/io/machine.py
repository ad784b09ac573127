"""What this machine lends a build: the CPUs this process may use, and its memory back."""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable


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
