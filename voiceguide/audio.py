"""The two sample types that flow between the stages.

Speech engines hand over :data:`PCM` (mono int16, as engines write it); beds, chimes and
the mix work in :data:`Audio` (mono float32 in [-1, 1]).
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

PCM: TypeAlias = npt.NDArray[np.int16]
"""Mono 16-bit samples."""
Audio: TypeAlias = npt.NDArray[np.float32]
"""Mono float samples in [-1, 1]."""


class Loop(Protocol):
    """A bed loop read a slice at a time (an :data:`Audio` array is one): ``size``
    samples, ``loop[a:b]`` as :data:`Audio`."""

    @property
    def size(self) -> int:
        """Samples in one turn of the loop."""
        ...

    def __getitem__(self, key: slice, /) -> Audio: ...


def to_int16(chunk: npt.NDArray[np.float32]) -> PCM:
    """Float samples in [-1, 1] to int16 (rounded, clipped)."""
    y = chunk * 32767.0
    np.round(y, out=y)
    np.clip(y, -32768, 32767, out=y)  # in place: one float copy of the chunk, not three
    return y.astype(np.int16)
