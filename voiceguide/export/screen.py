"""A fast MP3 decode in this process, to screen a track for the few places worth
decoding exactly.

ffmpeg's decode of a 60-minute MP3 costs about 6 s of CPU, most of it handing each
26 ms frame between its threads; dr_mp3 (through miniaudio) decodes the same file in
about 1 s of one core, and here in parts on all the cores an encode takes. Its samples
are not ffmpeg's to the bit (they differ by about one part in 20,000 of full scale: both
decoders are accurate, they round differently), so it only says where the track comes
near the ceiling; ffmpeg then decodes those places exactly.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from voiceguide.export.segmented import encode_threads

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voiceguide.export.frames import FrameMap

BLOCK: Final = 1 << 16
"""Samples handed to the caller at a time."""
PART_SAMPLES: Final = 1 << 20
"""Samples (about 48 s at 22.05 kHz, 4 MB of float32) in a part of the file one thread
decodes at a time; each thread decodes its own part."""
LEAD_FRAMES: Final = 4
"""Audio frames decoded before a part and dropped: dr_mp3 starting inside a file skips
the first frame or two whose bit reservoir lies before it, and the filter banks overlap
the frame before; from four frames earlier its samples are those of a decode from the
start, to the bit (checked on 60-minute tracks at hundreds of places)."""


class Misaligned(Exception):
    """A part of the file decoded to fewer samples than its frames hold: the screen
    cannot place its samples (the caller decodes the file whole)."""


def fast_mp3(src: BinaryIO, start: int, sample_rate: int, fm: FrameMap
             ) -> Iterator[npt.NDArray[np.float32]] | None:
    """The MP3 file that begins at ``start`` in ``src`` (its audio frames as ``fm``
    maps them), decoded by dr_mp3 as mono float32 chunks at ``sample_rate`` (its own
    rate: nothing is resampled), in parts decoded at once on as many threads as an
    encode takes (a 60-minute track: 1 s of one core), ahead of the caller; None when
    miniaudio is not installed. The file's pages before the part being read are let
    go as the decode goes (see :func:`_mapped`). Raises :class:`Misaligned` where a
    part cannot be placed. ``src`` is left at its end."""
    try:
        import miniaudio  # noqa: F401
    except ImportError:
        return None
    return _parts(src, start, sample_rate, fm)


def _parts(src: BinaryIO, start: int, sample_rate: int, fm: FrameMap
           ) -> Iterator[npt.NDArray[np.float32]]:
    from concurrent.futures import Future, ThreadPoolExecutor

    import miniaudio

    spf, n = fm.samples_per_frame, len(fm.offsets) - 1
    total = n * spf - fm.delay - fm.padding  # what a decode of the whole file gives
    step = max(2 * LEAD_FRAMES, PART_SAMPLES // spf)  # dr_mp3 starts on 3 frames or more
    bounds = [*range(0, n, step), n]
    workers = encode_threads()
    with _mapped(src, start) as (data, behind), ThreadPoolExecutor(workers) as pool:

        def part(j0: int, j1: int) -> list[npt.NDArray[np.float32]]:
            """Mix samples ``j0 * spf - delay`` to ``j1 * spf - delay`` (the first part
            from the file's start, the LAME tag trimming the delay; the others from
            :data:`LEAD_FRAMES` earlier, placed by where they end)."""
            a = 0 if j0 == 0 else fm.offsets[max(0, j0 - LEAD_FRAMES)] - start
            try:
                got = _decoded(data[a : fm.offsets[j1] - start], sample_rate)
            except miniaudio.MiniaudioError:
                raise Misaligned from None
            size = sum(c.size for c in got)
            lo, hi = max(0, j0 * spf - fm.delay), min(total, j1 * spf - fm.delay)
            first = 0 if j0 == 0 else j1 * spf - fm.delay - size  # mix sample of got[0]
            if first > lo or (j0 == 0 and size < hi):
                raise Misaligned
            return _cut(got, lo - first, hi - first)

        pending: list[Future[list[npt.NDArray[np.float32]]]] = []
        k = 0
        try:
            for j in range(len(bounds) - 1):
                while k < len(bounds) - 1 and len(pending) < workers + 1:
                    pending.append(pool.submit(part, bounds[k], bounds[k + 1]))
                    k += 1
                for chunk in pending.pop(0).result():
                    yield from (chunk[i : i + BLOCK] for i in range(0, chunk.size, BLOCK))
                # no part to come reads the file before its next part's lead
                behind(fm.offsets[max(0, bounds[j + 1] - LEAD_FRAMES)])
        finally:
            for job in pending:
                job.cancel()


def _decoded(data: Any, sample_rate: int) -> list[npt.NDArray[np.float32]]:
    """MP3 bytes decoded by dr_mp3 (it releases the GIL), as mono float32 blocks."""
    import miniaudio
    import numpy as np

    stream = miniaudio.stream_memory(data, miniaudio.SampleFormat.FLOAT32, 1, sample_rate,
                                     frames_to_read=BLOCK)
    return [np.frombuffer(block, dtype=np.float32) for block in stream]


def _cut(chunks: list[npt.NDArray[np.float32]], lo: int, hi: int
         ) -> list[npt.NDArray[np.float32]]:
    """Samples ``lo`` to ``hi`` of the blocks ``chunks`` (views, not copies)."""
    out, at = [], 0
    for c in chunks:
        a, b = max(lo, at), min(hi, at + c.size)
        if a < b:
            out.append(c[a - at : b - at])
        at += c.size
    return out


@contextlib.contextmanager
def _mapped(src: BinaryIO, start: int) -> Iterator[tuple[Any, Callable[[int], None]]]:
    """The bytes of ``src`` from ``start`` as a buffer, and a function that lets go of
    the buffer's pages before a given offset in ``src``. A real file is memory-mapped:
    pages let go leave this process but stay in the page cache (touched again, they come
    back, so a wrong offset costs time, never samples). Any other stream is read."""
    import mmap

    src.flush()
    whole: mmap.mmap | None = None
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        fd = src.fileno()
        if os.fstat(fd).st_size > start:
            whole = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    if whole is None:
        src.seek(start)
        data = src.read()
        src.seek(0, 2)
        yield data, lambda _: None
        return
    import miniaudio

    mapped = whole
    page = mmap.ALLOCATIONGRANULARITY

    def behind(offset: int) -> None:
        upto = min(offset, len(mapped)) // page * page
        if upto > 0 and hasattr(mmap, "MADV_DONTNEED"):  # not on Windows: pages stay
            mapped.madvise(mmap.MADV_DONTNEED, 0, upto)

    view = memoryview(whole)[start:]
    try:
        yield miniaudio.ffi.from_buffer(view), behind
    finally:
        src.seek(0, 2)
        with contextlib.suppress(BufferError):  # else freed when the decoder is
            view.release()
            whole.close()
