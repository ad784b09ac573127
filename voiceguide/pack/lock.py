"""One pack run at a time in a pack's folder.

Two packs sent to the same ``--out`` at once each wrote their own tracks, manifest and
zip over the other's: the folder's ``pack.json`` named one pack while another pack's
tracks lay beside it, unlisted, and a zip the second run reported had gone (an attack).
A run now holds a lock file in the folder (``filelock``: flock on Linux and macOS,
LockFileEx on Windows) from its first write to its last; a second run waits for it,
and says so (a warning on the library's log, which the CLI shows with --quiet and
--json too: a run that waits in silence looks hung). The shards of one pack
(``--shard``) write their own manifests and run at once by design: each holds a lock of
its own, so the same shard started twice (a retry while the first still runs) waits
rather than writing its tracks and journal twice at once, and a whole run waits for the
shards running (and they for it).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import OutputError, UsageError

LOCK_NAME: Final = ".voiceguide-pack.lock"
"""The lock file in a pack's folder (a dotfile: never served, zipped or listed)."""
SHARD_LOCK: Final = re.compile(r"\.voiceguide-pack\.shard-(\d+)-of-(\d+)\.lock")
"""A shard's lock file (see :func:`lock_name`)."""
log = logging.getLogger("voiceguide")


def lock_name(shard: tuple[int, int] | None = None) -> str:
    """The lock file of a whole pack run (:data:`LOCK_NAME`) or of one ``shard``."""
    return LOCK_NAME if shard is None else f".voiceguide-pack.shard-{shard[0]}-of-{shard[1]}.lock"


@contextlib.contextmanager
def one_run_at_a_time(folder: Path | None, shard: tuple[int, int] | None = None
                      ) -> Iterator[None]:
    """Hold ``folder``'s pack lock (``shard``: that shard's) while inside (None: a remote
    run, no lock); when another run holds it, say so (a log warning) and wait for it.

    A shard and a whole run started at once built the same tracks twice. A whole run,
    holding the folder's lock, waits for each shard holding its own; a shard, holding
    its own, goes on only once the folder's lock is free at a moment (taken and let go),
    and else lets its own go and waits for the whole run, so neither waits for the other
    while holding what the other waits for."""
    if folder is None:
        yield
        return
    if shard is None:
        whole = _take(folder / LOCK_NAME)
        try:
            for name in sorted(n for n in os.listdir(folder) if SHARD_LOCK.fullmatch(n)):
                _take(folder / name).release()  # a shard running now: built by then
            yield
        finally:
            whole.release()
        return
    while True:
        own = _take(folder / lock_name(shard))
        # another shard tests the folder's lock a moment too: waited for without a word
        if _free(folder / LOCK_NAME, patience=2.0):
            break
        own.release()
        _take(folder / LOCK_NAME).release()  # a whole run: said, and waited for
    try:
        yield
    finally:
        own.release()


def _free(path: Path, patience: float) -> bool:
    """Whether the lock ``path`` could be taken within ``patience`` seconds (it is let go
    at once)."""
    from filelock import FileLock, Timeout

    lock = FileLock(path)
    try:
        lock.acquire(timeout=patience)
    except (Timeout, OSError):  # an OSError is said when it is taken (see _take)
        return False
    lock.release()
    return True


def _take(path: Path) -> Any:
    """The lock ``path`` (a ``filelock.FileLock``), taken: waited for with a warning
    where another run holds it."""
    from filelock import FileLock, Timeout

    lock = FileLock(path)
    folder = path.parent
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:  # held, or never made: filelock waits alike (--out /proc/self hung)
            if not os.path.lexists(path):  # the OSError that stopped it, said below
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644))
            shard = SHARD_LOCK.fullmatch(path.name)
            log.warning("waiting for another pack run that is writing to %s%s ...", folder,
                        f" (shard {shard[1]} of {shard[2]})" if shard else "")
            lock.acquire()
    except OSError as exc:  # a folder or a link put there (an attack): not a lock file
        # a read-only folder (an attack: told to remove a lock file a run had made)
        writable = exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM)
        fix = ("remove it if it is not a file a pack run made" if os.path.lexists(path)
               and writable else "choose an output folder files can be written in")
        raise OutputError(f"{path}: cannot take the pack folder's lock ({exc.strerror or exc})"
                          f"; {fix}") from None
    except RuntimeError:  # filelock: this thread holds it already
        raise UsageError(f"{folder}: a pack is being written there by this same process; "
                         "wait for it to finish") from None
    return lock
