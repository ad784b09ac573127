"""Sounds made at build time: background beds and chimes; the bed a track plays (a user's
bed file is read by :mod:`voiceguide.mix.bedfile`).

Built-in beds are synthesised in the frequency domain (random phases from a seed named
after the bed), so each loop is exactly periodic: it repeats with no seam and no click,
and needs no download. Chimes are sums of decaying inharmonic partials.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from voiceguide.audio import Audio, Loop
from voiceguide.errors import (
    AudioInputError,
    UsageError,
    VoiceguideError,
    with_message,
)
from voiceguide.mix.bedfile import check_bed_file, load_bed_file
from voiceguide.settings import unknown_bed
from voiceguide.timeline import CHIME_FADE
from voiceguide.vocabulary import BEDS

LOOP_SECONDS: Final = 30.0
"""Length of a built-in bed loop, about (see :func:`loop_samples`)."""
LOOP_GRAIN: Final = 1152
"""A loop's length in samples is a whole number of these: of MP3 frames at any rate (576
or 1152 samples), so the background repeats frame for frame and its frames are encoded
once (see :mod:`voiceguide.export.loopframes`)."""


def loop_samples(sample_rate: int) -> int:
    """Samples in a built-in loop at ``sample_rate``: :data:`LOOP_SECONDS`, rounded to a
    whole number of :data:`LOOP_GRAIN` (29.988 s at 22.05 kHz; 30 s at 48 kHz)."""
    return max(1, round(LOOP_SECONDS * sample_rate / LOOP_GRAIN)) * LOOP_GRAIN


def _rng(name: str) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(f"voiceguide-bed-{name}".encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def _periodic_noise(n: int, sample_rate: int, rng: np.random.Generator,
                    shape: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Noise of length ``n`` with magnitude spectrum ``shape`` (periodic: loops seamlessly)."""
    phases = rng.uniform(0, 2 * np.pi, shape.size)
    spectrum = shape * np.exp(1j * phases)
    spectrum[0] = 0
    out: npt.NDArray[np.float64] = np.fft.irfft(spectrum, n)
    return out


def _normalise(x: npt.NDArray[np.float64]) -> Audio:
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return (x / rms).astype(np.float32)


@cache
def builtin_bed(name: str, sample_rate: int) -> Audio:
    """A seamless loop of bed ``name`` at RMS 1.0 (scaled by the mixer)."""
    n = loop_samples(sample_rate)
    seconds = n / sample_rate
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    f = np.maximum(freqs, 1.0)
    rng = _rng(name)
    t = np.arange(n) / sample_rate
    if name == "rain":
        # soft pink-ish noise with a gentle high shelf for the patter, rolled off at 6 kHz
        shape = (1 / np.sqrt(f)) * (1 / (1 + (f / 6000) ** 4)) * (1 + 0.6 / (1 + (1200 / f) ** 2))
        shape[freqs < 40] = 0
        x = _periodic_noise(n, sample_rate, rng, shape)
        # slow breathing of the rain's intensity, periodic in the loop
        x *= 0.85 + 0.15 * np.sin(2 * np.pi * 3 * t / seconds)
    elif name == "ocean":
        shape = (1 / f) * (1 / (1 + (f / 2500) ** 2))
        shape[freqs < 20] = 0
        x = _periodic_noise(n, sample_rate, rng, shape)
        swell = 0.5 - 0.5 * np.cos(2 * np.pi * 3 * t / seconds)  # three swells per loop
        x *= 0.15 + 0.85 * swell**1.6
    elif name == "drone":
        x = np.zeros(n)
        step = 1 / seconds  # partials on multiples of 1/loop: exactly periodic
        for base, amp in ((110.0, 1.0), (165.0, 0.5), (220.0, 0.35), (277.5, 0.15)):
            for detune in (-1, 0, 1):
                freq = round((base + detune * 0.2) / step) * step
                phase = rng.uniform(0, 2 * np.pi)
                x += amp * np.sin(2 * np.pi * freq * t + phase)
        x *= 0.8 + 0.2 * np.sin(2 * np.pi * 2 * t / seconds)
    else:
        raise AudioInputError(f"unknown bed '{name}'")
    return _normalise(x)


@cache
def room_tone_loop(sample_rate: int) -> Audio:
    """A seamless loop of soft room air (RMS 1.0): pink noise rolled off above 2 kHz."""
    n = loop_samples(sample_rate)
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    f = np.maximum(freqs, 1.0)
    shape = (1 / np.sqrt(f)) / (1 + (f / 2000) ** 2)
    shape[freqs < 30] = 0
    return _normalise(_periodic_noise(n, sample_rate, _rng("room"), shape))


def chime(name: str, seconds: float, sample_rate: int) -> Audio:
    """A bell-like sound: decaying inharmonic partials, peak 1.0, silent at the end."""
    n = int(seconds * sample_rate)
    return chimes([(name, n)], sample_rate)[(name, n)]


def chimes(wanted: Iterable[tuple[str, int]], sample_rate: int
           ) -> dict[tuple[str, int], Audio]:
    """:func:`chime` for each ``(name, samples)`` wanted. A track rings each chime for
    as long as its pause allows, so it asks for one sound at many lengths: each sound's
    partials are made once, for its longest, and the shorter ones are cut from them
    (the same samples as made alone)."""
    wanted = set(wanted)
    longest: dict[str, int] = {}
    for name, n in wanted:
        longest[name] = max(n, longest.get(name, 0))
    rung = {name: _ring(name, n, sample_rate) for name, n in longest.items()}
    out: dict[tuple[str, int], Audio] = {}
    for name, n in wanted:
        x = rung[name][:n].copy()
        tail = min(n, int(CHIME_FADE * sample_rate))
        fade = np.cos(np.linspace(0, np.pi / 2, tail)) ** 2  # eased, as a ring dies away
        fade[-1:] = 0.0  # silent at the end, exactly
        x[n - tail :] *= fade
        peak = float(np.max(np.abs(x))) if n else 0.0
        out[(name, n)] = (x / (peak or 1.0)).astype(np.float32)
    return out


def _ring(name: str, n: int, sample_rate: int) -> npt.NDArray[np.float64]:
    """The first ``n`` samples of chime ``name`` before its end is faded."""
    t = np.arange(n) / sample_rate
    partials: tuple[tuple[float, float, float], ...]
    if name == "bowl":
        partials = ((220.0, 1.0, 3.5), (220 * 2.71, 0.5, 2.5), (220 * 5.18, 0.25, 1.6),
                    (220 * 8.56, 0.1, 1.0))
        beat = 1 + 0.15 * np.sin(2 * np.pi * 2.2 * t)
    elif name == "bell":
        partials = ((523.25, 1.0, 2.2), (523.25 * 2.0, 0.45, 1.4), (523.25 * 2.76, 0.3, 1.0),
                    (523.25 * 5.4, 0.12, 0.6))
        beat = np.ones(n)
    elif name == "soft":
        partials = ((392.0, 1.0, 1.6), (392.0 * 3.0, 0.2, 0.8))
        beat = np.ones(n)
    else:
        raise AudioInputError(f"unknown chime '{name}'")
    x = np.zeros(n)
    for freq, amp, decay in partials:
        x += amp * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)
    x *= beat
    attack = int(0.004 * sample_rate)
    x[:attack] *= np.linspace(0, 1, attack)[:n]  # a ring shorter than the attack: its start
    return x


def pick_bed(choice: str | None, routine_bed: str | None, routine_folder: Path | None,
             written_at: str | None = None) -> str | Path | None:
    """The bed ``choice`` names ('none', a built-in name, a file) or, when None, the
    routine's own bed (a relative file is taken from the routine's folder; a problem with
    it is said at ``written_at``, its ``file:line:col: bed``): None, a built-in's name or
    a checked file (see :func:`check_bed_file`). Nothing is decoded."""
    name = choice if choice is not None else routine_bed
    if name is None or name == "none":
        return None
    if name in BEDS:
        return name
    path = Path(name)
    if choice is None and not path.is_absolute() and routine_folder is not None:
        path = routine_folder / path
    if unknown := unknown_bed(name, path):  # a setting's (a routine's is said at its load)
        raise UsageError(f"bed: {unknown}")
    try:
        check_bed_file(path)
    except AudioInputError as exc:
        if choice is None and written_at:  # the routine's own: said where it is written
            raise with_message(exc, f"{written_at}: {exc.message}") from None
        raise
    return path


def bed_problem(bed: str) -> str | None:
    """Why the bed ``bed`` names (as a pack, a profile or an option gives it) cannot be
    used, said where it is written; None when it can. Nothing is decoded."""
    try:
        pick_bed(bed, None, None)
    except VoiceguideError as exc:  # said after the key, once (a pack said "bed: bed: ")
        return str(exc).removeprefix("bed: ")
    return None


def bed_ahead(bed: str | Path | None, sample_rate: int
              ) -> Callable[[float | None], Loop | None]:
    """:func:`bed_audio`, begun now on another thread where it can be (a built-in bed,
    made while the track is fitted; a file waits for the track's length): call the
    result with the track's seconds for the loop."""
    if not isinstance(bed, str):
        return lambda seconds: bed_audio(bed, sample_rate, seconds)
    pool = ThreadPoolExecutor(1, "bed")
    made = pool.submit(builtin_bed, bed, sample_rate)
    pool.shutdown(wait=False)
    return lambda seconds: made.result()


def bed_audio(bed: str | Path | None, sample_rate: int, seconds: float | None = None
              ) -> Loop | None:
    """The loop of a bed :func:`pick_bed` chose; a file is decoded only as far as
    ``seconds`` of track need."""
    if bed is None:
        return None
    if isinstance(bed, str):
        return builtin_bed(bed, sample_rate)
    return load_bed_file(bed, sample_rate, seconds)

