"""Phrases as units of work, for runners that synthesise them apart from the tracks.

A :class:`PhraseRef` names one clip by its phrase-cache key (engine, version, voice,
rate, text, sample rate), so the same phrase has the same name on every machine.
:func:`synthesize` makes one (from the machine's own phrase cache when it can);
:class:`ClipBank` hands a track's plan the clips made elsewhere and, when the plan asks
for one it was not given (a sped-up variant, a narration that tells the fitted length),
raises :class:`MissingPhrases` naming every phrase it knows is missing, so the runner
can make them and try the track again. Planning is deterministic, so the phrases a track
asks for, and its bytes, are the same as when it synthesises on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.speech.bank import SpeechBank
    from voiceguide.speech.engine import SpeechEngine


@dataclass(frozen=True)
class PhraseRef:
    """One clip: what to synthesise, and its cache key."""

    engine: str
    voice: str
    rate: int
    """Words per minute (a sped-up variant has its own rate)."""
    text: str
    """What the engine is given (the track's lexicon already applied)."""
    key: str
    """The phrase-cache key: the same on every machine."""


class MissingPhrases(Exception):
    """The plan needs phrases it was not given."""

    def __init__(self, refs: Iterable[PhraseRef]) -> None:
        self.refs = frozenset(refs)
        super().__init__(f"{len(self.refs)} phrases missing")


def clip_bank(engine: SpeechEngine, voice: str, rate: int, clips: Mapping[str, PCM]
              ) -> SpeechBank:
    """A bank over ``clips`` (by key) that never synthesises: see :class:`MissingPhrases`."""
    from voiceguide.speech.bank import SpeechBank

    class ClipBank(SpeechBank):
        def ref(self, said: str, rate: int) -> PhraseRef:
            # the bank's own key: a plugin's release in it too (a review: two keys)
            return PhraseRef(engine.name, voice, rate, said, self._key(said, rate))

        def _make(self, text: str, rate: int, engine: SpeechEngine | None = None) -> PCM:
            ref = self.ref(text, rate)  # ``text`` is already what the engine is given
            pcm = clips.get(ref.key)
            if pcm is None:
                raise MissingPhrases([ref])
            return pcm

        def prefetch(self, texts: Iterable[str],
                     progress: Callable[[int, int], None] | None = None) -> None:
            wanted = list(dict.fromkeys(texts))
            missing = [r for r in (self.ref(self.spoken(t), self.rate) for t in wanted)
                       if r.key not in clips]
            if missing:
                raise MissingPhrases(missing)
            super().prefetch(wanted, progress)

    return ClipBank(engine, voice, rate, None)


def synthesize(engine: SpeechEngine, ref: PhraseRef) -> tuple[PCM, bool]:
    """The clip of ``ref`` (trimmed, as a track's bank makes it), from this machine's
    phrase cache or the engine; and whether the engine spoke it."""
    from voiceguide.speech.bank import SpeechBank
    from voiceguide.speech.cache import PhraseCache

    bank = SpeechBank(engine, ref.voice, ref.rate, PhraseCache())  # no lexicon: applied
    pcm = bank.clip(ref.text)
    return pcm, bank.stats.synthesized > 0
