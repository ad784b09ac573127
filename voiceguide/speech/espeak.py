"""The pyttsx3 + espeak-ng engine, driven in a worker process.

espeak-ng comes from the ``espeakng-loader`` wheel, so no system package is needed.
The worker (:mod:`voiceguide.speech.espeak_worker`) runs through
:class:`~voiceguide.speech.worker.WorkerClient`: started on first use, one phrase at a
time, killed and restarted when it hangs or dies, one retry per phrase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from voiceguide.errors import EngineError
from voiceguide.plugins import Register, hookimpl, package_version
from voiceguide.speech.engine import VoiceInfo
from voiceguide.speech.worker import WorkerClient

if TYPE_CHECKING:
    from voiceguide.audio import PCM

START_TIMEOUT: Final = 30.0
"""Seconds the worker may take to load espeak."""
PHRASE_TIMEOUT: Final = 20.0
"""Base seconds one phrase may take (plus 50 ms per character)."""
HEARD_PER_NATIVE: Final = 1.175
"""Words per minute as heard (voice trimmed of its edges) per unit of espeak-ng's rate
parameter, measured over the library's 164 distinct phrases: 1.165 at 100, 1.171 at 120,
1.184 at 140, 1.185 at 160."""
RATE_MAP: Final = "heard-1"
"""Names the rate mapping in the engine version (so the phrase cache keeps clips made
with another mapping apart)."""
FIX_HINT: Final = (
    "reinstall the speech stack with 'pip install --force-reinstall pyttsx3 espeakng-loader'"
)


def native_rate(rate: int) -> int:
    """espeak-ng's rate parameter for ``rate`` words per minute as heard."""
    return max(40, int(round(rate / HEARD_PER_NATIVE)))


class EspeakEngine:
    """pyttsx3 driving libespeak-ng from the espeakng-loader wheel, in a worker process."""

    name = "espeak"
    default_voice = "gmw/en-us"
    packages = ("pyttsx3", "espeakng-loader")
    """PyPI packages whose versions decide the sound."""
    fixed_voices = True
    """The voices are espeak-ng's data, part of :attr:`version` (see
    :meth:`~voiceguide.speech.engine.SpeechEngine.voices`)."""
    SAMPLE_RATE: Final = 22050
    """What espeak-ng writes, for every voice."""

    def __init__(self) -> None:
        self._worker = WorkerClient("espeak", "voiceguide.speech.espeak_worker", (), FIX_HINT,
                                    START_TIMEOUT)

    @property
    def restarts(self) -> int:
        """Phrases that needed a fresh worker."""
        return self._worker.restarts

    @property
    def version(self) -> str:
        """pyttsx3 and espeak-ng (espeakng-loader) versions."""
        return "+".join(f"{p}-{package_version(p)}" for p in self.packages) + f"+{RATE_MAP}"

    def sample_rate(self, voice: str) -> int:
        """22050 Hz: espeak-ng's rate for every voice."""
        return self.SAMPLE_RATE

    def identity(self, voice: str) -> str:
        """The voice id (espeak voices are part of the versioned data)."""
        return voice

    def voices(self) -> list[VoiceInfo]:
        """Every espeak-ng voice (about 140)."""
        return [
            VoiceInfo(v["id"], v["name"], tuple(v.get("languages", [])), v.get("gender"),
                      self.SAMPLE_RATE)
            for v in self._worker.hello()["voices"]
        ]

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """Speak one phrase at ``rate`` words per minute as heard; a hang or crash is
        retried once in a fresh worker."""
        import numpy as np

        spoken = self._worker.speak({"text": text, "voice": voice, "rate": native_rate(rate)},
                                    text, PHRASE_TIMEOUT + 0.05 * len(text))
        if spoken.sample_rate != self.SAMPLE_RATE:
            raise EngineError(f"the espeak engine wrote {spoken.sample_rate} Hz audio; "
                              f"expected {self.SAMPLE_RATE} Hz")
        return np.frombuffer(spoken.frames, dtype="<i2").astype(np.int16)

    def close(self) -> None:
        """Stop the worker and remove its temporary folder."""
        self._worker.close()


@hookimpl
def register_engines(register: Register) -> None:
    """The default engine."""
    register(EspeakEngine)
