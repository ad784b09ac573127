"""A fast MP3 decode in this process, to screen a track for the few places worth
decoding exactly.

ffmpeg's decode of a 60-minute MP3 costs about 6 s of CPU, most of it handing each
26 ms frame between its threads; dr_mp3 (through miniaudio) decodes the same file in
about 2 s. Its samples are not ffmpeg's to the bit (they differ by about one part in
20,000 of full scale: both decoders are accurate, they round differently), so it only
says where the track comes near the ceiling; ffmpeg then decodes those places exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

BLOCK: Final = 1 << 16
"""Samples decoded at a time."""


def fast_mp3(src: BinaryIO, start: int, sample_rate: int
             ) -> Iterator[npt.NDArray[np.float32]] | None:
    """The MP3 file that begins at ``start`` in ``src``, decoded by dr_mp3 as mono
    float32 chunks at ``sample_rate`` (its own rate: nothing is resampled), read from
    ``src`` a block at a time; None when miniaudio is not installed."""
    try:
        import miniaudio
    except ImportError:
        return None

    class _Source(miniaudio.StreamableSource):  # type: ignore[misc]
        def read(self, num_bytes: int) -> bytes:
            data: bytes = src.read(num_bytes)
            return data

        def seek(self, offset: int, origin: miniaudio.SeekOrigin) -> bool:
            base = start if origin == miniaudio.SeekOrigin.START else src.tell()
            src.seek(base + offset)
            return True

    def chunks() -> Iterator[npt.NDArray[np.float32]]:
        import numpy as np

        src.seek(start)
        stream = miniaudio.stream_any(_Source(), miniaudio.FileFormat.MP3,
                                      miniaudio.SampleFormat.FLOAT32, 1, sample_rate,
                                      frames_to_read=BLOCK)
        for block in stream:
            yield np.frombuffer(block, dtype=np.float32)

    return chunks()
