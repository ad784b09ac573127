"""A fast deterministic stand-in engine for unit tests of scheduling and mixing.

It "speaks" a tone burst whose length follows the text length and the rate, with
engine-like leading and trailing silence, so trimming, measuring and placement are
exercised without espeak. Never the only proof: the real engine has its own tests.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from voiceguide.plugins import Register, hookimpl
from voiceguide.speech.engine import VoiceInfo

if TYPE_CHECKING:
    from voiceguide.audio import PCM

RATE: Final = 22050
SECONDS_PER_CHAR_AT_150: Final = 0.06
EDGE_SILENCE: Final = 0.08


class ToneEngine:
    """Deterministic tone-burst "speech"."""

    name = "test"
    default_voice = "tone/low"
    packages: tuple[str, ...] = ()
    hidden = True
    """Not listed by ``voiceguide voices`` unless asked for with ``--engine test``."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def version(self) -> str:
        """Version of the stand-in engine."""
        return "1"

    def sample_rate(self, voice: str) -> int:
        """22050 Hz."""
        return RATE

    def identity(self, voice: str) -> str:
        """The voice id."""
        return voice

    def voices(self) -> list[VoiceInfo]:
        """Two voices: a low and a high tone."""
        return [VoiceInfo("tone/low", "Low tone", ("en",), None, RATE),
                VoiceInfo("tone/high", "High", ("en",), None, RATE)]

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """A tone burst of about 60 ms per character at 150 wpm."""
        import numpy as np

        self.calls += 1
        seconds = max(0.2, len(text) * SECONDS_PER_CHAR_AT_150 * 150.0 / rate)
        n = int(seconds * RATE)
        t = np.arange(n) / RATE
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:2], "big")
        base = 180.0 if voice == "tone/low" else 260.0
        freq = base + (seed % 40)
        syllables = 0.55 + 0.45 * np.abs(np.sin(np.pi * 4.0 * t))
        burst = 0.5 * np.sin(2 * np.pi * freq * t) * syllables
        ramp = min(n // 4, int(0.01 * RATE))
        burst[:ramp] *= np.linspace(0, 1, ramp)
        burst[n - ramp :] *= np.linspace(1, 0, ramp)
        edge = np.zeros(int(EDGE_SILENCE * RATE))
        return np.round(np.concatenate([edge, burst, edge]) * 32767).astype(np.int16)

    def close(self) -> None:
        """Nothing to release."""


@hookimpl
def register_engines(register: Register) -> None:
    """The test engine: registered through the same hook as any engine."""
    register(ToneEngine)
