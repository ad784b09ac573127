"""A fast MP3 decode in this process, to screen a track for the few places worth
decoding exactly.

ffmpeg's decode of a 60-minute MP3 costs about 6 s of CPU, most of it handing each
26 ms frame between its threads; dr_mp3 (miniaudio's C library) decodes the same file in
about 2 s. It is called through the package's compiled binding, ``_miniaudio``: the
package's Python module imports ``urllib.request`` for internet radio, which loads ssl
and OpenSSL's TLS library (a few MB resident, in builds whose peak is held under
150 MB) for streams a decode from memory never opens. Its samples are not ffmpeg's to
the bit (they differ by about one part in 20,000 of full scale: both decoders are
accurate, they round differently), so it only says where the track comes near the
ceiling; ffmpeg then decodes those places exactly.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Final

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

BLOCK: Final = 1 << 16
"""Samples decoded at a time."""
AHEAD: Final = 4
"""Blocks decoded ahead of the caller."""
KEEP_BEHIND: Final = 1 << 18
"""Bytes of the mapped file kept resident behind the frame being decoded (the decoder
reads ahead of it, never this far behind)."""


def fast_mp3(src: BinaryIO, start: int, sample_rate: int,
             position: Callable[[int], int] | None = None
             ) -> Iterator[npt.NDArray[np.float32]] | None:
    """The MP3 file that begins at ``start`` in ``src``, decoded by dr_mp3 as mono
    float32 chunks at ``sample_rate`` (its own rate: nothing is resampled), a thread
    ahead of the caller; None when miniaudio is not installed. ``position``: the offset
    in ``src`` of the frame that holds a given decoded sample, if known; the file's pages
    before it are let go as the decode goes (see :func:`_mapped`). ``src`` is left at
    its end."""
    try:
        from _miniaudio import ffi, lib
    except ImportError:
        return None

    def decode() -> Iterator[npt.NDArray[np.float32]]:
        import numpy as np

        # from memory, not through Python read callbacks (they cost dr_mp3 60% more
        # time than the decoding itself), but mapped rather than read where it can be:
        # a 60-minute track is 29 MB, and only the stretch being decoded is resident
        with _mapped(src, start, ffi) as (data, behind):
            decoder = ffi.new("ma_decoder *")
            config = lib.ma_decoder_config_init(lib.ma_format_f32, 1, sample_rate)
            result = lib.ma_decoder_init_memory(data, len(data), ffi.addressof(config),
                                                decoder)
            if result != lib.MA_SUCCESS:  # as miniaudio's own stream says it
                raise RuntimeError(f"dr_mp3 cannot decode this MP3 (miniaudio result {result})")
            try:
                block = np.empty(BLOCK, dtype=np.float32)
                into, read = ffi.from_buffer(block), ffi.new("ma_uint64 *")
                done = 0
                while True:
                    result = lib.ma_decoder_read_pcm_frames(decoder, into, BLOCK, read)
                    if (n := int(read[0])) > 0:
                        yield block[:n].copy()
                        done += n
                        if position is not None:
                            behind(position(done) - KEEP_BEHIND)
                    if result != lib.MA_SUCCESS or n == 0:
                        break
            finally:
                lib.ma_decoder_uninit(decoder)

    return _ahead(decode())


@contextlib.contextmanager
def _mapped(src: BinaryIO, start: int, ffi: Any
            ) -> Iterator[tuple[Any, Callable[[int], None]]]:
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
    mapped = whole
    page = mmap.ALLOCATIONGRANULARITY

    def behind(offset: int) -> None:
        upto = min(offset, len(mapped)) // page * page
        if upto > 0 and hasattr(mmap, "MADV_DONTNEED"):  # not on Windows: pages stay
            mapped.madvise(mmap.MADV_DONTNEED, 0, upto)

    view = memoryview(whole)[start:]
    try:
        yield ffi.from_buffer(view), behind
    finally:
        # (a Ctrl-C closes the file before the decode is let go: an attack saw a
        # traceback of "seek of closed file" under "Error: interrupted")
        with contextlib.suppress(ValueError, OSError):
            src.seek(0, 2)
        with contextlib.suppress(BufferError):  # else freed when the decoder is
            view.release()
            whole.close()


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
