"""What a process keeps of the clips it has mixed, by their samples: a pack's worker
builds track after track of mostly the same phrases, and works out each clip's loudness
data and true-peak envelope once. What is kept is what working it out again gives, so
no output depends on what a memo held."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")


def clip_digest(pcm: npt.NDArray[np.int16], sample_rate: int) -> bytes:
    """A clip's identity: a hash of its samples and their rate."""
    return hashlib.blake2b(np.ascontiguousarray(pcm).tobytes(), digest_size=16,
                           person=b"%d" % sample_rate).digest()


class ClipMemo(Generic[T]):
    """Values by clip digest, the most recently used kept within ``limit`` bytes (0:
    nothing is kept). Safe to use from several threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        """The most bytes kept; the least recently used go first."""
        self._values: OrderedDict[bytes, tuple[T, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> T | None:
        """The value kept for ``digest`` (now the most recent), or None."""
        with self._lock:
            kept = self._values.get(digest)
            if kept is None:
                return None
            self._values.move_to_end(digest)
            return kept[0]

    def put(self, digest: bytes, value: T, size: int) -> None:
        """Keep ``value`` (``size`` bytes) for ``digest``, forgetting the least recently
        used over the limit; a value larger than the limit is not kept."""
        with self._lock:
            if size > self.limit or digest in self._values:
                return
            self._values[digest] = (value, size)
            self._held += size
            while self._held > self.limit:
                self._held -= self._values.popitem(last=False)[1][1]

    @property
    def held(self) -> int:
        """Bytes kept."""
        return self._held

    def keys(self) -> list[bytes]:
        """The digests kept, the least recently used first."""
        with self._lock:
            return list(self._values)
