"""Content-addressed phrase cache: synthesised, trimmed clips keyed by everything that
changes them (engine, engine version, voice, rate, text, sample rate, trim version).

Entries are WAV files written atomically (a killed build never leaves a broken entry).
Each carries a checksum of its key and samples in a chunk after the audio, so a damaged,
flipped or swapped entry is a miss and is made again. Only regular files are ever
opened: a FIFO, device or link in the cache is skipped. Builds running at the same
time take a lock per phrase bucket (``filelock``: flock on Linux and macOS, LockFileEx
on Windows); a build that waits long for one says which lock, which phrase and which
process holds it. Beyond its size limit the least recently used phrases are removed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final

from voiceguide.audio import PCM
from voiceguide.errors import EngineError, OutputError, UsageError
from voiceguide.io.atomic import atomic_write, folder_fix
from voiceguide.io.bounded import parse_json, read_regular
from voiceguide.io.paths import path_arg
from voiceguide.limits import (
    CACHE_MAX_BYTES,
    LOCK_GIVE_UP_SECONDS,
    LOCK_NOTICE_SECONDS,
    MAX_CACHE_ENTRY_BYTES,
)
from voiceguide.profile import CACHE_ENV, default_cache_dir
from voiceguide.speech.engine import VoiceInfo
from voiceguide.speech.entry import decode_entry, encode_entry

CACHE_MAX_ENV: Final = "VOICEGUIDE_CACHE_MAX_MB"
"""Environment variable that sets the cache's size limit in megabytes."""
FORMAT_VERSION: Final = "4"
"""Bumped when what is stored changes (4: entries carry a checksum)."""
EVICT_FRACTION: Final = 0.9
"""Eviction brings the cache down to this fraction of its limit."""
MAX_VOICE_LIST_BYTES: Final = 1 << 20
"""Largest stored voice list read back (espeak-ng's 140 voices take about 15 KB)."""
log = logging.getLogger("voiceguide")

if TYPE_CHECKING:
    from filelock import BaseFileLock


def default_max_bytes() -> int:
    """``$VOICEGUIDE_CACHE_MAX_MB`` in bytes, else :data:`~voiceguide.limits.CACHE_MAX_BYTES`."""
    env = os.environ.get(CACHE_MAX_ENV)
    if not env:
        return CACHE_MAX_BYTES
    try:
        mb = int(env)
        if mb < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"{CACHE_MAX_ENV} must be a whole number of megabytes, at least 1 "
                         f"(got {env!r})") from None
    return mb * 1_000_000  # megabytes as `cache info` shows them (10**6 bytes)


def phrase_key(engine: str, engine_version: str, voice: str, rate: int, text: str,
               sample_rate: int) -> str:
    """Hex digest naming one synthesised phrase."""
    blob = json.dumps([FORMAT_VERSION, engine, engine_version, voice, rate, sample_rate, text])
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class CacheInfo:
    """What the cache holds."""

    path: Path
    entries: int
    bytes: int
    limit: int = CACHE_MAX_BYTES
    """Size limit in bytes: least recently used phrases are removed beyond it."""


def _holder(lock_path: Path) -> str:
    """Who holds a lock, as far as its file says: ``process N (stopped), making "text"``."""
    try:
        info = parse_json(read_regular(lock_path, 4096) or b"{}")  # "[[[...": not a crash
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process"
    state = ""
    with contextlib.suppress(OSError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        state = {"T": " (stopped)", "t": " (stopped)", "Z": " (a zombie)"}.get(fields[0], "")
    text = str(info.get("phrase", ""))[:60]
    return f"process {pid}{state}" + (f', making "{text}"' if text else "")


_import_lock = threading.Lock()


@functools.cache
def _filelock() -> ModuleType:
    # imported here: `import voiceguide` stays light, and where fcntl is missing filelock
    # warns at import time that it falls back to a lock file, which is what we want.
    # catch_warnings swaps the process's warning filters: done once, under a lock, since
    # two threads inside it at once (a cold build speaks on several) can leave every
    # warning of the process ignored for good.
    with _import_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import filelock
    return filelock


class _Usage:
    """What this process wrote to one cache folder since it last measured the folder."""

    def __init__(self) -> None:
        self.written = 0
        self.checked = False
        self.failed = False
        """Whether a write failed (said once a process: not for every phrase)."""


_usage: dict[Path, _Usage] = {}
_usage_lock = threading.Lock()


class PhraseCache:
    """A folder of phrase clips named by content hash, with a size limit.

    The folder is measured (every entry's size, to keep to the limit) at the first write
    of the process, and again after each twentieth of the limit written. That count
    belongs to the process and folder, not to the object: a server or pack worker that
    makes a new cache object for every build measured a folder of 20,000 entries
    (0.26-0.42 s) at each build's first new phrase."""

    def __init__(self, root: Path | str | None = None, max_bytes: int | None = None, *,
                 warn: bool = True) -> None:
        folder = path_arg(root, "PhraseCache's root") if root is not None else None
        self.root = (folder or default_cache_dir()) / "phrases"
        if max_bytes is not None and (type(max_bytes) is not int or max_bytes < 1):
            # max_bytes=-1 or "x" was taken without a word (an app team's review)
            raise UsageError(f"PhraseCache's max_bytes is a whole number of bytes, at least "
                             f"1 (or None for the default), not {max_bytes!r:.40}")
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        with _usage_lock:
            self._usage = _usage.setdefault(self.root.absolute(), _Usage())
        self._warn = warn
        """Whether a failed write is warned of (a pack's caches: the run said it once)."""

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str, sample_rate: int, most: int = MAX_CACHE_ENTRY_BYTES) -> PCM | None:
        """The clip stored under ``key``, or None (also for a damaged, swapped or
        special-file entry, which is never opened, and one over ``most`` bytes)."""
        path = self._path(key)
        blob = read_regular(path, min(most, MAX_CACHE_ENTRY_BYTES))
        pcm = None if blob is None else decode_entry(key, blob, sample_rate)
        if pcm is not None:
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > 60:
                    os.utime(path)  # recently used: kept longest when the cache is trimmed
        return pcm

    def put(self, key: str, pcm: PCM, sample_rate: int) -> None:
        """Store ``pcm`` under ``key`` atomically, so a killed build never leaves a partial
        or stray file; a failure to write only loses the entry. Keeps the cache within
        its size limit."""
        blob = encode_entry(key, pcm, sample_rate)
        path = self._path(key)
        with contextlib.suppress(OSError):  # a pipe, a link or a device in an entry's place
            mode = os.lstat(path).st_mode   # (put there by someone else): the entry is made
            if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                path.unlink()
        usage = self._usage
        try:
            with folder_fix(None), atomic_write(path) as f:  # not the output's --out
                f.write(blob)
        except OutputError as exc:  # the track is right, only slower each time: said once
            with _usage_lock:  # (an attack: unwritable, full, or a file, and not a word)
                said, usage.failed = usage.failed, True
            if not said and self._warn:
                log.warning(cannot_keep(exc))
            return
        with _usage_lock:
            usage.written += len(blob)
            due = not usage.checked or usage.written > self.max_bytes // 20
            if due:  # one thread measures; the others go on
                usage.checked, usage.written = True, 0
        if due:
            self.evict()

    def _voices_path(self, engine: str, version: str) -> Path:
        name = hashlib.sha256(f"{engine}\0{version}\0{FORMAT_VERSION}".encode()).hexdigest()
        return self.root / "voices" / f"{name[:32]}.json"

    def voices(self, engine: str, version: str) -> list[VoiceInfo] | None:
        """The voice list stored for ``engine`` at ``version`` (see :meth:`put_voices`),
        or None (also for a damaged or oversized file, which is then made again)."""
        blob = read_regular(self._voices_path(engine, version), MAX_VOICE_LIST_BYTES)
        if blob is None:
            return None
        try:
            listed = parse_json(blob)
            voices = [VoiceInfo(str(v["id"]), str(v["name"]),
                                tuple(str(lang) for lang in _listed(v["languages"])),
                                None if v["gender"] is None else str(v["gender"]),
                                None if v["sample_rate"] is None else int(v["sample_rate"]))
                      for v in listed]
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
            return None  # RecursionError: nested too deep; OverflowError: int(1e400)
        return voices if voices else None

    def put_voices(self, engine: str, version: str, voices: list[VoiceInfo]) -> None:
        """Keep ``engine``'s voice list at ``version`` (for an engine whose voices come
        with its version: a build whose phrases are all cached then resolves its voice
        without starting the engine). A failure to write only loses the list."""
        data = json.dumps([{"id": v.id, "name": v.name, "languages": list(v.languages),
                            "gender": v.gender, "sample_rate": v.sample_rate}
                           for v in voices]).encode()
        if len(data) > MAX_VOICE_LIST_BYTES:
            return
        with contextlib.suppress(OutputError), \
                atomic_write(self._voices_path(engine, version)) as f:
            f.write(data)

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last use, size, path) of every regular entry file."""
        found: list[tuple[float, int, Path]] = []
        with contextlib.suppress(OSError), os.scandir(self.root) as buckets:  # (none: none)
            for bucket in buckets:
                if not bucket.is_dir(follow_symlinks=False):
                    continue
                with contextlib.suppress(OSError), os.scandir(bucket.path) as files:
                    for e in files:
                        if e.name.endswith(".wav") and e.is_file(follow_symlinks=False):
                            with contextlib.suppress(OSError):
                                st = e.stat(follow_symlinks=False)
                                found.append((st.st_mtime, st.st_size, Path(e.path)))
        return found

    def evict(self) -> int:
        """Remove least recently used entries while the cache is over its limit (down to
        :data:`EVICT_FRACTION` of it); returns how many were removed."""
        with _usage_lock:
            self._usage.checked, self._usage.written = True, 0
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return 0
        removed = 0
        for _, size, path in sorted(entries):
            if total <= self.max_bytes * EVICT_FRACTION:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
            total -= size
        return removed

    @contextlib.contextmanager
    def lock(self, key: str, phrase: str = "") -> Iterator[None]:
        """Hold a lock for ``key`` across processes (one of 256 lock files), so that builds
        running at the same time synthesise each phrase once: take it, check again, make.
        Waiting longer than a few seconds is logged (which lock, phrase and holder);
        waiting far too long is an :class:`EngineError`."""
        lock_path = self.root.parent / "locks" / f"{key[:2]}.lock"
        file_lock = _filelock().FileLock
        if file_lock.__name__ == "SoftFileLock":
            # no OS lock here (no fcntl, not Windows): a lock file that merely exists would
            # be taken as held for ever after a crash; entries are written atomically, so
            # working uncoordinated costs at most a phrase made twice
            yield
            return
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock = file_lock(str(lock_path))
        except OSError:
            yield  # a read-only cache still works, just without coordination
            return
        try:
            acquired = self._acquire(lock, lock_path, phrase)
        except OSError:
            acquired = False  # cannot lock here (read-only): work without coordination
        if not acquired:
            yield
            return
        try:
            with contextlib.suppress(OSError):  # say who holds it, for anyone waiting
                fd = os.open(lock_path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
                try:
                    note = json.dumps({"pid": os.getpid(), "phrase": phrase[:200]}).encode()
                    os.write(fd, note)
                    os.ftruncate(fd, len(note))
                finally:
                    os.close(fd)
            yield
        finally:
            lock.release()

    @staticmethod
    def _acquire(lock: BaseFileLock, lock_path: Path, phrase: str) -> bool:
        timeout = _filelock().Timeout
        started = time.monotonic()
        wait = LOCK_NOTICE_SECONDS
        while True:
            try:
                lock.acquire(timeout=wait)
                return True
            except timeout:
                waited = time.monotonic() - started
                holder = _holder(lock_path)
                if waited >= LOCK_GIVE_UP_SECONDS:
                    raise EngineError(
                        f"{lock_path}: waited {waited:.0f} s for this phrase lock, held by "
                        f"{holder}; end or resume that process (or delete the lock file if "
                        "it is gone) and build again") from None
                log.warning('waiting %.0f s for the phrase lock %s (to make "%s"), held by '
                            "%s; a stopped build holds it until it is resumed or ended",
                            waited, lock_path, phrase[:60], holder)
                wait = min(LOCK_NOTICE_SECONDS * 6, LOCK_GIVE_UP_SECONDS - waited)

    def unwritable(self) -> str | None:
        """The warning :meth:`put` gives when phrases cannot be kept in this cache (a
        folder it cannot write in, or a file), tried by writing a small file; None when
        they can (a pack says it once, not each worker: an attack saw it twice, raw)."""
        probe = self.root / ".writable"
        try:
            with folder_fix(None), atomic_write(probe) as f:
                f.write(b"1")
        except OutputError as exc:
            return cannot_keep(exc)
        with contextlib.suppress(OSError):
            probe.unlink()
        return None

    def info(self) -> CacheInfo:
        """Number of entries, bytes used and the size limit."""
        entries = self._entries()
        return CacheInfo(self.root, len(entries), sum(size for _, size, _ in entries),
                         self.max_bytes)

    def clear(self) -> int:
        """Delete every entry; returns how many there were (an :class:`OutputError` says
        how many are left where the folder's permissions keep some)."""
        n = self.info().entries
        shutil.rmtree(self.root, ignore_errors=True)
        # the lock files stay (256 empty files at most): one a build holds, removed, would
        # let the next build lock a new file of that name and make the same phrase at once
        if left := self.info().entries:
            raise OutputError(f"{self.root}: {left} cached phrase{'s' * (left != 1)} "
                              f"{'are' if left != 1 else 'is'} there still (of {n}):"
                              " a build running now writes them (clear again once it is "
                              "done), or its folders' permissions keep them")
        return n


def cannot_keep(exc: OutputError) -> str:
    """The warning for a phrase cache that cannot be written (``exc``: why)."""
    return (f"the phrase cache cannot keep phrases ({exc}); each build makes them again: "
            f"set {CACHE_ENV} to a folder it can write in")


def _listed(value: object) -> list[object]:
    """``value`` if it is a JSON list (a string would pass as its letters)."""
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value
