"""Worker process for the espeak-ng engine (``python -m voiceguide.speech.espeak_worker``).

Runs in its own process so that espeak's ``exit()`` on bad data, a crash in the C
library or a hang cannot take the caller down; the caller restarts it. Requests arrive
as JSON lines on stdin; answers go out as JSON lines on a duplicate of stdout, while the
real stdout goes to /dev/null.

espeak-ng is driven through pyttsx3's binding (``pyttsx3.drivers._espeak``) in
synchronous mode, as pyttsx3 speaks (same voice and rate parameters, same flags plus
``PHONEMES``, so a pronunciation lexicon can give ``[[...]]`` phonemes; text without
them sounds the same), without pyttsx3's event loop. Every phrase is spoken in a forked
copy of the freshly loaded engine: espeak-ng carries state from one utterance to the
next (its pitch flutter runs on), so speaking in one long-lived engine made a phrase's
samples depend on what was spoken before it, and a build's bytes on what the phrase
cache held.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import wave
from typing import Any, Final

VOLUME: Final = 100
"""espeak-ng volume parameter (pyttsx3's volume 1.0)."""
BUFFER_MS: Final = 500
"""Length of the buffers espeak-ng hands to the callback."""
FORK: Final = hasattr(os, "fork")
"""Each phrase is spoken in a forked copy of the loaded engine (see ``_speak_fresh``)."""


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


def _speak_fresh(espeak: Any, sample_rate: int, req: dict[str, Any]) -> None:
    """Speak in a forked copy of this process: every phrase starts from the state the
    engine had right after loading, whatever was spoken before."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _speak(espeak, sample_rate, req)
            code = 0
        except BaseException as exc:  # the parent reports it from the exit status
            os.write(2, f"{type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the engine failed to speak the phrase (see its error output)")


def main() -> None:
    """Serve synthesis requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        espeak, sample_rate, voices = _load()
    except Exception as exc:  # the caller turns this into a message naming the fix
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    send({"ready": True, "voices": voices, "sample_rate": sample_rate})
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if FORK:
                _speak_fresh(espeak, sample_rate, req)
            else:  # pragma: no cover - platforms without fork: one long-lived engine
                _speak(espeak, sample_rate, req)
            send({"ok": True})
        except Exception as exc:
            send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
