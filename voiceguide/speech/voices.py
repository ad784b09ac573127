"""Voices across engines: list every installed engine's voices, filter them by language,
and speak a short sample with each to compare them."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from voiceguide.errors import EngineError, UsageError
from voiceguide.io.atomic import atomic_write, ensure_dir
from voiceguide.io.paths import safe_stem
from voiceguide.limits import MAX_RENDERED
from voiceguide.speech.bank import trim
from voiceguide.speech.engine import (
    VoiceInfo,
    engines,
    get_engine,
    native_rate,
    resolve_voice,
    speak,
)

MAX_SAMPLES: Final = 24
"""Most voices one ``voices --say`` speaks (narrow the list with --lang/--engine/--voice)."""
SAMPLE_PADDING: Final = 0.25
"""Seconds of silence before and after a sample."""


@dataclass(frozen=True)
class EngineVoice:
    """A voice and the engine it belongs to."""

    engine: str
    """Engine name (what ``--engine`` takes)."""
    voice: VoiceInfo


def language_matches(voice: VoiceInfo, lang: str) -> bool:
    """Whether one of ``voice``'s languages is ``lang`` or a variant of it: ``en`` matches
    ``en``, ``en-us`` and ``en-gb-x-rp`` but not ``vi-vn-x-central``; ``_`` counts as
    ``-`` and case is ignored."""
    want = lang.strip().replace("_", "-").lower()
    for code in voice.languages:
        have = code.replace("_", "-").lower()
        if have == want or have.startswith(want + "-"):
            return True
    return False


def find_voices(engine: str | None = None, lang: str | None = None
                ) -> tuple[list[EngineVoice], list[str]]:
    """The voices of ``engine`` (None: every listed engine that is installed) whose
    language matches ``lang``; and a note for each engine that could not be asked (not
    installed), naming how to install it. Engines with ``hidden = True`` (the test
    engine) are listed only when named."""
    names = [engine] if engine else [n for n, cls in engines().items()
                                     if not getattr(cls, "hidden", False)]
    found: list[EngineVoice] = []
    notes: list[str] = []
    for name in names:
        eng = get_engine(name)
        try:
            voices = eng.voices()
        except EngineError as exc:
            if engine:
                raise
            notes.append(f"{name}: {exc}")
            continue
        finally:
            eng.close()
        found += [EngineVoice(name, v) for v in voices
                  if lang is None or language_matches(v, lang)]
    return found, notes


def voice_samples(text: str, out_dir: Path, engine: str | None = None,
                  lang: str | None = None, voice: str | None = None,
                  rate: int = 140) -> list[Path]:
    """Speak ``text`` with each chosen voice (``voice`` of ``engine``, else every voice
    :func:`find_voices` lists) into ``out_dir/<engine>-<voice>.wav``; the files written."""
    if not text.strip() or len(text) > MAX_RENDERED or not text.isprintable():
        raise UsageError(f"--say: give one line of text of at most {MAX_RENDERED} "
                         f"characters (got {len(text)})")
    if voice is not None:
        chosen = [(engine or "espeak", voice)]
    else:
        chosen = [(ev.engine, ev.voice.id) for ev in find_voices(engine, lang)[0]]
        if not chosen:
            raise UsageError("--say: no voice matches; see 'voiceguide voices'")
        if len(chosen) > MAX_SAMPLES:
            raise UsageError(f"--say: {len(chosen)} voices match, more than {MAX_SAMPLES}; "
                             "narrow them with --lang, --engine or --voice")
    ensure_dir(out_dir)
    written: list[Path] = []
    for name in dict.fromkeys(n for n, _ in chosen):
        eng = get_engine(name)
        try:
            for vid in (v for n, v in chosen if n == name):
                resolved = resolve_voice(eng, vid)
                sr = native_rate(eng, resolved)
                clip = trim(speak(eng, text, resolved, rate, sr), sr)
                pad = b"\0\0" * int(SAMPLE_PADDING * sr)
                path = out_dir / f"{name}-{safe_stem(Path(resolved).stem or resolved)}.wav"
                with atomic_write(path) as f, wave.open(f, "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(sr)
                    w.writeframes(pad + clip.astype("<i2").tobytes() + pad)
                written.append(path)
        finally:
            eng.close()
    return written
