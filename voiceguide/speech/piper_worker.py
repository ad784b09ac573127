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
    gap = np.zeros(int(SENTENCE_PAUSE * cfg.sample_rate), dtype=np.int16)
    parts: list[Any] = []
    for chunk in voice.synthesize(str(req["text"]), syn_config=syn):
        if parts:
            parts.append(gap)
        parts.append(chunk.audio_int16_array)
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
