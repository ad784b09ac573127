"""Speech engines behind one small interface, and the registry that names them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voiceguide.errors import EngineError, VoiceNotFoundError
from voiceguide.yamlio import suggest

PCM = npt.NDArray[np.int16]


@dataclass(frozen=True)
class VoiceInfo:
    """One voice of an engine."""

    id: str
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None


class SpeechEngine(Protocol):
    """What the pipeline needs from a speech engine."""

    name: str
    """Registry name (part of the phrase cache key)."""
    sample_rate: int
    """Sample rate of the returned audio."""
    default_voice: str
    """Voice used when none is asked for."""

    @property
    def version(self) -> str:
        """Engine version string (part of the phrase cache key)."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """Every voice the engine offers."""
        ...

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """Speak ``text`` with ``voice`` at ``rate`` words per minute; mono int16 samples."""
        ...

    def close(self) -> None:
        """Release the engine (stop worker processes)."""
        ...


ENGINES = ("espeak", "test")


def get_engine(name: str) -> SpeechEngine:
    """Create the engine called ``name``."""
    if name == "espeak":
        from voiceguide.engines.espeak import EspeakEngine

        return EspeakEngine()
    if name == "test":
        from voiceguide.engines.testtone import ToneEngine

        return ToneEngine()
    raise EngineError(f"unknown speech engine '{name}'{suggest(name, ENGINES)}; use one of "
                      + ", ".join(ENGINES))


def resolve_voice(engine: SpeechEngine, voice: str | None) -> str:
    """The engine's id for ``voice`` (an id, the part after '/', or a name), or raise
    :class:`VoiceNotFoundError` with the closest ids."""
    if voice is None or voice == "":
        return engine.default_voice
    voices = engine.voices()
    for v in voices:
        if voice in (v.id, v.id.split("/")[-1]) or voice.lower() == v.name.lower():
            return v.id
    names = [v.id for v in voices] + [v.id.split("/")[-1] for v in voices]
    hint = suggest(voice, names)
    raise VoiceNotFoundError(
        f"unknown voice '{voice}' for the {engine.name} engine{hint}; "
        "list the voices with 'voiceguide voices'"
    )
