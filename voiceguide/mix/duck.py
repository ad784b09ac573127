"""The bed's gain over the track, as a broadcast voice-over ducks its music: down before
the voice, held down through the short pauses between sentences, back up slowly where
the voice leaves room (a hold, a breath, a rest), and faded in and out.

An audio audit of 0.3.5 heard the bed swell 14 dB in every 0.8 s pause between two
sentences (it came back up 0.25 s after each phrase and went down again before the next)
and step 7 dB in 15 ms at each end of a duck. Here a pause shorter than
:data:`DUCK_BRIDGE` keeps the bed down, a longer one lets it up in proportion to its
length (a breath's pause a little, a hold's all the way), and each ramp is a raised
cosine in decibels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

DUCK_DB: Final = 14.0
"""How far the bed drops under speech."""
DUCK_ATTACK: Final = 0.4
"""Seconds the bed takes to drop, ending :data:`DUCK_LEAD` before the voice."""
DUCK_LEAD: Final = 0.05
"""Seconds the bed is fully down before the voice starts."""
DUCK_TAIL: Final = 0.15
"""Seconds the bed stays fully down after the voice ends (a word's last sound)."""
DUCK_RELEASE: Final = 1.2
"""Seconds the bed takes to come back up after :data:`DUCK_TAIL`."""
DUCK_BRIDGE: Final = 2.0
"""A pause between two phrases shorter than this keeps the bed down: with the ramps and
the margins (1.8 s), the bed would barely be back up before it went down again."""
DUCK_FULL_RISE: Final = 6.0
"""A pause this long or longer lets the bed back up to its full level; a shorter one (but
not under :data:`DUCK_BRIDGE`) only part of the way, in proportion: a breath's 3.2 s
pause brings it 4 dB up, not 14 (a listening audit: rain from barely there to full at
every "Breathe in" drew attention)."""
BED_FADE_IN: Final = 2.0
"""Seconds the bed takes to fade in at the start of the track."""
BED_FADE_OUT: Final = 3.0
"""Seconds the bed takes to fade out at the end of the track."""


def _ramp(n: int) -> npt.NDArray[np.float64]:
    """``n`` points of a raised cosine from just over 0 to 1 (its ends excluded)."""
    x = (np.arange(n, dtype=np.float64) + 1) / (n + 1)
    result: npt.NDArray[np.float64] = 0.5 - 0.5 * np.cos(np.pi * x)
    return result


def duck_amount(speech: Iterable[tuple[float, float]], total: float, rate: int
                ) -> npt.NDArray[np.float64]:
    """How far the bed is ducked (0: full level, 1: :data:`DUCK_DB` down) at ``rate``
    points per second over a track of ``total`` seconds whose voice plays over the
    ``speech`` spans (start, end in seconds, in any order). Spans closer than
    :data:`DUCK_BRIDGE` are one duck, and so are the track's start and a voice that
    begins before the bed could have faded in and ducked, and a last voice and the
    track's end that come too soon for the bed to rise and fade out (it swelled 13 dB
    after the closing words, only to fade). A pause shorter than :data:`DUCK_FULL_RISE`
    lets the bed only part of the way back up."""
    n = int(np.ceil(total * rate)) + 2
    amount = np.zeros(n)
    merged: list[list[float]] = []
    for start, end in sorted(speech):
        if merged and start - merged[-1][1] < DUCK_BRIDGE:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return amount
    if merged[0][0] < BED_FADE_IN + DUCK_ATTACK:
        merged[0][0] = 0.0
    if total - merged[-1][1] < BED_FADE_OUT + DUCK_RELEASE:
        merged[-1][1] = total + 1.0
    up, down = max(1, round(DUCK_ATTACK * rate)), max(1, round(DUCK_RELEASE * rate))
    rise, fall = _ramp(up), _ramp(down)[::-1]
    for start, end in merged:
        a = int(np.floor((start - DUCK_LEAD) * rate))  # fully down from here
        b = min(n, int(np.ceil((end + DUCK_TAIL) * rate)))  # to here
        a = max(0, a)
        amount[a:b] = 1.0
        lo = max(0, a - up)
        if a > lo:
            amount[lo:a] = np.maximum(amount[lo:a], rise[up - (a - lo):])
        hi = min(n, b + down)
        if hi > b:
            amount[b:hi] = np.maximum(amount[b:hi], fall[: hi - b])
    for (_, end), (start, _) in itertools.pairwise(merged):  # a short pause: shallow
        rises = min(1.0, (start - end - DUCK_BRIDGE) / (DUCK_FULL_RISE - DUCK_BRIDGE))
        a = max(0, int(np.ceil((end + DUCK_TAIL) * rate)))
        b = min(n, int(np.floor((start - DUCK_LEAD) * rate)))
        amount[a:b] = 1.0 - rises * (1.0 - amount[a:b])  # the same ramps, scaled
    return amount


def bed_envelope(speech: Iterable[tuple[float, float]], total: float, rate: int,
                 ducking: bool = True) -> npt.NDArray[np.float64]:
    """The bed's gain (linear) at ``rate`` points per second over a track of ``total``
    seconds: ducked under the ``speech`` spans (see :func:`duck_amount`) when
    ``ducking``, faded in and out."""
    if ducking:
        env = 10 ** (-DUCK_DB * duck_amount(speech, total, rate) / 20)
    else:
        env = np.ones(int(np.ceil(total * rate)) + 2)
    t = np.arange(env.size) / rate
    env *= np.clip(t / BED_FADE_IN, 0, 1)
    env *= np.clip((total - t) / BED_FADE_OUT, 0, 1)
    result: npt.NDArray[np.float64] = env
    return result
