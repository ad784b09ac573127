"""The speech engine interface, and the registry that names the engines.

An engine owns its identity: its registry name, version, voices (with the native
sample rate of each) and what makes a voice's clips differ from another's. Engines are
registered through the ``register_engines`` plugin hook (:mod:`voiceguide.plugins`),
the built-in ones the same way as an installed plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

from voiceguide.errors import (
    EngineError,
    UsageError,
    VoiceguideError,
    VoiceNotFoundError,
    option,
    suggest,
    unknown_engine,
)
from voiceguide.languages import LANGUAGES, base_code, speaks, tag
from voiceguide.plugins import collect, lookup, origin_of

if TYPE_CHECKING:
    from voiceguide.audio import PCM


@dataclass(frozen=True)
class VoiceInfo:
    """One voice of an engine."""

    id: str
    """What ``--voice`` takes."""
    name: str
    """A readable name."""
    languages: tuple[str, ...] = ()
    """Language codes (``en-us``)."""
    gender: str | None = None
    sample_rate: int | None = None
    """Native sample rate, when known without loading the voice."""


class SpeechEngine(Protocol):
    """What the pipeline needs from a speech engine."""

    name: str
    """Registry name (part of the phrase cache key)."""
    default_voice: str
    """Voice used when none is asked for."""

    @property
    def version(self) -> str:
        """Engine version string (part of the phrase cache key)."""
        ...

    def sample_rate(self, voice: str) -> int:
        """Native sample rate of ``voice`` (clips come back at this rate)."""
        ...

    def identity(self, voice: str) -> str:
        """What names ``voice``'s sound in cache keys (its id, or a hash of its model)."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """Every voice the engine offers. An engine whose voices come with its
        :attr:`version` (none added or removed but by a new version) may say so with a
        true ``fixed_voices`` attribute: the list is then kept with the phrase cache,
        and a build whose phrases are all cached does not start the engine to ask."""
        ...

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """Speak ``text`` with ``voice`` at ``rate`` words per minute as heard (words over
        the seconds of voice once the edges are trimmed); mono int16 samples at the
        voice's native rate. Each engine calibrates its own speed control to this."""
        ...

    def close(self) -> None:
        """Release the engine (stop worker processes)."""
        ...


class SilentPhrase(EngineError):
    """The engine gave only silence for a phrase (letters it has no sound for)."""

    def __init__(self, engine: str, text: str, where: str | None = None,
                 plugin: str | None = None) -> None:
        self.engine, self.text, self.where, self.plugin = engine, text, where, plugin
        """The engine's name, the phrase as it was given to it, its place if known, and
        the plugin the engine comes from (None: built in)."""
        super().__init__(
            f"{where + ': ' if where else ''}the {engine} engine gave only silence for "
            f"{text[:40]!r}; write it in words the voice can say" + (
                f" (if it says other words as badly, the engine from {plugin} failed: "
                "report it to its author)" if plugin else ""))

    def __reduce__(self) -> tuple[type[SilentPhrase], tuple[str, str, str | None, str | None]]:
        return type(self), (self.engine, self.text, self.where, self.plugin)  # from a worker

    def at(self, places: Mapping[str, str], spoken: Callable[[str, str], str]
           ) -> SilentPhrase:
        """This error said at the place (of ``places``: text to ``file:line:col: field``)
        of the phrase the engine was given, as it is written there (``spoken(text,
        engine)``: what an engine is given for a text, see ``Lexicon.spoken``)."""
        for text, where in places.items():
            if spoken(text, self.engine) == self.text:
                return SilentPhrase(self.engine, text, where, self.plugin)
        return self


class EngineClass(Protocol):
    """A registered engine: a class with a ``name`` that is constructed without arguments."""

    name: str

    def __call__(self) -> SpeechEngine: ...


def engines() -> dict[str, EngineClass]:
    """Every registered engine class by name."""
    found: list[EngineClass] = collect("register_engines")
    return {cls.name: cls for cls in sorted(found, key=lambda c: c.name)}


def engine_class(name: str) -> EngineClass | None:
    """The engine class called ``name`` (None if there is none), without loading the
    installed plugins for a built-in one (see :func:`~voiceguide.plugins.lookup`)."""
    if not isinstance(name, str):  # an app's None: said, not an AttributeError
        raise UsageError(f"an engine is named by a str such as 'espeak' (got "
                         f"{type(name).__name__})")
    found: EngineClass | None = lookup("register_engines", name)
    return found


def get_engine(name: str) -> SpeechEngine:
    """Create the engine called ``name`` (a name no engine has: a :class:`UsageError`,
    as the command line's ``--engine`` gives; one that fails to start: an
    :class:`EngineError`)."""
    cls = engine_class(name)
    if cls is None:
        raise UsageError(unknown_engine(name, engines().values()))
    return guarded(cls, "to start", cls)


Listing = Callable[[], list[VoiceInfo]]
"""Where a voice is looked up: the engine's voices, or a kept copy of them."""


def resolve_voice(engine: SpeechEngine, voice: str | None, language: str | None = None,
                  listing: Listing | None = None) -> str:
    """The engine's id for ``voice`` (an id, the part after '/', a name, or the language
    a voice lists first: ``en-gb`` is ``gmw/en``), or raise
    :class:`VoiceNotFoundError` with the closest ids. Without a voice: the engine's
    default voice, or with ``language`` one that speaks it (see :func:`language_voice`).
    An engine may also define ``resolve(voice) -> str | None`` to take voices that it
    does not list (a Piper ``.onnx`` file): it checks them and returns their id, or None
    to look in the list. ``listing``: where to look (default: ``engine.voices``)."""
    if voice is None or voice == "":
        return engine.default_voice if language is None else \
            language_voice(engine, language, listing)
    own = getattr(engine, "resolve", None)  # optional: engines that take voice files
    found = own(voice) if own is not None else None
    if found is not None:
        return str(found)
    voices = (listing or engine.voices)()
    for v in voices:
        if voice in (v.id, v.id.split("/")[-1]) or voice.lower() == v.name.lower():
            return v.id
    code = tag(voice)  # a language as `voiceguide voices` lists it (`en-gb`): its voice
    speaking = [v for v in voices if v.languages and tag(v.languages[0]) == code]
    if speaking:
        return min(speaking, key=lambda v: v.id).id
    names = [v.id for v in voices] + [v.id.split("/")[-1] for v in voices] + \
        sorted({lang for v in voices for lang in v.languages[:1]})
    hint = suggest(voice, list(dict.fromkeys(names)))
    from voiceguide.vocabulary import VOICE_FILE_SUFFIXES

    if voice.endswith(VOICE_FILE_SUFFIXES):
        hint += f" (a .onnx voice file is for {option('engine', 'piper')})"
    raise VoiceNotFoundError(
        f"unknown voice '{voice}' for the {engine.name} engine{hint}; "
        "list the voices with 'voiceguide voices'"
    )


def voice_identity(engine_name: str, voice: str | None) -> str:
    """What names ``voice``'s sound (the engine's version and :meth:`SpeechEngine.identity`,
    e.g. the hash of a Piper voice's files) for input hashes, without starting the engine; the
    voice as given when the engine cannot tell (the build then reports why)."""
    from voiceguide.errors import VoiceguideError

    cls = engine_class(engine_name)
    if cls is None:
        return voice or ""
    try:
        engine = guarded(cls, "to start", cls)
    except VoiceguideError:
        return voice or ""
    try:
        return guarded(engine, "to name its voice", lambda: (
            f"{engine.version}/{engine.identity(voice or engine.default_voice)}"))
    except VoiceguideError:
        return voice or ""
    finally:
        engine.close()


def list_voices(engine_name: str) -> list[VoiceInfo]:
    """The voices of engine ``engine_name`` (starts it, asks, stops it)."""
    engine = get_engine(engine_name)
    try:
        return engine.voices()
    finally:
        engine.close()


def language_voice(engine: SpeechEngine, language: str, listing: Listing | None = None
                   ) -> str:
    """The voice ``engine`` speaks ``language`` with: for a language with a region
    (``pt-BR``), its default voice if that speaks exactly that region, else a voice that
    does (espeak's ``roa/pt-br``, not Portugal's ``roa/pt``); else its default voice if
    that speaks the language, else a voice of exactly that language, else one of a
    regional variant (first by id). Raises :class:`VoiceNotFoundError` naming the engines
    that have a voice for it. ``listing``: where to look (default: ``engine.voices``)."""
    voices = (listing or engine.voices)()
    wanted = tag(language)
    regional = sorted((v.id != engine.default_voice, v.id) for v in voices if "-" in wanted
                      and any(tag(lang) == wanted for lang in v.languages))
    if regional:  # the default voice first: an en-US routine keeps Piper's en_US default
        return regional[0][1]
    for v in voices:
        if v.id == engine.default_voice and speaks(v.languages, language):
            return v.id
    code = base_code(language)
    exact = sorted(v.id for v in voices if code in (base_code(lang) for lang in v.languages)
                   and any(lang.lower() == code for lang in v.languages))
    close = sorted(v.id for v in voices if speaks(v.languages, language))
    if exact or close:
        return (exact or close)[0]
    table = LANGUAGES.get(code)
    named = f"{table.name} ('{language}')" if table else f"'{language}'"
    others = engines_speaking(language, skip=engine.name)
    fix = (f"; these engines have one: {', '.join(others)} (use "
           f"{option('engine', others[0])})") if others else "; no installed engine has one"
    raise VoiceNotFoundError(f"the {engine.name} engine has no voice for {named}, the "
                             f"routine's language{fix}")


def engines_speaking(language: str, skip: str = "") -> list[str]:
    """Names of the installed engines with a voice for ``language`` (each started, asked
    and stopped; an engine that cannot start, or a ``hidden`` one, is left out)."""
    found: list[str] = []
    for name, cls in engines().items():
        if name == skip or getattr(cls, "hidden", False):
            continue
        try:
            other = cls()
            try:
                if any(speaks(v.languages, language) for v in other.voices()):
                    found.append(name)
            finally:
                other.close()
        except (VoiceguideError, OSError, ImportError):
            continue  # an engine that cannot start has no voice to offer
    return found


SAMPLE_RATES: Final = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
"""The sample rates an engine's voices may speak at: every output format takes them (MP3
takes no others). An engine resamples a voice at any other rate itself (as Piper's)."""
MAX_CLIP_SECONDS: Final = 300
"""The longest clip an engine may give back for one phrase."""

T = TypeVar("T")


def guarded(engine: object, doing: str, call: Callable[[], T]) -> T:
    """``call()``, where a plugin engine's own exception (not a :class:`VoiceguideError`)
    becomes an :class:`EngineError` naming the engine and the distribution to report it
    to; a built-in engine's is a bug of ours and goes on as it is."""
    try:
        return call()
    except VoiceguideError:
        raise
    except (Exception, SystemExit) as exc:  # a plugin's sys.exit() is its failure too
        cls = engine if isinstance(engine, type) else type(engine)
        origin = origin_of(cls)
        if origin is None:
            raise
        raise EngineError(
            f"the {getattr(cls, 'name', cls.__name__)} engine from {origin} failed "
            f"{doing} ({type(exc).__name__}: {str(exc)[:200]}); report it to "
            f"{origin.distribution or 'its author'}") from exc


def native_rate(engine: SpeechEngine, voice: str) -> int:
    """The sample rate ``voice`` speaks at, checked to be one the pipeline takes."""
    rate = guarded(engine, "to give its sample rate", lambda: engine.sample_rate(voice))
    if not isinstance(rate, int) or isinstance(rate, bool) or rate not in SAMPLE_RATES:
        raise EngineError(f"the {engine.name} engine's voice '{voice}' speaks at {rate!r} "
                          f"Hz; an engine's voices must use one of "
                          f"{', '.join(map(str, SAMPLE_RATES))} Hz (resample in the engine)")
    return rate


def speak(engine: SpeechEngine, text: str, voice: str, rate: int, sample_rate: int) -> PCM:
    """``engine.synthesize(text, voice, rate)``, checked to be what the pipeline takes:
    mono int16 samples, not empty, at most :data:`MAX_CLIP_SECONDS` long."""
    import numpy as np

    pcm = guarded(engine, f"to say {text[:40]!r}",
                  lambda: engine.synthesize(text, voice, rate))
    kind = (f"{pcm.dtype} samples of shape {pcm.shape}" if isinstance(pcm, np.ndarray)
            else f"a {type(pcm).__name__}")
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 1:
        problem = f"gave {kind}; synthesize() must return mono int16 samples (a 1-D array)"
    elif pcm.size == 0:
        problem = "gave no samples"
    elif pcm.size > MAX_CLIP_SECONDS * sample_rate:
        problem = (f"gave {pcm.size / sample_rate:.0f} s of audio, more than "
                   f"{MAX_CLIP_SECONDS} s")
    else:
        return pcm
    raise EngineError(f"the {engine.name} engine {problem} for {text[:40]!r}")


def running_engine_is(engine: object, name: str) -> None:
    """Refuse a running ``engine`` other than the engine ``name`` the settings give: its
    track and cue sheet would say the one and be spoken by the other, and a request's
    hash would vouch for it (an app team's review: an espeak engine shared by a server
    built a request for piper, and ``up_to_date`` then found it built)."""
    has = getattr(engine, "name", None)
    if engine is not None and isinstance(has, str) and has != name:
        raise UsageError(f"engine= is a running {has} engine, but the settings ask for "
                         f"{name!r}: give the settings engine={has!r} too, or a {name} "
                         f"engine (vg.get_engine({name!r}))")
