"""Synthesise, trim, measure and remember phrases.

A :class:`SpeechBank` gives the timeline each phrase's length and the mixer each
phrase's samples. Phrases are known by their text as written (the script's, the cue
sheet's); the engine is given that text through the track's pronunciation lexicon, and
the phrase cache hashes what the engine is given. A phrase is synthesised once per
(voice, rate, text): first the
in-memory table, then the on-disk :class:`~voiceguide.speech.cache.PhraseCache`, then the
engine. Clips are trimmed of the engine's leading and trailing silence, so a cue's
start and end are where the voice is heard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from voiceguide.audio import PCM
from voiceguide.errors import InvalidInputError
from voiceguide.io.machine import usable_cpus
from voiceguide.limits import MAX_SCRIPT_HOURS
from voiceguide.plugins import origin_of
from voiceguide.routine.lexicon import Lexicon
from voiceguide.settings import DEFAULT_RATE
from voiceguide.speech.cache import PhraseCache, phrase_key
from voiceguide.speech.engine import (
    MAX_CLIP_SECONDS,
    SilentPhrase,
    SpeechEngine,
    guarded,
    native_rate,
    speak,
)

TRIM_THRESHOLD_DB: Final = -48.0
"""A 5 ms frame whose RMS is above this (dBFS) counts as heard voice when trimming."""
TRIM_FRAME: Final = 0.005
"""Frame length of the trimming energy detector (seconds)."""
TRIM_MARGIN_BEFORE: Final = 0.004
"""Seconds kept before the first voiced frame (soft onsets)."""
TRIM_MARGIN_AFTER: Final = 0.010
"""Seconds kept after the last voiced frame (soft endings)."""
WORKERS_ENV: Final = "VOICEGUIDE_SPEECH_WORKERS"
"""Caps the engines one build runs side by side (default: one per usable CPU)."""
PARALLEL_FROM: Final = 8
"""Phrases missing from the cache before a build starts more engines: fewer are spoken
sooner than another engine starts."""


def speech_workers() -> int:
    """Engines one build may run side by side: the usable CPUs, capped by
    ``VOICEGUIDE_SPEECH_WORKERS``."""
    return usable_cpus(WORKERS_ENV)


def trim(pcm: PCM, sample_rate: int) -> PCM:
    """Cut leading and trailing silence by frame energy, keeping small margins, with short
    fades at the cut points; an all-silent clip becomes empty."""
    n = max(1, int(TRIM_FRAME * sample_rate))
    x = pcm.astype(np.float64) / 32768.0
    usable = x.size // n * n
    if usable == 0:
        return np.zeros(0, dtype=np.int16)
    rms = np.sqrt(np.mean(x[:usable].reshape(-1, n) ** 2, axis=1))
    loud = np.flatnonzero(rms > 10 ** (TRIM_THRESHOLD_DB / 20))
    if loud.size == 0:
        return np.zeros(0, dtype=np.int16)
    start = max(0, int(loud[0]) * n - int(TRIM_MARGIN_BEFORE * sample_rate))
    end = min(pcm.size, (int(loud[-1]) + 1) * n + int(TRIM_MARGIN_AFTER * sample_rate))
    out = pcm[start:end].astype(np.float64)
    fade = min(out.size // 2, int(TRIM_MARGIN_BEFORE * sample_rate))
    if fade:
        out[:fade] *= np.linspace(0.0, 1.0, fade)
        out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return np.round(out).astype(np.int16)


@dataclass
class SpeechStats:
    """How phrases were obtained during a build."""

    synthesized: int = 0
    """Phrases the engine spoke."""
    cache_hits: int = 0
    """Phrases read from the on-disk cache."""


class SpeechBank:
    """Phrase clips for one engine, voice and rate."""

    def __init__(
        self,
        engine: SpeechEngine,
        voice: str,
        rate: int,
        cache: PhraseCache | None,
        workers: int = 1,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.engine = engine
        self.workers = workers
        """Engines :meth:`prefetch` may run side by side (more are started like
        ``engine``, each in its own process, and stopped when it returns)."""
        self.lexicon = lexicon or Lexicon()
        """How words are said (applied to what the engine is given, never to the text
        the bank is asked for)."""
        self.voice = voice
        self.rate = rate
        self.cache = cache
        self.voice_warnings: list[str] = []
        """What choosing :attr:`voice` warned of (one of another language than the
        routine's), for a plan made from this bank's phrases to say as a build does."""
        self.sample_rate = native_rate(engine, voice)
        self._clips: dict[tuple[str, int], PCM] = {}
        self._held = 0
        """Samples of every clip in :attr:`_clips` (bounded: :meth:`_keep`)."""
        self.stats = SpeechStats()
        self._count = threading.Lock()
        self._origin = origin_of(type(engine))
        """The plugin the engine comes from (None: built in)."""
        origin = self._origin  # a plugin's release may change its sound under one engine
        self._engine_version = str(guarded(  # version (a plugin review)
            engine, "to give its version", lambda: engine.version)) + (
            f"+{origin.distribution}-{origin.version}" if origin and origin.distribution else "")
        self._identity = guarded(engine, "to name its voice", lambda: engine.identity(voice))

    def rate_for(self, speed: float) -> int:
        """Words per minute used for ``speed`` (1.0 = the chosen rate)."""
        return int(round(self.rate * speed))

    def spoken(self, text: str) -> str:
        """What the engine is given for ``text`` (the lexicon applied)."""
        return self.lexicon.spoken(text, self.engine.name)

    def clip(self, text: str, speed: float = 1.0) -> PCM:
        """The trimmed clip of ``text`` at ``speed``."""
        return self._clip(text, self.rate_for(speed), self.engine)

    def _key(self, said: str, rate: int) -> str:
        """The cache key of ``said`` (what the engine is given: :meth:`spoken`) at
        ``rate``."""
        return phrase_key(self.engine.name, self._engine_version, self._identity, rate,
                          said, self.sample_rate)

    def _clip(self, text: str, rate: int, engine: SpeechEngine) -> PCM:
        got = self._clips.get((text, rate))
        if got is not None:
            return got
        said = self.spoken(text)
        key = self._key(said, rate)
        if self.cache is None:
            pcm = self._make(said, rate, engine)
        else:
            most = self._most(said, rate)
            found = self.cache.get(key, self.sample_rate, most)
            if found is None:
                with self.cache.lock(key, said):  # another build may be making it right now
                    found = self.cache.get(key, self.sample_rate, most)
                    if found is None:
                        found = self._make(said, rate, engine)
                        if 2 * found.size + 1024 <= most:  # else never read back: not kept
                            self.cache.put(key, found, self.sample_rate)
                    else:
                        self._counted(hits=1)
            else:
                self._counted(hits=1)
            pcm = found
        self._keep(text, rate, pcm)
        return pcm

    def _keep(self, text: str, rate: int, pcm: PCM) -> None:
        """Keep ``pcm`` as the clip of ``text`` at ``rate``; clips of more than
        :data:`~voiceguide.limits.MAX_SCRIPT_HOURS` of speech in all are an error, whatever
        the size estimate made of their words (an attack: 990 letters espeak spells one
        by one, estimated at a minute, each took five; 17 hours and 3 GB were
        synthesised before the track's length was refused)."""
        with self._count:
            self._clips[(text, rate)] = pcm
            self._held += pcm.size
            held = self._held
        if held > MAX_SCRIPT_HOURS * 3600 * self.sample_rate:
            raise InvalidInputError(
                f"the routine's phrases last more than {MAX_SCRIPT_HOURS:g} hours of speech "
                f"(reached at '{text[:40]}'); use fewer or shorter phrases, in words the "
                "voice says as words")

    @property
    def held(self) -> frozenset[tuple[str, int]]:
        """The (text, words per minute) of every clip held in memory."""
        with self._count:
            return frozenset(self._clips)

    def keep_only(self, used: Iterable[tuple[str, float]]) -> None:
        """Let go of every clip but those of ``used`` (text, speed): the wordings and
        speeds a fit measured and did not choose (a 60-minute track's were 6.7 MB of its
        21.7 MB of clips). One asked for again is made again, as at first."""
        keep = {(text, self.rate_for(speed)) for text, speed in used}
        with self._count:  # the bound on speech made (:meth:`_keep`) still counts them
            self._clips = {k: v for k, v in self._clips.items() if k in keep}

    def _most(self, said: str, rate: int) -> int:
        """Bytes a cache entry of ``said`` at ``rate`` may have: one far longer than the
        words could take (8 s and half a second a character at 140 words a minute,
        longer at a slower rate) is not trusted, nor read."""
        seconds = (8 + 0.5 * len(said)) * max(1.0, DEFAULT_RATE / max(rate, 1))
        return 1024 + 2 * int(min(MAX_CLIP_SECONDS, seconds) * self.sample_rate)

    def _counted(self, spoken: int = 0, hits: int = 0) -> None:
        with self._count:
            self.stats.synthesized += spoken
            self.stats.cache_hits += hits

    def _make(self, text: str, rate: int, engine: SpeechEngine | None = None) -> PCM:
        """Synthesise ``text`` as the engine is given it (the lexicon already applied)."""
        engine = engine or self.engine
        pcm = trim(speak(engine, text, self.voice, rate, self.sample_rate), self.sample_rate)
        if not pcm.size:
            raise SilentPhrase(engine.name, text,  # a plugin's silence may be its failure
                               plugin=str(self._origin) if self._origin else None)
        self._counted(spoken=1)
        return pcm

    def measure(self, text: str, speed: float = 1.0) -> int:
        """Length in samples of the trimmed clip."""
        return int(self.clip(text, speed).size)

    def prefetch(self, texts: Iterable[str], progress: Callable[[int, int], None] | None = None
                 ) -> None:
        """Make sure every text is available, reporting ``progress(done, total)``.

        When at least :data:`PARALLEL_FROM` texts are in neither memory nor the phrase
        cache and :attr:`workers` allows, more engines speak them side by side (one
        thread drives each engine's process). A clip does not depend on which engine
        spoke it, so the result is the same as one engine's."""
        todo = list(dict.fromkeys(texts))
        missing = [t for t in todo if not self._known(t)]
        workers = min(self.workers, len(missing) // PARALLEL_FROM + 1)
        done = len(todo) - len(missing)

        def step(text: str, engine: SpeechEngine) -> None:
            nonlocal done
            self._clip(text, self.rate, engine)
            with self._count:
                done += 1
                if progress:
                    progress(done, len(todo))

        stop = threading.Event()  # one engine failed, or a Ctrl-C: the others stop too
        failed: list[BaseException | None] = [None] * workers

        def run(i: int, part: list[str], engine: SpeechEngine) -> None:
            try:
                for text in part:
                    if stop.is_set():
                        return
                    step(text, engine)
            except BaseException as exc:
                stop.set()
                failed[i] = exc

        if workers > 1:
            extra = [_same_engine(self.engine) for _ in range(workers - 1)]
            engines = [self.engine, *extra]
            share = [missing[i::workers] for i in range(workers)]  # interleaved: even loads
            # daemon threads: an engine that hangs (a plugin review) is not waited for, by
            # a Ctrl-C here nor by Python at exit; the others end after their phrase
            threads = [threading.Thread(target=run, args=(i, part, e), name=f"speech-{i}",
                                        daemon=True)
                       for i, (part, e) in enumerate(zip(share, engines, strict=True))]
            try:
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            except BaseException:
                stop.set()
                raise
            finally:
                for e in extra:
                    e.close()
            first = next((exc for exc in failed if exc is not None), None)
            if first is not None:
                raise first
        for text in todo:
            if (text, self.rate) not in self._clips:
                step(text, self.engine)

    def _known(self, text: str) -> bool:
        """Whether ``text`` at the chosen rate is in memory, or now is from the cache."""
        if (text, self.rate) in self._clips:
            return True
        said = self.spoken(text)
        found = None if self.cache is None else self.cache.get(
            self._key(said, self.rate), self.sample_rate, self._most(said, self.rate))
        if found is not None:
            self._keep(text, self.rate, found)
            self._counted(hits=1)
        return found is not None


def _same_engine(engine: SpeechEngine) -> SpeechEngine:
    """Another engine like ``engine`` (its class, constructed without arguments)."""
    made: SpeechEngine = type(engine)()
    return made


class Phrases(Protocol):
    """Where a plan takes its phrases from: a :class:`SpeechBank` (synthesising on demand),
    or clips made elsewhere (a pack runner hands a worker the clips a track needs)."""

    voice: str
    """The resolved voice id."""
    sample_rate: int
    stats: SpeechStats
    lexicon: Lexicon
    """How words are said (a plan sets its routine's before asking for phrases)."""

    def measure(self, text: str, speed: float = 1.0) -> int:
        """Length in samples of the trimmed clip of ``text`` at ``speed``."""
        ...

    def clip(self, text: str, speed: float = 1.0) -> PCM:
        """The trimmed clip of ``text`` at ``speed``."""
        ...

    def prefetch(self, texts: Iterable[str],
                 progress: Callable[[int, int], None] | None = None) -> None:
        """Make every text available at speed 1.0."""
        ...
