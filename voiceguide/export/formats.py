"""Output formats: what a track can be written as, and the registry that names them.

A format owns its identity: name (what ``--format`` takes), file suffix, MIME type,
whether it carries chapters, and the packages whose versions decide its bytes. Formats
are registered through the ``register_formats`` plugin hook (:mod:`voiceguide.plugins`),
the built-in ones (MP3, M4A/M4B, Opus, WAV) the same way as an installed
plugin. This registry is the one list of suffixes and MIME types (feeds, players and
the server ask it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.errors import OutputError, UsageError, VoiceguideError, option, suggest
from voiceguide.plugins import Origin, collect, find, lookup, origin_of
from voiceguide.vocabulary import AUDIO_SUFFIXES, noncharacter

if TYPE_CHECKING:
    from pathlib import Path

    from voiceguide.audio import PCM
    from voiceguide.timeline import Timeline


@dataclass(frozen=True)
class TrackTags:
    """Tags written into a track (and the feed)."""

    title: str
    artist: str
    album: str
    comment: str
    genre: str = "Guided movement"
    track: int | None = None
    """Track number (in a pack or a split track)."""
    year: str | None = None
    cover_png: bytes | None = None
    total: int | None = None
    """How many tracks the album has (written as ``track/total``)."""
    language: str = "en"
    """The language the track speaks (the routine's code, ``de`` or ``pt-BR``): each
    format's language tag, the MP3's comment and chapter list named in it."""


MAX_TAG: Final = 500
"""Most characters of a tag given to the API (title, artist, album; a pack's own titles,
the routine's, the listener's name and a label, stay well under it)."""
MAX_TRACK: Final = 99_999
"""Highest track number given to the API."""


def check_tags(track_number: int | None = None, **texts: str | None) -> None:
    """Refuse tags given to the API that no player shows as one line (longer than
    :data:`MAX_TAG`, or holding a control character) and a track number that is not a
    whole number from 1 to :data:`MAX_TRACK`: :class:`UsageError` naming the argument."""
    from voiceguide.settings import control_character  # pydantic: not for an up-to-date build

    for field, text in texts.items():
        if text is None:
            continue
        if not isinstance(text, str):
            raise UsageError(f"{field}: give text, not {type(text).__name__}")
        if len(text) > MAX_TAG:
            raise UsageError(f"{field}: {len(text)} characters; the most is {MAX_TAG}")
        at = control_character(text)
        if at is not None:
            raise UsageError(f"{field}: a control character (U+{ord(text[at - 1]):04X}) at "
                             f"character {at}; give plain text on one line")
    if track_number is not None and (isinstance(track_number, bool) or not isinstance(
            track_number, int) or not 1 <= track_number <= MAX_TRACK):
        raise UsageError(f"track_number: {track_number!r}; give a whole number from 1 to "
                         f"{MAX_TRACK}")


_NOT_TEXT: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean_text(text: str) -> str:
    """Text for a tag or a title on one line: control characters, line breaks, lone
    surrogates and non-characters become spaces; runs of whitespace one space."""
    kept = "".join(" " if unicodedata.category(ch) in _NOT_TEXT or noncharacter(ord(ch))
                   else ch for ch in text)
    return " ".join(kept.split())


Writer = Callable[["BinaryIO", "Iterable[PCM]", int, TrackTags, "Timeline"], None]
"""``write(f, chunks, sample_rate, tags, timeline)``: encode int16 chunks into the
seekable binary file ``f`` with tags and chapters."""


@dataclass(frozen=True)
class Format:
    """An output format."""

    name: str
    """What ``--format`` takes."""
    suffix: str
    """File suffix, with the dot."""
    mime: str
    """MIME type (feeds, the server)."""
    chapters: bool
    """Whether the file carries chapter marks."""
    write: Writer
    """The encoder."""
    packages: tuple[str, ...] = ()
    """PyPI packages whose versions decide the bytes."""
    lossy: bool = False
    """Whether decoding gives back other samples than were encoded (the build then
    measures the encoder's effect on loudness and peaks, and compensates)."""
    podcast: bool = False
    """Whether podcast apps play it from a feed (Apple Podcasts takes MP3 and M4A): a
    pack whose feed lists tracks in another format says so."""
    codecs: str = ""
    """The codec inside, where the MIME type does not say it (``opus`` in Ogg): a web
    player asks the browser whether it plays ``audio/ogg; codecs="opus"``."""
    prepare: Callable[[PCM, int], None] | None = None
    """Called with a mix's background loop (int16, as the mix holds it) and sample rate
    before the loudness is solved: work the writer will want, started on the core that
    stage leaves idle (MP3: the loop's frames)."""

    @property
    def plugin(self) -> Origin | None:
        """The plugin the format comes from (None: built in)."""
        return origin_of(self)

    def blame(self, problem: str) -> str | None:
        """``problem`` said as a plugin format's, naming the plugin and whom to report it
        to; None for a built-in format."""
        origin = self.plugin
        return None if origin is None else (
            f"the {self.name} format from {origin} {problem}; report it to "
            f"{origin.distribution or 'its author'}")

    def write_checked(self, f: BinaryIO, chunks: Iterable[PCM], sample_rate: int,
                      tags: TrackTags, timeline: Timeline) -> None:
        """:attr:`write`, wherever it is called (the track, a split part, the excerpt the
        loudness is tried on): a plugin format's own exception (not a
        :class:`~voiceguide.errors.VoiceguideError`) is an :class:`OutputError` naming
        the plugin (a plugin review: a writer's ValueError was voiceguide's "internal
        error"), and a writer that wrote nothing is an error (an attack: "Wrote ...
        (0 kB)", up to date from then on)."""
        start = f.tell()
        try:
            self.write(f, chunks, sample_rate, tags, timeline)
        except VoiceguideError:
            raise
        except Exception as exc:
            said = self.blame(f"failed to write the track ({type(exc).__name__}: "
                              f"{str(exc)[:200]})")
            if said is None:
                raise  # a bug of ours
            raise OutputError(said) from exc
        if f.seek(0, 2) == start:
            raise OutputError(f"the {self.name} format wrote nothing; report it to its author")


def formats() -> dict[str, Format]:
    """Every registered format by name."""
    found: list[Format] = collect("register_formats")
    return {f.name: f for f in sorted(found, key=lambda f: f.name)}


def find_format(name: str) -> Format | None:
    """The format called ``name`` (None if there is none; ``MP3`` is ``mp3``, as the
    settings read it), without loading the installed plugins for a built-in one (see
    :func:`~voiceguide.plugins.lookup`)."""
    found: Format | None = lookup("register_formats", name) or (
        lookup("register_formats", name.lower()) if name != name.lower() else None)
    return found


def get_format(name: str) -> Format:
    """The format called ``name``, or a :class:`UsageError` listing the formats."""
    found = find_format(name)
    if found is None:
        known = formats()
        raise UsageError(f"unknown format '{name}'{suggest(name, known)}; use one of "
                         + ", ".join(known))
    return found


def _written_as(filename: str) -> Format | None:
    """The format that writes files of ``filename``'s suffix (None: none does)."""
    lower = filename.lower()
    found: Format | None = find("register_formats", lambda f: lower.endswith(f.suffix))
    return found


def mime_type(filename: str) -> str:
    """The MIME type of a track file by its suffix (``application/octet-stream`` if none
    of the formats writes that suffix)."""
    found = _written_as(filename)
    return found.mime if found is not None else "application/octet-stream"


def playable_type(filename: str) -> str:
    """What a browser is asked whether it can play (``canPlayType``) for a track file:
    its MIME type with the codec inside (``audio/ogg; codecs="opus"``; Safari before
    18.4 plays Ogg but not Opus in it)."""
    found = _written_as(filename)
    if found is not None and found.codecs:
        return f'{found.mime}; codecs="{found.codecs}"'
    return mime_type(filename)


def name_without_suffix(name: str, fmt: Format, argument: str, split: bool = False) -> str:
    """A track's file name given as ``argument`` without its suffix: ``evening.mp3`` for
    an MP3 names ``evening.mp3`` (it made ``evening.mp3.mp3``), and for a ``split``
    build ``evening.m3u8`` too (its playlist's name); another audio format's suffix
    (``evening.wav`` for an MP3) is a :class:`UsageError`, as :func:`check_suffix` says
    of a path."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix in (fmt.suffix, ".m3u8" if split else fmt.suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    if suffix in AUDIO_SUFFIXES:
        raise UsageError(f"{option(argument, name)}: the track's format is {fmt.name}, but "
                         f"the name ends in {suffix}; name it {name[: -len(suffix)]}, or set "
                         f"the format that writes {suffix} ({option('format')})")
    return name


def check_suffix(path: Path, fmt: Format) -> None:
    """Refuse to write a track of ``fmt`` under another audio format's name (``x.wav``
    holding MP3 bytes plays nowhere as a WAV); a name of no audio format is the caller's."""
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES and suffix != fmt.suffix:
        raise UsageError(f"{path}: the track's format is {fmt.name}, but the name ends in "
                         f"{suffix}; name it {path.stem}{fmt.suffix}, or set the format that "
                         f"writes {suffix} (settings: format)")
