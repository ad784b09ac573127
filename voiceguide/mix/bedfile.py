"""A user's bed file: checked, decoded with the bundled ffmpeg (once per process for the
tracks that share it), and played as a seamless loop read a slice at a time.

The decoded samples stay int16 (2 bytes a sample: a 15-minute bed is 40 MB, where a
float copy took 80 MB and its running sum 160 MB more), and each slice the mixer or the
loudness model asks for is made float as it is asked for. The tracks of a pack that
share a bed file decode it once: the samples of the longest stretch of each bed decoded
so far are kept (the beds used last, :data:`KEEP_BYTES` in all), and a track that needs
no more than that takes its first samples. ffmpeg cuts a decode at whole seconds after
resampling, so a shorter decode is the first samples of a longer one, and a track gets
the same samples whatever was decoded before it.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Final

import numpy as np

from voiceguide.audio import PCM, Audio
from voiceguide.errors import AudioInputError
from voiceguide.io.bounded import regular_size
from voiceguide.limits import BED_DECODE_SECONDS, MAX_BED_BYTES, MAX_BED_SECONDS
from voiceguide.vocabulary import BED_FORMATS

BED_CROSSFADE: Final = 1.0
"""Seconds of crossfade that join the end of a user's bed to its start."""
BED_DEMUXERS: Final = "wav,mp3,ogg,flac,mov,aac"
"""The ffmpeg demuxers a bed is read with (what :data:`BED_FORMATS` hold): none that
opens other files by name (concat, HLS, image sequences)."""
KEEP_BYTES: Final = 96 << 20
"""Most bytes of decoded beds kept between builds for the next tracks that use the same
files (36 minutes at 22.05 kHz: the longest stretch a track takes is 30)."""
FRAME_SAMPLES: Final = 1 << 16
"""Samples ffmpeg passes between its threads at a time after resampling (not one codec
frame: half its CPU went on the hand-overs; the samples are the same)."""
_ADDRESS: Final = re.compile(r" @ 0x[0-9a-fA-F]+")
"""Where in memory ffmpeg's parts ran, in its messages: other at every run."""
_SCALE: Final = np.float32(32768.0)
_BLOCK: Final = 1 << 20


def check_bed_file(path: Path) -> int:
    """The size of bed file ``path`` once it is known to be a regular, non-empty file no
    larger than :data:`~voiceguide.limits.MAX_BED_BYTES` (checked before it is hashed or
    decoded), else :class:`AudioInputError`."""
    if path.is_dir():
        raise AudioInputError(f"{path}: is a folder, not an audio file")
    size = regular_size(path, "bed", AudioInputError)
    if size == 0:
        raise AudioInputError(f"{path}: the bed file is empty")
    if size > MAX_BED_BYTES:
        raise AudioInputError(
            f"{path}: the bed file is {size // 2**20} MB; the most is {MAX_BED_BYTES // 2**20} MB"
        )
    return size


class BedLoop:
    """A user's bed as a loop at RMS 1.0: its decoded int16 samples from
    :data:`BED_CROSSFADE` on, the last second crossfaded with the first so that the end
    runs into the start with no seam. ``loop[a:b]`` gives float32 samples (the same
    values as a float copy of the whole loop would hold)."""

    def __init__(self, pcm: PCM, fade: int) -> None:
        self._pcm = pcm[fade:]  # a view: the samples kept for the next track are shared
        self.size: Final = self._pcm.size
        """Samples in one turn of the loop."""
        ramp = (np.sin(np.linspace(0, np.pi / 2, fade)) ** 2).astype(np.float32)
        self._cut = self.size - fade
        tail = self._pcm[self._cut :].astype(np.float32) / _SCALE
        head = pcm[:fade].astype(np.float32) / _SCALE
        self._tail = tail * (1 - ramp) + head * ramp
        total = 0.0  # its RMS, accumulated in float64 a block at a time
        for i in range(0, self.size, _BLOCK):
            block = self._raw(i, min(self.size, i + _BLOCK)).astype(np.float64)
            total += float(np.dot(block, block))
        self._norm = np.float32(math.sqrt(total / max(self.size, 1)) or 1.0)

    def _raw(self, a: int, b: int) -> Audio:
        """Samples ``a`` to ``b`` (``a <= b``) of one turn, as float32, before the RMS."""
        y: Audio = self._pcm[a:b].astype(np.float32)
        y /= _SCALE
        if b > self._cut:
            lo = max(a, self._cut)
            y[lo - a :] = self._tail[lo - self._cut : b - self._cut]
        return y

    def __getitem__(self, key: slice) -> Audio:
        """Samples ``key.start`` to ``key.stop`` of one turn of the loop, as float32."""
        a, b, _ = key.indices(self.size)
        y = self._raw(a, max(a, b))
        y /= self._norm
        return y


def _decode(path: Path, sample_rate: int, seconds: int) -> PCM:
    """The first ``seconds`` of ``path`` (fewer where it ends sooner), mono int16 at
    ``sample_rate``, read straight into one array no larger than that (ffmpeg is stopped
    past :data:`~voiceguide.limits.BED_DECODE_SECONDS`)."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-xerror",
        # a "bed" that is really a playlist (HLS, ffconcat) must not make ffmpeg open
        # URLs or other files: only audio containers are read, only from this file
        "-protocol_whitelist", "file", "-format_whitelist", BED_DEMUXERS,
        # the file checked, by its absolute path: "file:/x" would be read by ffmpeg as
        # the protocol file: and /x, another file than the ./file:/x checked above
        "-i", os.path.abspath(path), "-t", str(seconds), "-vn",
        # resampled first, then passed on in frames of FRAME_SAMPLES: grouped before the
        # resampler (as -ar puts it, last), a frame of a 1 Hz WAV was 65536 s of audio,
        # and ffmpeg took 1.6 GB for an 8 kB bed (an attack); the samples are the same
        "-ac", "1", "-af", f"aresample={sample_rate},asetnsamples=n={FRAME_SAMPLES}:p=0",
        "-f", "s16le", "-",
    ]
    out = np.empty(seconds * sample_rate, dtype="<i2")  # -t bounds the output; never trust it
    view = out.data.cast("B")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=errors)
        stdout = proc.stdout
        assert isinstance(stdout, io.BufferedReader)
        late = threading.Event()

        def stop() -> None:
            late.set()
            proc.kill()

        timer = threading.Timer(BED_DECODE_SECONDS, stop)
        timer.start()
        got = 0
        try:
            while got < len(view) and (n := stdout.readinto(view[got:])):
                got += n
            if got == len(view):
                proc.kill()  # all that was asked for: nothing more is read
        finally:
            stdout.close()
            code = proc.wait()
            timer.cancel()
        if got < len(view) and late.is_set():
            raise AudioInputError(f"{path}: decoding the bed file took more than "
                                  f"{BED_DECODE_SECONDS:g} s; use a plain WAV, MP3 or OGG")
        if got < len(view) and code != 0:
            errors.seek(0)
            detail = [_ADDRESS.sub("", line) for line in errors.read(4096).decode(
                "utf-8", "replace").strip().splitlines() if "Terminating thread" not in line]
            reason = detail[-1] if detail else "not audio"
            raise AudioInputError(
                f"{path}: not a readable audio file ({reason}); use a sound file of one of "
                f"these kinds: {', '.join(s[1:].upper() for s in BED_FORMATS)}")
    return out[: got // 2]


_kept_lock = threading.Lock()
_kept: OrderedDict[tuple[bytes, int], tuple[int, PCM]] = OrderedDict()
"""The beds decoded last, by their file's SHA-256 and the sample rate: the seconds asked
for and the samples (fewer than asked: the whole file); :data:`KEEP_BYTES` in all."""


def _samples(path: Path, sample_rate: int, seconds: int) -> PCM:
    """:func:`_decode`, or the first samples of a longer decode of the same file kept
    from an earlier track (see the module's docstring)."""
    try:
        with path.open("rb") as f:
            key = (hashlib.file_digest(f, "sha256").digest(), sample_rate)
    except OSError as exc:
        raise AudioInputError(f"{path}: cannot read the bed file ({exc.strerror or exc})"
                              ) from None
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is not None and (kept[0] >= seconds or kept[1].size < kept[0] * sample_rate):
        return kept[1][: seconds * sample_rate]
    pcm = _decode(path, sample_rate, seconds)
    pcm.setflags(write=False)  # shared by the loops of every track that takes it
    with _kept_lock:
        _kept[key] = (seconds, pcm)
        _kept.move_to_end(key)
        while _kept and sum(p.nbytes for _, p in _kept.values()) > KEEP_BYTES:
            _kept.popitem(last=False)
    return pcm


def load_bed_file(path: Path, sample_rate: int, seconds: float | None = None) -> BedLoop:
    """Decode a user's bed file (WAV/MP3/OGG/FLAC/...) with the bundled ffmpeg, only as far
    as the track needs (``seconds``, and a little more for the crossfade; at most
    :data:`~voiceguide.limits.MAX_BED_SECONDS`), as a :class:`BedLoop`."""
    check_bed_file(path)
    wanted = int(MAX_BED_SECONDS) if seconds is None else min(
        math.ceil(seconds + BED_CROSSFADE + 1.0), int(MAX_BED_SECONDS))
    pcm = _samples(path, sample_rate, wanted)
    if pcm.size < sample_rate * 2:
        raise AudioInputError(f"{path}: the bed is shorter than 2 seconds of audio")
    level, mean = _level(pcm)
    if level < 1e-5:
        raise AudioInputError(f"{path}: the bed file is silent")
    if abs(mean) > 0.5 * level:  # NaN samples come out so
        raise AudioInputError(f"{path}: the bed file is mostly a constant level, not sound "
                              "(damaged, or samples that are not numbers)")
    return BedLoop(pcm, min(int(BED_CROSSFADE * sample_rate), pcm.size // 4))


def _level(pcm: PCM) -> tuple[float, float]:
    """RMS and mean of int16 samples as floats in [-1, 1], a block at a time."""
    squares = total = 0.0
    for i in range(0, pcm.size, _BLOCK):
        block = pcm[i : i + _BLOCK].astype(np.float64)
        total += float(block.sum())
        squares += float(np.dot(block, block))
    n = max(pcm.size, 1) * float(_SCALE) ** 2
    return math.sqrt(squares / n), total / max(pcm.size, 1) / float(_SCALE)
