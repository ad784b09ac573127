"""MP3 frames of the background loop, encoded once for every stretch that is only it.

More than half of a guided track without a bed is its room tone alone, under every hold
and pause. A built-in loop is a whole number of MP3 frames long
(:func:`~voiceguide.mix.sounds.loop_samples`), so in those stretches frame ``f`` of the
mix holds exactly the samples of the loop's frame ``f mod P`` (``P`` frames a turn).
LAME encodes the loop once, two turns after a warm-up (the *reference*, 2,350 frames at
22.05 kHz: about 0.17 s of one core); a stretch of background is then a segment whose
frames are the reference's from the same place in the loop, and it joins the encoded
segments either side as any two segments join (see :mod:`voiceguide.export.lame`): the
joins fall inside the stretch, where both sides encode the same samples. Only a quiet
background is taken so (:data:`QUIETEST_DB`).

Whether a frame is background is read from the samples, never assumed: a frame counts
only where every one of its samples equals the loop's at that place (a dip, a voice's
tail or a fade makes it an ordinary frame). The reference depends only on the loop and
the encoder's settings, so the same mix gives the same bytes whatever ran before; it is
kept for the next encode in the process (a pack's worker encodes it once for all its
tracks).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voiceguide.audio import PCM
    from voiceguide.export.segmented import MixBuffer

WARM_UP: Final = 48
"""Reference frames encoded before the first one taken (the encoder settles)."""
NEAR: Final = 4
"""Frames of background a join window keeps from the stretch's ends (a frame's
transform reaches into the frames beside it)."""
KEPT: Final = 2
"""References kept in a process."""
SHORTEST: Final = 96
"""Fewest frames a turn of the loop holds for its frames to be taken. A stretch's segment
covers one turn at most, and its two join windows, the frames kept from the stretch's ends
(:data:`NEAR`) and the encoder's look-ahead take about 40 of them: a loop of fewer than 39
frames (a second at 22.05 kHz) made an encode fail (IndexError). Built-in loops hold 416
(8 kHz) to 1,250 (48 kHz)."""
QUIETEST_DB: Final = -56.0
"""Loudest background (RMS, dBFS) whose frames are taken from the reference. At a join
inside a stretch the two sides are different encoders' frames of the same samples, so
the decoded track there differs from a serial encode by about the codec's noise; under
a quiet enough background (the room tone, -64 dBFS) that is below -60 dB, under a bed at
its full level it was -42 dB (rain): such a bed's stretches are encoded as usual."""


class FrameEncoder(Protocol):
    """What the reference is encoded with (its ``repr`` names the settings)."""

    @property
    def samples_per_frame(self) -> int:
        """Samples of the mix per frame."""
        ...

    def encode_turns(self, pcm: PCM, turns: int) -> list[bytearray]:
        """The frames of ``turns`` turns of ``pcm`` from a fresh encoder, flushed."""
        ...


_loop: contextvars.ContextVar[PCM | None] = contextvars.ContextVar(
    "voiceguide_background_loop", default=None)


@contextlib.contextmanager
def background(loop: PCM | None) -> Iterator[None]:
    """Within the block, MP3 encodes started from this thread take the frames of
    stretches that are only ``loop`` (int16, one turn, as the mix holds it) from one
    encode of the loop (None: nothing is taken)."""
    token = _loop.set(loop)
    try:
        yield
    finally:
        _loop.reset(token)


_refs: OrderedDict[bytes, Future[list[bytearray]]] = OrderedDict()
_refs_lock = threading.Lock()


class LoopFrames:
    """Which frames of a mix are the background loop, and their frames from the
    reference (see the module's notes)."""

    def __init__(self, loop: npt.NDArray[np.int16], encoder: FrameEncoder) -> None:
        import numpy as np

        self.loop = np.ascontiguousarray(loop, dtype="<i2")
        self.encoder = encoder
        self.spf = encoder.samples_per_frame
        self.period = self.loop.size // self.spf
        """Frames in one turn of the loop: the most one stretch's segment may cover
        (longer stretches are cut)."""
        self.flags = np.zeros(0, dtype=bool)
        """For each frame of the mix seen so far, whether it is the loop."""
        h = hashlib.sha256(repr(encoder).encode())
        h.update(self.loop.data)
        self._key = h.digest()
        self._ref: Future[list[bytearray]] | None = None
        """The reference this encode takes its frames from, once asked for: held here
        too, as other encodes' backgrounds may push it out of the process's."""

    @staticmethod
    def current(encoder: FrameEncoder) -> LoopFrames | None:
        """The background set by :func:`background` for this encode, if it is a whole
        number of ``encoder``'s frames long."""
        return LoopFrames.of(_loop.get(), encoder)

    @staticmethod
    def of(loop: PCM | None, encoder: FrameEncoder) -> LoopFrames | None:
        """``loop``'s frames, if it is a whole number of ``encoder``'s frames long (at
        least :data:`SHORTEST`) and no louder than :data:`QUIETEST_DB`."""
        import numpy as np

        spf = encoder.samples_per_frame
        if loop is None or loop.size < SHORTEST * spf or loop.size % spf:
            return None
        power = float(np.mean(np.square(loop, dtype=np.float64))) / 32768.0**2
        if power > 10 ** (QUIETEST_DB / 10):
            return None
        return LoopFrames(loop, encoder)

    def prefetch(self) -> Future[list[bytearray]]:
        """The reference, encoded on a thread of its own unless an earlier encode in the
        process kept it (a build calls this before it solves the loudness, which keeps
        one core busy and leaves the other free). No encode's pool runs it: a pool shut
        down by a failed encode would cancel it under another that waits for it."""
        with _refs_lock:
            kept = self._kept()
            if kept is not None:
                return kept
            ref: Future[list[bytearray]] = Future()
            self._keep(ref)

        def run() -> None:
            try:
                ref.set_result(self.encoder.encode_turns(self.loop, self._turns()))
            except BaseException as e:  # handed to whoever waits for it
                ref.set_exception(e)

        threading.Thread(target=run, name="mp3-loop", daemon=True).start()
        return ref

    def scan(self, samples: MixBuffer) -> None:
        """Flag the frames that arrived in ``samples`` since the last scan (call after
        every chunk, before the samples are dropped)."""
        import numpy as np

        first, last = self.flags.size, samples.size // self.spf
        if last <= first:
            return
        x = samples.packets(first, last)
        n, spf = self.loop.size, self.spf
        out = np.empty(last - first, dtype=bool)
        pos, i = first * spf % n, 0
        while i < x.size:
            take = min(x.size - i, n - pos)
            same = x[i : i + take] == self.loop[pos : pos + take]
            out[i // spf : (i + take) // spf] = same.reshape(-1, spf).all(axis=1)
            i, pos = i + take, 0
        self.flags = np.concatenate([self.flags, out])

    def stretch_start(self, lo: int, hi: int, back: int, need: int) -> int | None:
        """The first quiet point ``q`` in ``lo..hi`` (the centre of a join window) with
        background from ``back`` frames before it to ``need`` frames after it (all
        flagged already), else None."""
        import numpy as np

        width = back + need
        a, b = max(0, lo - back), min(self.flags.size, hi + need)
        if b - a < width:
            return None
        # run[i]: frames a+i .. a+i+width-1 are all background, for a quiet point a+i+back
        run = np.convolve(self.flags[a:b].astype(np.int32), np.ones(width, np.int32),
                          "valid") == width
        first = max(0, lo - back - a)
        found = np.flatnonzero(run[first : hi - back - a + 1])
        return None if found.size == 0 else a + first + int(found[0]) + back

    def stretch_end(self, start: int, limit: int) -> int | None:
        """The first frame from ``start`` up to ``limit`` that is not background (None
        where all are, as far as they came)."""
        import numpy as np

        gaps = np.flatnonzero(~self.flags[start:limit])
        return None if gaps.size == 0 else start + int(gaps[0])

    def frames(self, first: int, count: int) -> Future[list[bytearray]]:
        """Frames ``first`` up to ``first + count`` of the mix as the reference has them
        (copies: a join rewrites the tail of frames it keeps)."""
        if count > self.period:
            raise ValueError(f"{count} frames of background: at most {self.period}")
        if self._ref is None:
            self._ref = self.prefetch()
        ref = self._ref
        at = WARM_UP + (first - WARM_UP) % self.period
        out: Future[list[bytearray]] = Future()

        def take(done: Future[list[bytearray]]) -> None:
            try:
                out.set_result([bytearray(f) for f in done.result()[at : at + count]])
            except BaseException as e:  # handed to whoever waits for it
                out.set_exception(e)

        ref.add_done_callback(take)
        return out

    def _turns(self) -> int:
        """Turns of the loop the reference encodes (the warm-up, every place in the loop,
        and the longest stretch, a turn, from the last of them)."""
        return -(-(WARM_UP + 2 * self.period + 12) // self.period)

    def _kept(self) -> Future[list[bytearray]] | None:
        """The reference kept from an earlier encode (hold the lock)."""
        ref = _refs.get(self._key)
        if ref is None or ref.cancelled() or (ref.done() and ref.exception() is not None):
            return None
        _refs.move_to_end(self._key)
        return ref

    def _keep(self, ref: Future[list[bytearray]]) -> None:
        """Keep ``ref`` for later encodes (hold the lock)."""
        _refs[self._key] = ref
        while len(_refs) > KEPT:
            _refs.popitem(last=False)
