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
AHEAD: Final = 4
"""Blocks decoded ahead of the caller."""


def fast_mp3(src: BinaryIO, start: int, sample_rate: int
             ) -> Iterator[npt.NDArray[np.float32]] | None:
    """The MP3 file that begins at ``start`` in ``src``, decoded by dr_mp3 as mono
    float32 chunks at ``sample_rate`` (its own rate: nothing is resampled), a thread
    ahead of the caller; None when miniaudio is not installed. The file is read into
    memory (0.5 MB a minute at 64 kbit/s) and ``src`` is left at its end."""
    try:
        import miniaudio
    except ImportError:
        return None

    def decode() -> Iterator[npt.NDArray[np.float32]]:
        import numpy as np

        # in memory (a 60-minute track is 29 MB): reading through Python callbacks
        # costs dr_mp3 60% more time than the decoding itself
        src.seek(start)
        data = src.read()
        src.seek(0, 2)
        stream = miniaudio.stream_memory(data, miniaudio.SampleFormat.FLOAT32, 1,
                                         sample_rate, frames_to_read=BLOCK)
        for block in stream:
            yield np.frombuffer(block, dtype=np.float32)

    return _ahead(decode())


def _ahead(chunks: Iterator[npt.NDArray[np.float32]]) -> Iterator[npt.NDArray[np.float32]]:
    """``chunks`` made by a thread :data:`AHEAD` blocks ahead of the caller (the decoder
    releases the GIL: it decodes while the caller works on what came before). The
    thread has ended when the iteration ends, however it ends."""
    import queue
    import threading

    out: queue.Queue[tuple[npt.NDArray[np.float32] | None, BaseException | None]] = \
        queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def send(item: tuple[npt.NDArray[np.float32] | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the caller has gone

    def pump() -> None:
        try:
            for chunk in chunks:
                if not send((chunk, None)):
                    return
            send((None, None))
        except BaseException as e:  # handed to the caller
            send((None, e))

    thread = threading.Thread(target=pump, name="mp3-screen", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = out.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        thread.join()
