"""Worker process for the espeak-ng engine (``python -m voiceguide.speech.espeak_worker``).

Runs in its own process (:mod:`voiceguide.speech.worker`) so that espeak's ``exit()`` on
bad data, a crash in the C library or a hang cannot take the caller down.

espeak-ng is driven through pyttsx3's binding (``pyttsx3.drivers._espeak``) in
synchronous mode, as pyttsx3 speaks (same voice and rate parameters, same flags plus
``PHONEMES``, so a pronunciation lexicon can give ``[[...]]`` phonemes; text without
them sounds the same), without pyttsx3's event loop. Every phrase is spoken in a forked
copy of the freshly loaded engine (:func:`~voiceguide.speech.worker.serve`): espeak-ng
carries state from one utterance to the next (its pitch flutter runs on), so speaking in
one long-lived engine made a phrase's samples depend on what was spoken before it, and a
build's bytes on what the phrase cache held.
"""

from __future__ import annotations

import ctypes
import os
import wave
from typing import Any, Final

from voiceguide.speech.worker import serve

VOLUME: Final = 100
"""espeak-ng volume parameter (pyttsx3's volume 1.0)."""
BUFFER_MS: Final = 500
"""Length of the buffers espeak-ng hands to the callback."""


def _load() -> tuple[Any, int, list[dict[str, Any]]]:
    """Load libespeak-ng from the espeakng-loader wheel through pyttsx3's binding."""
    import espeakng_loader

    os.environ["ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
    # Default (RTLD_LOCAL) mode: the binding's dlopen of libespeak-ng reuses it.
    ctypes.CDLL(espeakng_loader.get_library_path())
    from pyttsx3.drivers import _espeak

    rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS)
    if rate == -1:
        raise RuntimeError("espeak-ng could not initialise")
    genders = [None, "male", "female"]
    voices = []
    for v in _espeak.ListVoices(None):
        voices.append({
            "id": v.identifier.decode("utf-8").lower(),
            "name": v.name.decode("utf-8"),
            "languages": [v.languages[1:].decode("utf-8", "ignore")] if v.languages else [],
            "gender": genders[v.gender] if 0 <= v.gender < 3 else None,
        })
    return _espeak, int(rate), voices


def _speak(espeak: Any, sample_rate: int, req: dict[str, Any]) -> None:
    """Speak one request into its WAV file."""
    chunks: list[bytes] = []

    def collect(wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    espeak.SetSynthCallback(collect)
    if espeak.SetVoiceByName(str(req["voice"]).encode("utf-8")) != 0:
        raise ValueError(f"unknown voice {req['voice']}")
    espeak.SetParameter(espeak.RATE, int(req["rate"]), 0)
    espeak.SetParameter(espeak.VOLUME, VOLUME, 0)
    if espeak.Synth(str(req["text"]).encode("utf-8"),
                    flags=espeak.ENDPAUSE | espeak.CHARS_UTF8 | espeak.PHONEMES) != 0:
        raise RuntimeError("espeak-ng refused the text")
    with wave.open(req["path"], "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(b"".join(chunks))


def main() -> None:
    """Load espeak-ng once, then speak requests until stdin closes (see
    :func:`voiceguide.speech.worker.serve`)."""
    loaded: list[tuple[Any, int]] = []

    def load() -> dict[str, Any]:
        espeak, sample_rate, voices = _load()
        loaded.append((espeak, sample_rate))
        return {"voices": voices, "sample_rate": sample_rate}

    serve(load, lambda req: _speak(*loaded[0], req))


if __name__ == "__main__":
    main()
