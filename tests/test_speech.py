"""Speech: the engine registry, trimming, the phrase bank and its cache (stage: speech)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import voiceguide as vg
from voiceguide.errors import EngineError, VoiceNotFoundError
from voiceguide.speech.bank import SpeechBank, trim
from voiceguide.speech.cache import PhraseCache, phrase_key
from voiceguide.speech.engine import get_engine, resolve_voice
from voiceguide.speech.testtone import ToneEngine

SR = 22050


def test_the_registry_names_every_engine() -> None:
    assert {"espeak", "piper", "test"} <= set(vg.engines())
    with pytest.raises(EngineError, match=r"unknown speech engine 'espek' \(did you mean "
                                          r"'espeak'\?\); use one of espeak, piper, test"):
        get_engine("espek")


def test_voices_resolve_by_id_short_id_or_name_and_suggest() -> None:
    engine = ToneEngine()
    assert resolve_voice(engine, None) == "tone/low"
    assert resolve_voice(engine, "high") == "tone/high"
    assert resolve_voice(engine, "Low tone") == "tone/low"
    with pytest.raises(VoiceNotFoundError, match=r"unknown voice 'hgh'.*did you mean 'high'"):
        resolve_voice(engine, "hgh")


def test_trim_keeps_the_voice_and_small_margins() -> None:
    silence = np.zeros(SR // 2, dtype=np.int16)
    tone = (8000 * np.sin(np.arange(SR) * 2 * np.pi * 200 / SR)).astype(np.int16)
    clip = trim(np.concatenate([silence, tone, silence]), SR)
    assert SR <= clip.size <= SR + int(0.02 * SR)  # the tone plus at most 20 ms of margins
    assert trim(np.zeros(SR, dtype=np.int16), SR).size == 0


def test_the_bank_synthesises_each_phrase_once_across_builds(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    engine = ToneEngine()
    first = SpeechBank(engine, "tone/low", 150, cache)
    first.prefetch(["One.", "Two.", "One."])
    assert (first.stats.synthesized, engine.calls) == (2, 2)
    second = SpeechBank(engine, "tone/low", 150, cache)
    assert np.array_equal(second.clip("Two."), first.clip("Two."))
    assert (second.stats.cache_hits, engine.calls) == (1, 2)
    assert first.measure("One.", 1.2) < first.measure("One.")  # faster is shorter


def test_the_cache_key_changes_with_everything_that_changes_the_sound() -> None:
    base = phrase_key("espeak", "1", "en-us", 150, "Hold.", SR)
    assert len({base, phrase_key("espeak", "2", "en-us", 150, "Hold.", SR),
                phrase_key("espeak", "1", "en-gb", 150, "Hold.", SR),
                phrase_key("espeak", "1", "en-us", 151, "Hold.", SR),
                phrase_key("espeak", "1", "en-us", 150, "Hold!", SR),
                phrase_key("test", "1", "en-us", 150, "Hold.", SR)}) == 6
