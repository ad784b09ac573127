"""Content-addressed phrase cache: synthesised, trimmed clips keyed by everything that
changes them (engine, engine version, voice, rate, text, sample rate, trim version).

Entries are WAV files written to a temporary name in the same folder, fsynced and
renamed, so parallel builds and interrupted runs never leave a broken entry; a
damaged entry is treated as a miss and rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from platformdirs import user_cache_dir

from voiceguide.audio import PCM
from voiceguide.errors import OutputError
from voiceguide.io.atomic import atomic_write

CACHE_ENV: Final = "VOICEGUIDE_CACHE_DIR"
"""Environment variable that moves the cache (tests point it at a temporary folder)."""
FORMAT_VERSION: Final = "3"
"""Bumped when what is stored changes (e.g. the trimming rule)."""


def default_cache_dir() -> Path:
    """``$VOICEGUIDE_CACHE_DIR`` or the platform's user cache folder."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(user_cache_dir("voiceguide", appauthor=False))


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


class PhraseCache:
    """A folder of phrase clips named by content hash."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / "phrases"

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str, sample_rate: int) -> PCM | None:
        """The clip stored under ``key``, or None (also for a damaged entry)."""
        path = self._path(key)
        try:
            with wave.open(str(path), "rb") as w:
                if w.getframerate() != sample_rate or w.getsampwidth() != 2:
                    return None
                n = w.getnframes()
                data = w.readframes(n)
        except (FileNotFoundError, EOFError, wave.Error, OSError):
            return None
        if len(data) != 2 * n:
            return None
        return np.frombuffer(data, dtype="<i2").astype(np.int16)

    def put(self, key: str, pcm: PCM, sample_rate: int) -> None:
        """Store ``pcm`` under ``key`` atomically (an anonymous temporary file, fsynced, then
        linked in place), so a killed build never leaves a partial or stray file; a failure
        to write only loses the entry."""
        try:
            with atomic_write(self._path(key)) as f, wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(pcm.astype("<i2").tobytes())
        except OutputError:
            return

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold a lock for ``key`` across processes (one of 256 lock files), so that builds
        running at the same time synthesise each phrase once: take it, check again, make."""
        lock_dir = self.root.parent / "locks"
        try:
            lock_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_dir / f"{key[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield  # a read-only cache still works, just without coordination
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def info(self) -> CacheInfo:
        """Number of entries and bytes used."""
        entries = 0
        size = 0
        if self.root.is_dir():
            for p in self.root.glob("*/*.wav"):
                entries += 1
                size += p.stat().st_size
        return CacheInfo(self.root, entries, size)

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        n = self.info().entries
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.root.parent / "locks", ignore_errors=True)
        return n
