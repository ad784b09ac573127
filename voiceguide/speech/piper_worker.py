"""Worker process for the Piper engine
(``python -m voiceguide.speech.piper_worker MODEL CONFIG``).

Loads one voice model once, then speaks each request in a forked copy of the loaded
process (:func:`voiceguide.speech.worker.serve`). A Piper model draws random noise
(``noise_scale``, ``noise_w``) inside onnxruntime from a generator seeded when the
session is made and advanced by every phrase; with a fixed seed and a fresh fork per
phrase, a phrase's samples are the same whatever was spoken before. onnxruntime runs on
one thread: the thread count changes the float sums, hence the bytes, from machine to
machine (parallel builds use more processes instead).
"""

from __future__ import annotations

import json
import sys
import wave
from typing import Any, Final

from voiceguide.speech.worker import serve

SEED: Final = 20261203
"""onnxruntime's random seed, set before the model is loaded."""
THREADS: Final = 1
"""onnxruntime intra-op threads (fixed: the thread count changes the samples)."""
SENTENCE_PAUSE: Final = 0.3
"""Seconds of silence between the sentences of one phrase (Piper speaks each sentence
on its own and does not pause between them)."""
MIN_HEARD_GAP: Final = 0.42
"""Seconds at least between two sentences of one phrase as heard, the pause and the
silent edges of the sentences together: the timeline keeps sentences 0.4 s apart, and at
--rate 300 Piper's own edges and :data:`SENTENCE_PAUSE` left 0.389 s (a listening audit).
Where the edges leave less, the pause is longer; at calm rates they leave more."""
JOIN_RULE: Final = "gaps-1"
"""Names how sentences are joined, in the engine's version (clips joined another way
are kept apart in the phrase cache)."""


def _silent_edge(audio: Any, rate: int, *, end: bool) -> int:
    """Samples of silence at the start (or ``end``) of int16 ``audio``: 5 ms frames whose
    RMS is under the threshold a clip is trimmed by (see
    :func:`voiceguide.speech.bank.trim`)."""
    import numpy as np

    from voiceguide.speech.bank import TRIM_FRAME, TRIM_THRESHOLD_DB

    n = max(1, int(TRIM_FRAME * rate))
    frames = audio[: audio.size // n * n].astype(np.float64).reshape(-1, n) / 32768.0
    heard = np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (TRIM_THRESHOLD_DB / 20)
    if not heard.any():
        return int(audio.size)
    order = heard[::-1] if end else heard
    return int(np.argmax(order)) * n + (audio.size - frames.size if end else 0)


def _load(model: str, config: str) -> tuple[Any, Any]:
    """The voice, loaded on one thread with a fixed seed; phonemizer warmed up."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    onnxruntime.set_seed(SEED)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = THREADS
    options.log_severity_level = 3
    with open(config, encoding="utf-8") as f:
        cfg = PiperConfig.from_dict(json.load(f))
    session = onnxruntime.InferenceSession(model, sess_options=options,
                                           providers=["CPUExecutionProvider"])
    voice = PiperVoice(session=session, config=cfg)
    voice.phonemize("Ready.")  # loads espeak-ng's data once, before any fork
    return voice, cfg


def _speak(voice: Any, cfg: Any, req: dict[str, Any]) -> None:
    """Speak one request into its WAV file at the voice's native rate."""
    import numpy as np
    from piper import SynthesisConfig

    syn = SynthesisConfig(length_scale=float(req["length_scale"]))
    rate = cfg.sample_rate
    parts: list[Any] = []
    for chunk in voice.synthesize(str(req["text"]), syn_config=syn):
        audio = chunk.audio_int16_array
        if parts:
            edges = _silent_edge(parts[-1], rate, end=True) + _silent_edge(audio, rate, end=False)
            pause = max(int(SENTENCE_PAUSE * rate), int(np.ceil(MIN_HEARD_GAP * rate)) - edges)
            parts.append(np.zeros(pause, dtype=np.int16))
        parts.append(audio)
    with wave.open(req["path"], "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(cfg.sample_rate)
        w.writeframes(b"".join(p.astype("<i2").tobytes() for p in parts))


def main() -> None:
    """Load the voice named on the command line, then serve requests until stdin closes."""
    model, config = sys.argv[1], sys.argv[2]
    loaded: list[tuple[Any, Any]] = []

    def load() -> dict[str, Any]:
        loaded.append(_load(model, config))
        return {"sample_rate": loaded[0][1].sample_rate}

    serve(load, lambda req: _speak(*loaded[0], req))


if __name__ == "__main__":
    main()
