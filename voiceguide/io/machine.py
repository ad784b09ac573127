"""What this machine lends a build: the CPUs this process may use."""

from __future__ import annotations

import os


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
