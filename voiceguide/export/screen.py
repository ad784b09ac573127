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

A first encode's screen need not decode all of it: the mix's :class:`Levels`, taken on
its way to the encoder, say where the decoded file cannot come near the ceiling (see
:func:`candidate_runs`), and only the rest is decoded (:func:`fast_frames`), a run of
frames at a time on every core.
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
LEVEL_BLOCK: Final = 256
"""Samples per block of :class:`Levels`."""
CODEC_REACH: Final = 2304
"""Samples of the mix either side of a decoded sample that the codec's output there is
taken to come from (4 MP3 frames at 22.05 kHz; its transform window spans 2)."""
CODEC_GUARD_DB: Final = 6.0
"""dB a decoded true peak is taken to stay under the bound :func:`candidate_runs` puts
on it: the largest mix sample within :data:`CODEC_REACH` times the interpolation's gain
bound. On five real tracks (five routines, rain, ocean, drone and none, 100 minutes)
no 26 ms block of the decode came within 3.8 dB of that bound without the guard; an
attack's signals passed it by up to 2.8 dB (random +-1 samples) and 5.9 dB (the sign of
a sinc cut at the codec's low-pass), so only a mix of speech and the package's own
sounds is screened so (see :func:`~voiceguide.deliver.deliver`)."""
RUN_FRAMES: Final = 1024
"""Most frames of one run :func:`candidate_runs` gives (about 27 s at 22.05 kHz: the
decode of a run is held whole)."""
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
        from _miniaudio import ffi
    except ImportError:
        return None

    def decode() -> Iterator[npt.NDArray[np.float32]]:
        # from memory, not through Python read callbacks (they cost dr_mp3 60% more
        # time than the decoding itself), but mapped rather than read where it can be:
        # a 60-minute track is 29 MB, and only the stretch being decoded is resident
        with _mapped(src, start, ffi) as (data, behind):
            done = 0
            for chunk in _dr_mp3(data, sample_rate):
                yield chunk
                done += chunk.size
                if position is not None:
                    behind(position(done) - KEEP_BEHIND)

    return _ahead(decode())


def _dr_mp3(data: Any, sample_rate: int) -> Iterator[npt.NDArray[np.float32]]:
    """The MP3 stream in ``data`` (a cffi buffer) decoded by dr_mp3, as mono float32
    chunks of at most :data:`BLOCK` samples at ``sample_rate``."""
    import numpy as np
    from _miniaudio import ffi, lib

    decoder = ffi.new("ma_decoder *")
    config = lib.ma_decoder_config_init(lib.ma_format_f32, 1, sample_rate)
    result = lib.ma_decoder_init_memory(data, len(data), ffi.addressof(config), decoder)
    if result != lib.MA_SUCCESS:  # as miniaudio's own stream says it
        raise RuntimeError(f"dr_mp3 cannot decode this MP3 (miniaudio result {result})")
    try:
        block = np.empty(BLOCK, dtype=np.float32)
        into, read = ffi.from_buffer(block), ffi.new("ma_uint64 *")
        while True:
            result = lib.ma_decoder_read_pcm_frames(decoder, into, BLOCK, read)
            if (n := int(read[0])) > 0:
                yield block[:n].copy()
            if result != lib.MA_SUCCESS or n == 0:
                break
    finally:
        lib.ma_decoder_uninit(decoder)


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


class Levels:
    """The largest magnitude of each block of :data:`LEVEL_BLOCK` samples of an int16
    stream of about ``size`` samples (a mix on its way to the encoder), fed a chunk at a
    time. Its blocks are made once, before the stream: small arrays kept from chunk to
    chunk would be scattered through the heap among the encoder's large passing ones,
    and keep it resident (a 60-minute build peaked 5 MB higher)."""

    def __init__(self, size: int) -> None:
        import numpy as np

        self._blocks = np.zeros(-(-max(0, size) // LEVEL_BLOCK), dtype=np.uint16)
        self._rest = np.zeros(LEVEL_BLOCK, dtype=np.int16)
        self._held = 0  # samples of an open block waiting in _rest
        self._done = 0  # blocks made

    def _put(self, values: npt.NDArray[np.int32]) -> None:
        import numpy as np

        end = self._done + values.size
        if end > self._blocks.size:  # a longer stream than said: room made
            self._blocks = np.concatenate([self._blocks, np.zeros(
                end - self._blocks.size, dtype=np.uint16)])
        self._blocks[self._done : end] = values
        self._done = end

    def feed(self, chunk: npt.NDArray[np.int16]) -> None:
        """Take the next samples."""
        import numpy as np

        x = np.asarray(chunk, dtype=np.int16)
        if self._held:
            take = min(x.size, LEVEL_BLOCK - self._held)
            self._rest[self._held : self._held + take] = x[:take]
            self._held += take
            x = x[take:]
            if self._held < LEVEL_BLOCK:
                return
            self._put(np.abs(self._rest.astype(np.int32)).max(keepdims=True))
            self._held = 0
        n = x.size // LEVEL_BLOCK * LEVEL_BLOCK
        if n:
            b = x[:n].reshape(-1, LEVEL_BLOCK)
            self._put(np.maximum(b.max(axis=1).astype(np.int32), -b.min(axis=1).astype(np.int32)))
        self._held = x.size - n
        self._rest[: self._held] = x[n:]

    def blocks(self) -> npt.NDArray[np.float32]:
        """Each block's largest magnitude (1.0 is full scale), the last block partial."""
        import numpy as np

        last = np.abs(self._rest[: self._held].astype(np.int32)).max(keepdims=True) \
            if self._held else np.zeros(0, np.int32)
        got = np.concatenate([self._blocks[: self._done], last]).astype(np.float32)
        got *= np.float32(1 / 32768)
        return got


def candidate_runs(levels: npt.NDArray[np.float32], bound: float, floor: float, delay: int,
                   samples_per_frame: int, frames: int, gap: int
                   ) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of the audio frames (as :class:`FrameMap` counts them:
    frame ``k`` decodes to the samples from ``k * samples_per_frame - delay`` on) that may
    decode to a true peak of ``floor`` or more: those within :data:`CODEC_REACH` of a
    block of ``levels`` whose largest sample times ``bound`` (the largest gain of the
    true-peak interpolation) and :data:`CODEC_GUARD_DB` reaches ``floor``. Runs closer
    than ``gap`` frames are one; none is longer than :data:`RUN_FRAMES`. Made from the
    edges of the stretches of such blocks (a 60-minute track has 310,000 blocks: arrays
    of them, one per step, would add megabytes at the build's peak)."""
    import numpy as np

    hot = (levels >= np.float32(floor / (bound * 10 ** (CODEC_GUARD_DB / 20)))).view(np.int8)
    edges = np.flatnonzero(np.diff(hot, prepend=np.int8(0), append=np.int8(0)))
    if not edges.size or frames <= 0:
        return []
    reach = -(-CODEC_REACH // LEVEL_BLOCK)
    spf = samples_per_frame
    runs: list[tuple[int, int]] = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):  # [a, b)
        first = max(0, (a - reach) * LEVEL_BLOCK + delay) // spf
        last = min(frames - 1, ((b + reach) * LEVEL_BLOCK - 1 + delay) // spf)
        if runs and first <= runs[-1][1] + gap:
            first = runs.pop()[0]
        runs.append((first, last))  # (the ends only grow)
    return [(k, min(b, k + RUN_FRAMES - 1)) for a, b in runs
            for k in range(a, b + 1, RUN_FRAMES)]


def fast_frames(raw: bytes, frames: int, samples_per_frame: int, sample_rate: int
                ) -> tuple[npt.NDArray[np.float32], int]:
    """``frames`` bare MP3 frames of ``samples_per_frame`` decoded by dr_mp3, as mono
    float32 at ``sample_rate`` (their own rate): ``frames * samples_per_frame`` samples
    from the first frame's first one. A frame whose bit reservoir reaches before the
    first is not decoded (dr_mp3 skips it): its samples, at the front, are zeros; those
    of every frame from the fifth on are what a decode of the whole file gives (checked
    to the bit). Raises ImportError without miniaudio."""
    import numpy as np
    from _miniaudio import ffi

    y = np.concatenate([np.zeros(0, np.float32), *_dr_mp3(ffi.from_buffer(raw), sample_rate)])
    want = frames * samples_per_frame
    if not want - 4 * samples_per_frame <= y.size <= want:
        raise RuntimeError(f"dr_mp3 decoded {y.size} samples of {frames} MP3 frames")
    return np.concatenate([np.zeros(want - y.size, np.float32), y]), sample_rate


def ffmpeg_frames(raw: bytes) -> tuple[npt.NDArray[np.float32], int]:
    """A run of bare MP3 frames decoded by ffmpeg: the samples and their rate."""
    import numpy as np

    from voiceguide.export.ffmpeg import Decoder

    with Decoder(io.BytesIO(raw), "mp3") as decoded:
        return np.concatenate([np.zeros(0, np.float32), *decoded]), decoded.rate


Decode = Callable[[int, bytes], tuple["npt.NDArray[np.float32]", int]]
"""Decode run ``k`` from its bytes: the samples (the first one that of its first frame)
and their rate."""


def decoded_runs(raw: Callable[[int], bytes], count: int, decode: Decode
                 ) -> Iterator[tuple[npt.NDArray[np.float32], int]]:
    """Runs ``0 .. count-1`` (their bytes from ``raw``, read on this thread) decoded in
    order, as many at once as there are cores (an ffmpeg costs tens of milliseconds,
    most of it starting up; dr_mp3 lets go of the GIL) and no more held: a long recheck
    can have thousands of frames to decode."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    from voiceguide.io.machine import usable_cpus

    workers = usable_cpus()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[tuple[npt.NDArray[np.float32], int]]] = deque()
        try:
            for k in range(count):
                pending.append(pool.submit(decode, k, raw(k)))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for job in pending:
                job.cancel()
