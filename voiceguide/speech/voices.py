"""Voices across engines: list every installed engine's voices, filter them by language,
and speak a short sample with each to compare them."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from voiceguide.errors import EngineError, UsageError, option
from voiceguide.io.atomic import atomic_write, ensure_dir
from voiceguide.io.paths import path_arg, safe_stem
from voiceguide.languages import base_code, tag
from voiceguide.limits import MAX_RENDERED
from voiceguide.speech.bank import trim
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import (
    Listing,
    SpeechEngine,
    VoiceInfo,
    engines,
    get_engine,
    guarded,
    native_rate,
    resolve_voice,
    speak,
)


def track_voice(engine: SpeechEngine, voice: str | None, language: str,
                cache: PhraseCache | bool) -> tuple[str, PhraseCache | None, list[str]]:
    """The voice a track is spoken in (see :func:`resolve_voice`; where the engine's
    voices come with its version, the list is kept with the phrase cache, so the engine
    starts only for a missing phrase), the phrase cache (``cache``: True for the user's,
    False for none) and, when ``voice`` was given and is listed as speaking other
    languages only than ``language``, a warning saying so."""
    if not callable(getattr(engine, "synthesize", None)):  # an app's plan_track(engine=...)
        raise UsageError(f"engine= takes a running engine (voiceguide.get_engine(name)), not "
                         f"{type(engine).__name__}; to choose one by name, set the "
                         "setting: {'engine': name}")
    if not isinstance(cache, bool | PhraseCache):
        raise UsageError(f"cache= is True (the user's phrase cache), False (none) or a "
                         f"PhraseCache, not {type(cache).__name__}")
    store = (PhraseCache() if cache else None) if isinstance(cache, bool) else cache
    listing = _kept_voices(engine, store)
    found = resolve_voice(engine, voice, language, listing)
    if not voice:
        return found, store, []
    info = next((v for v in (listing or engine.voices)() if v.id == found), None)
    spoken = [code.lower().split("-")[0] for code in (info.languages if info else ())]
    if not spoken or language.lower().split("-")[0] in spoken:
        return found, store, []
    return found, store, [f"the voice '{found}' speaks {', '.join(info.languages if info else ())}"
                          f", not the routine's language ({language}): its words will be "
                          "said with the wrong sounds; leave the voice out for one that "
                          f"speaks it, or see 'voiceguide voices --lang {language}'"]


def _kept_voices(engine: SpeechEngine, store: PhraseCache | None) -> Listing | None:
    """The engine's voice list from the phrase cache (put there on first use), for an
    engine whose voices come with its version: the engine starts only for a missing
    phrase. None: ask the engine."""
    if store is None or not getattr(engine, "fixed_voices", False):
        return None

    def listing() -> list[VoiceInfo]:
        kept = store.voices(engine.name, engine.version)
        if kept is None:
            kept = engine.voices()
            store.put_voices(engine.name, engine.version, kept)
        return kept

    return listing


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
    want = tag(lang.strip())
    for code in voice.languages:
        have = tag(code)
        if have == want or have.startswith(want + "-"):
            return True
    return False


def find_voices(engine: str | None = None, lang: str | None = None
                ) -> tuple[list[EngineVoice], list[str]]:
    """The voices of ``engine`` (None: every listed engine that is installed) whose
    language matches ``lang`` (a region none has: its language's, said in a note); and a
    note for each engine that could not be asked (not
    installed), naming how to install it. Engines with ``hidden = True`` (the test
    engine) are listed only when named."""
    if lang is not None and not isinstance(lang, str):
        raise UsageError(f"lang is a language code such as 'en' (got {type(lang).__name__})")
    names = [engine] if engine else [n for n, cls in engines().items()
                                     if not getattr(cls, "hidden", False)]
    listed: list[EngineVoice] = []
    notes: list[str] = []
    for name in names:
        eng: SpeechEngine | None = None
        try:  # one engine that fails to start or to list is a note, not the end of all
            eng = get_engine(name)  # (a plugin review: every engine's voices went with it)
            voices = guarded(eng, "to list its voices", eng.voices)
        except EngineError as exc:
            if engine:
                raise
            notes.append(f"{name}: {exc}")
            continue
        finally:
            if eng is not None:
                eng.close()
        listed += [EngineVoice(name, v) for v in voices]
    if lang is None:
        return listed, notes
    found = [ev for ev in listed if language_matches(ev.voice, lang)]
    base = base_code(lang.strip())
    if not found and base != lang.strip():  # pt-PT: roa/pt speaks it (a review: "no
        found = [ev for ev in listed if language_matches(ev.voice, base)]  # voice of pt-PT")
        if found:
            notes.append(f"no voice of '{lang}' itself: the voices of '{base}' are listed")
    return found, notes


def voice_samples(text: str, out_dir: Path | str, engine: str | None = None,
                  lang: str | None = None, voice: str | None = None,
                  rate: int | None = None) -> list[Path]:
    """Speak ``text`` with each chosen voice (``voice`` of ``engine``, else every voice
    :func:`find_voices` lists) into ``out_dir/<engine>-<voice>.wav`` at ``rate`` (words a
    minute; None: the default rate), as a build of a routine in ``lang`` (default
    English) gives it to the engine (the lexicons applied); the files written."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RENDERED \
            or not text.isprintable():
        got = (type(text).__name__ if not isinstance(text, str) else
               f"{len(text)}" if text.isprintable() or len(text) > MAX_RENDERED else
               f"a control character, U+{ord(next(c for c in text if not c.isprintable())):04X}")
        raise UsageError(f"{option('text', flag='--say')}: give one line of text of at most "
                         f"{MAX_RENDERED} "
                         f"characters (got {got})")
    if voice is not None:
        chosen = [(engine or "espeak", voice)]
    else:
        chosen = [(ev.engine, ev.voice.id) for ev in find_voices(engine, lang)[0]]
        if not chosen:
            raise UsageError(f"{option('text', flag='--say')}: no voice matches; see "
                             "'voiceguide voices'")
        if len(chosen) > MAX_SAMPLES:
            raise UsageError(f"{option('text', flag='--say')}: {len(chosen)} voices match, "
                             f"more than {MAX_SAMPLES}; narrow them with {option('lang')}, "
                             f"{option('engine')} or {option('voice')}")
    from voiceguide.settings import TrackSettings

    # the rate a build takes, checked as one is (rate="fast" was a TypeError deep in the
    # engine, rate=900 spoke at 900 unsaid: an app team's review)
    rate = TrackSettings.from_options({} if rate is None else {"rate": rate}).rate
    out_dir = path_arg(out_dir, "out_dir", "folder")  # an app's str too
    ensure_dir(out_dir)
    written: list[Path] = []
    from voiceguide.routine.lexicon import track_lexicon

    lexicon = track_lexicon({}, lang or "en")  # said as a build says it (a Piper audit:
    for name in dict.fromkeys(n for n, _ in chosen):  # "90-90" was "ninety dash ninety")
        eng = get_engine(name)
        try:
            for vid in (v for n, v in chosen if n == name):
                resolved = resolve_voice(eng, vid)
                sr = native_rate(eng, resolved)
                clip = trim(speak(eng, lexicon.spoken(text, name), resolved, rate, sr), sr)
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
