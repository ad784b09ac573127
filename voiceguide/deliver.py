"""Deliver a mix: master it, encode it, decode what was written and correct the codec.

A lossy codec overshoots: the decoded file can peak higher than the mix it was given.
The mix is mastered with the overshoot measured on an excerpt, but a long track meets
more peaks than an excerpt holds, so the written file is decoded and its true peak
measured. Where it is over the ceiling, the track is not mixed again at a lower level
(that moves every peak and the loudness with them): the mix of the first encode, kept
in a temporary file, is encoded again with the level dipped by the excess, for a few
tens of milliseconds around each place that was over. A codec's output scales with its
input over a frame, so the dips bring those places under the ceiling, and the rest of
the track, its loudness and its cue times stay as they were.

Where the file is decoded whole for its peak (a format other than a single MP3 file:
Opus, AAC, or parts), its loudness is measured too. Off the target by more than
:data:`~voiceguide.mix.mastering.HEARD_TOLERANCE`, the track is mixed again at the
level the loudness model now predicts from the decode, hop by hop (at most
:data:`RETUNES` times): a codec can change the bed more than the voice, and the excerpt
it was tried on does not always tell how that moves the loudness of the whole.

The written file is measured by :mod:`voiceguide.verify`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Protocol

import numpy as np
import numpy.typing as npt

from voiceguide.audio import PCM
from voiceguide.errors import OutputError, option
from voiceguide.export.ffmpeg import Decoder, roundtrip
from voiceguide.export.formats import Format
from voiceguide.export.loopframes import background
from voiceguide.export.screen import Levels
from voiceguide.export.segmented import SegmentCache, le16, reusing_segments
from voiceguide.io.machine import (
    build_heap,
    release_memory,
    scratch_file,
    scratch_reserve,
    scratch_write,
)
from voiceguide.mix.master import db, to_db
from voiceguide.mix.mastering import PEAK_MARGIN, Mastering
from voiceguide.mix.mixer import CEILING_DB, CHUNK_SECONDS, Mixer
from voiceguide.verify import Checked, Files, checked, decoded

log = logging.getLogger(__name__)

CHECKS: Final = 3
"""Most encodes of a track before its decoded true peak is under the ceiling, unless
each of :data:`MORE_CHECKS` more brings the peak down (dips converging)."""
MORE_CHECKS: Final = 3
"""Further encodes allowed while each lowers the decoded true peak by at least
:data:`CONVERGING_DB` (an Opus track over a loud bed: +0.07, -0.60, -0.97 dBTP, and
the ceiling at -1.15)."""
CONVERGING_DB: Final = 0.05
"""dB by which a check's decoded true peak must be under the one before to count as
converging."""
RETUNES: Final = 2
"""Most times a track whose decoded loudness missed its target is mixed again."""
DIP_HOLD: Final = 0.06
"""Seconds either side of a place that was over during which the level is dipped in
full (an MP3 frame and its window overlap reach about 52 ms at 22.05 kHz)."""
DIP_RAMP: Final = 0.03
"""Seconds over which a dip fades in and out (a raised cosine: no audible step)."""

TRIM_EVERY: Final = 12
"""Chunks (2 minutes of audio) between hand-backs of freed memory while a track is mixed
and encoded: each chunk makes and drops arrays of many sizes, and glibc would keep the
free blocks resident (see :func:`~voiceguide.io.machine.release_memory`)."""
SCRATCH_MARGIN: Final = 8 << 20
"""Bytes kept free beyond the track's room where scratch files share its disk."""

PLUGIN_SHORT: Final = 0.01
"""Seconds a plugin format's file may decode shorter than the track (rounding)."""
PLUGIN_LONG: Final = 1.0
"""Seconds each of its files may decode longer (a codec's priming and padding, where it
does not say them)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages: speech, loudness, encode."""


class Chunks(Protocol):
    """The mix as int16 chunks, with the seconds spent making them."""

    @property
    def seconds(self) -> float:
        """Seconds spent making the chunks so far."""
        ...

    def __iter__(self) -> Iterator[PCM]: ...


Write = Callable[[Chunks], Files]
"""Encode the chunks into the track's file(s); return what was written."""


@dataclass(frozen=True)
class Dip:
    """A stretch of the mix whose level goes down for the next encode."""

    start: int
    """First sample that was over (mix samples)."""
    end: int
    """Last sample that was over."""
    gain: float
    """Linear gain at the bottom of the dip."""


class _Recorded:
    """A mix stream passed through while a copy goes to ``store`` (dropped if the disk
    cannot hold it: the track is then mixed again instead)."""

    def __init__(self, stream: Chunks, store: IO[bytes] | None, size: int | None) -> None:
        self.stream, self.store = stream, store
        self.levels = None if size is None else Levels(size)
        """The levels of what has passed, if asked for (``size``: the samples coming):
        the screen of its encode decodes only the places they say can come near the
        ceiling."""

    @property
    def seconds(self) -> float:
        return self.stream.seconds

    def __iter__(self) -> Iterator[PCM]:
        for i, chunk in enumerate(self.stream, 1):
            if i % TRIM_EVERY == 0:
                release_memory()
            if self.store is not None and not scratch_write(self.store, le16(chunk).data):
                self.store = None  # its space went back to the track
            if self.levels is not None:
                self.levels.feed(chunk)
            yield chunk


def _stored(store: IO[bytes], sample_rate: int) -> Iterator[npt.NDArray[np.int16]]:
    """The mix a :class:`_Recorded` kept in ``store``, chunk by chunk."""
    store.seek(0)
    while raw := store.read(int(CHUNK_SECONDS * sample_rate) * 2):
        yield np.frombuffer(raw, dtype="<i2")


class _Replay:
    """A mix again, with ``dips`` applied, chunk by chunk: the one kept on disk (see
    :func:`_stored`), or where the disk could not keep it, the mix made again, the same
    samples (the track's bytes do not depend on the room on the disk)."""

    def __init__(self, source: Iterable[PCM], dips: list[Dip], sample_rate: int,
                 total: int, progress: Progress | None) -> None:
        self.source, self.dips, self.sr, self.total = source, dips, sample_rate, total
        self.progress = progress
        self.seconds = 0.0

    def __iter__(self) -> Iterator[PCM]:
        count = max(1, -(-self.total // int(CHUNK_SECONDS * self.sr)))
        source = iter(self.source)
        pos = 0
        done = 0
        while True:  # as many chunks as come (a mix made again ends with its limiter's tail)
            t = time.perf_counter()
            got = next(source, None)
            if got is None:
                return
            x = np.asarray(got, dtype=np.int16)
            done = min(count, done + 1)
            gain = dip_gain(self.dips, pos, x.size, self.sr)
            if gain is None:
                chunk = x.astype(np.int16)
            else:  # in place: one float64 copy of the chunk, not three
                gain *= x
                chunk = np.round(gain, out=gain).clip(-32768, 32767, out=gain).astype(np.int16)
            if done % TRIM_EVERY == 0:
                release_memory()
            pos += x.size
            self.seconds += time.perf_counter() - t
            if self.progress:
                self.progress("encode", done, count)
            yield chunk


def dip_gain(dips: list[Dip], start: int, n: int, sample_rate: int
             ) -> np.ndarray | None:
    """The gain of ``dips`` over samples ``start`` to ``start + n`` (None: all 1)."""
    hold, ramp = int(DIP_HOLD * sample_rate), max(1, int(DIP_RAMP * sample_rate))
    gain: np.ndarray | None = None
    for d in dips:
        a, b = d.start - hold - ramp, d.end + hold + ramp
        if b <= start or a >= start + n:
            continue
        if gain is None:
            gain = np.ones(n)
        lo, hi = max(a, start), min(b, start + n)  # the dip's samples in this stretch
        t = np.arange(lo, hi, dtype=np.float64)
        # 0 outside, 1 over the held stretch, a raised cosine between
        edge = np.minimum(t - a, b - t) / ramp
        shape = np.where(edge >= 1, 1.0, 0.5 - 0.5 * np.cos(np.pi * np.clip(edge, 0, 1)))
        gain[lo - start : hi - start] *= 1.0 - (1.0 - d.gain) * shape
    return gain


def _written(fmt: Format, write: Write, stream: Chunks, total: int, sr: int) -> Files:
    """``write(stream)``; for a plugin's format, files that do not hold the track's
    length (a lossy codec's padding aside, :data:`PLUGIN_LONG` a file) are an error naming
    the plugin, and those files are removed (a plugin review: a file of the first 10 s of
    a 4:47 track was "Wrote ..." and then "up to date"). A lossless format ffmpeg cannot
    read (raw samples, or garbage) is said in a warning, its length unchecked; a lossy
    one must be read (its loudness is measured so)."""
    files = write(stream)  # its own exceptions are said by Format.write_checked
    if fmt.plugin is None:
        return files
    heard = 0.0
    try:
        for src, start in files:
            if not isinstance(src, Path):
                src.seek(start)
            with Decoder(src) as decoding:
                heard += sum(chunk.size for chunk in decoding) / decoding.rate
            if not isinstance(src, Path):
                src.seek(0, 2)
        if not total / sr - PLUGIN_SHORT <= heard <= total / sr + PLUGIN_LONG * len(files):
            raise OutputError(str(fmt.blame(f"wrote {heard:.2f} s of audio for a track of "
                                            f"{total / sr:.2f} s")))
    except OutputError as exc:
        unread = str(exc).startswith("ffmpeg could not decode")
        if unread and not fmt.lossy:
            for src, _ in files:
                if not isinstance(src, Path):
                    src.seek(0, 2)
            log.warning("%s", fmt.blame(f"wrote a file ffmpeg cannot read, so its length "
                                        f"went unchecked ({exc}); unless that is meant (raw "
                                        "samples, a format of its own)"))
            return files
        for src, _ in files:  # split parts are each in place: the bad ones go
            if isinstance(src, Path):
                src.unlink(missing_ok=True)
        if not unread:
            raise
        raise OutputError(str(fmt.blame(f"wrote a file that cannot be played: {exc}"))
                          ) from exc
    return files


def deliver(mixer: Mixer, fmt: Format, write: Write, progress: Progress | None = None,
            warnings: list[str] | None = None) -> tuple[Mastering, dict[str, float]]:
    """Master the mix and ``write`` it; a lossy file whose decoded true peak is over the
    ceiling is written again with dips where it was over (or, when the file is in parts
    or the mix could not be kept, mixed again lower). A track left under its loudness
    target is added to ``warnings``. Runs with the C heap set for a build (see
    :func:`~voiceguide.io.machine.build_heap`)."""
    with build_heap():
        mastering, timings = _deliver(mixer, fmt, write, progress)
    short = mastering.short_of_target()
    if warnings is not None and short is not None and short not in warnings:
        warnings.append(short)
    return mastering, timings


def _deliver(mixer: Mixer, fmt: Format, write: Write, progress: Progress | None
             ) -> tuple[Mastering, dict[str, float]]:
    t0 = time.perf_counter()
    if progress:
        progress("loudness", 0, 1)
    sr = mixer.sr
    release_memory()  # what making the mixer dropped (its envelopes, the chimes)
    loop = mixer.background()
    if fmt.prepare is not None and loop is not None:
        fmt.prepare(loop, sr)  # on the core the loudness stage leaves idle
    mastering = Mastering(mixer, (lambda pcm: roundtrip(fmt, pcm, sr)) if fmt.lossy else None)
    if progress:
        progress("loudness", 1, 1)
    t1 = time.perf_counter()
    mixing = 0.0
    ceiling = db(mastering.ceiling_db)
    with contextlib.ExitStack() as stack:
        # scratch (the mix kept, segments, a copy) never takes the room the track and its
        # check need where they share a disk: a whole mix's int16 samples, 4 times what
        # a lossy track of it takes, plus 8 MB
        stack.enter_context(scratch_reserve(2 * mixer.tl.total + SCRATCH_MARGIN))
        spill: IO[bytes] | None = None
        with contextlib.suppress(OSError):
            spill = stack.enter_context(scratch_file())
        mixer.forget_trials(spill)  # what the encode does not need, out of memory
        if spill is not None:
            stack.callback(mixer.unspill)  # the waveform is drawn from the mixer later
            # before that, what the encodes and checks dropped goes back to the system
            # (they close first): the stretches read back do not add to their peak
            stack.callback(release_memory)
        release_memory()
        store: IO[bytes] | None = None
        if fmt.lossy:
            with contextlib.suppress(OSError):
                store = stack.enter_context(scratch_file())
            with contextlib.suppress(OSError):
                # an MP3 encode again takes the segments no dip touched from the first
                stack.enter_context(reusing_segments(stack.enter_context(SegmentCache())))
            # stretches of room tone (or a built-in bed alone) take frames encoded once
            stack.enter_context(background(mixer.background()))
        # the screen trusts the mix's levels only where it holds no bed file
        size = mixer.tl.total if fmt.lossy and mixer.own_sounds else None
        first = _Recorded(mixer.pcm(progress), store, size)
        stream: Chunks = first
        dips: list[Dip] = []
        before: Checked | None = None
        retuned = 0
        encodes = 0
        last_peak = float("inf")
        while True:
            files = _written(fmt, write, stream, mixer.tl.total, sr)
            mixing += stream.seconds
            encodes += 1
            if not fmt.lossy:
                break
            heard = decoded(files, ceiling, sr, before, mixer.tl.total,
                            first.levels if stream is first else None)
            peak, overs = heard.peak, heard.overs
            if heard.hops is not None and retuned < RETUNES and \
                    not mastering.heard(heard.hops):
                # the codec moved the loudness more than its excerpt said: the whole
                # track is mixed again at the level heard, and checked again
                retuned, before, dips = retuned + 1, None, []
                store = first.store  # None once given up: the disk could not hold it
                if store is not None:
                    with contextlib.suppress(OSError):
                        store.seek(0)
                        store.truncate()
                first = _Recorded(mixer.pcm(progress), store, size)
                stream = first
                continue
            if peak <= ceiling:
                break
            converging = to_db(peak) <= to_db(last_peak) - CONVERGING_DB
            last_peak = peak
            if encodes >= CHECKS + retuned + (MORE_CHECKS if converging else 0):
                raise OutputError(f"the {fmt.name} encoder keeps overshooting the "
                                  f"{CEILING_DB:g} dBTP ceiling; try another "
                                  f"{option('format')}")
            if len(files) == 1:
                before = checked(files, overs, mixer.tl.total, stack)
                dips += [Dip(a, b, db(-(to_db(p) - mastering.ceiling_db + PEAK_MARGIN)))
                         for a, b, p in overs]
                kept = first.store
                stream = _Replay(mixer.pcm() if kept is None else _stored(kept, sr), dips, sr,
                                 mixer.tl.total, progress)
            else:  # parts: mix again lower
                mastering.check(peak)
                before = None
                first = _Recorded(mixer.pcm(progress), None, size)
                stream = first
    return mastering, {"loudness": t1 - t0, "mix": mixing,
                       "encode+write": time.perf_counter() - t1 - mixing}
