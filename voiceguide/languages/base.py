"""What a language's table holds (:class:`Language`), with English's words as the
defaults of the fields other languages may leave out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

Phrases = Mapping[str, str | tuple[str, ...]]

_EN_FIXES: Final = MappingProxyType({
    "seconds": "thirty seconds", "breaths": "breaths", "either": "or", "both": "and",
    "once": "once",
    "twice": "twice", "times": "{n} times", "more": "{n} more", "range": "{a} to {b}",
    "minute": "a minute", "minutes": "minutes"})
"""English's words for the fixes a warning suggests (see :attr:`Language.fixes`)."""
_EN_CHIMES: Final = MappingProxyType({"bowl": "singing bowl", "bell": "bell",
                                      "soft": "soft chime"})
"""English's names of the chimes (see :attr:`Language.chimes`)."""
_EN_PAGE: Final = MappingProxyType({
    "chapters": "Chapters", "tracks": "Tracks", "transcript": "Transcript",
    "feed": "Podcast feed", "playlist": "Playlist", "zip": "All tracks (zip)",
    "resume": "Resume at", "playing": "Playing", "paused": "Paused",
    "skipped": "Skipped (it did not load): {title}.",
    "footer": "Made with voiceguide. Close your eyes and follow the voice; stop if "
              "anything hurts.",
    "download": "download it",
    "not_loaded": "This track did not load: reload the page, or {link}.",
    "cannot": "This browser cannot play this track's format ({kind}): {link} and play it "
              "in VLC, or ask for an MP3.",
    "your_tracks": "Your tracks", "one_track": "1 track", "tracks_count": "{n} tracks",
    "player": "Player", "folder": "folder", "one_listener": "1 listener",
    "listeners_count": "{n} listeners", "one_routine": "1 routine",
    "routines_count": "{n} routines",
    "overview_footer": "Made with voiceguide. Each folder holds only its own tracks: "
                       "share each folder's feed, player or zip on its own."})
"""English's words of the web player page and a grouped pack's overview (see
:attr:`Language.page`)."""


@dataclass(frozen=True)
class Language:
    """What voiceguide says in one language."""

    code: str
    """ISO 639-1 code (``de``); voices whose language starts with it speak it."""
    name: str
    """The language's own name (``Deutsch``)."""
    sides: tuple[str, str]
    """The words for left and right, as ``{{ side }}`` prints them."""
    side_title: str
    """Chapter title of one side of a ``sides`` step (``{title}`` and ``{side}``)."""
    exercise: str
    """Chapter title of a ``sides`` step outside any exercise or section."""
    phrases: Phrases
    """The built-in phrases (``phrase('name')``); the first wording is the full one."""
    numbers: Callable[[int], str]
    """A whole number 0-999 in words (countdowns and the ``words`` filter)."""
    for_listener: str = "{title} for {name}"
    """A track's title when it is made for someone (``{title}`` and ``{name}``)."""
    continued: str = "{title}, continued"
    """Chapter title of what an exercise or section goes on with after a ``sides`` step
    inside it (``{title}``), so the chapter list never names one part twice."""
    fixes: Mapping[str, str] = field(default_factory=lambda: _EN_FIXES)
    """The words a warning's fix suggests to write (``seconds``, ``breaths``, ``either``, ``both``,
    ``once``, ``twice``, ``times`` and ``more`` with ``{n}``, ``range`` with ``{a}`` and
    ``{b}``, ``minute`` with its article and the plural ``minutes``)."""
    counted: Callable[[int], str] | None = None
    """A number as it counts something, where that differs from :attr:`numbers`
    (German 'ein Mal', Spanish 'una vez', 'doscientas veces'); None: :attr:`numbers`."""
    chimes: Mapping[str, str] = field(default_factory=lambda: _EN_CHIMES)
    """What a transcript calls each chime (``bowl``, ``bell``, ``soft``), shown in
    brackets where it rings: ``(Klangschale)``."""
    page: Mapping[str, str] = field(default_factory=lambda: _EN_PAGE)
    """The web player's words (headings, links, the line under the player and the
    resume button), in a listener's language where most of her tracks speak it; and
    the words of a grouped pack's overview for the coach."""
    album: str = "voiceguide sessions"
    """The album tag of a track built on its own (a pack's tracks take the pack's title)."""
    genre: str = "Guided movement"
    """The genre tag of every track: a player shows both beside the title, so a German
    track said "Guided movement" in English (a listening audit)."""
    agreement: tuple[tuple[str, str], ...] = ()
    """Regular expressions and replacements that make a number said in words agree with
    the noun after it, applied to every spoken text: ``{{ minutes | words }} minutes``
    is "vingt et une minutes" in French, "veintiún minutos" in Spanish."""
    regional_page: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}))
    """Page words a region says otherwise, by its lower-case tag (``pt-pt``: "Leitor",
    where Brazil says "Player"); the others are :attr:`page`'s."""
    regional_numbers: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    """Words a region spells otherwise in :attr:`numbers`, by its lower-case tag, as
    (word, the region's): Portugal's "dezasseis" where Brazil writes "dezesseis"."""
    masculine_sides: tuple[str, str] | None = None
    """Left and right as a masculine noun takes them, where they differ from
    :attr:`sides` (Italian "sinistro", "destro": ``{{ side | masculine }}``)."""
    tag_code: str = "eng"
    """ISO 639-2 code of the language, as a track's tags carry it (an MP3's ``TLAN`` and
    comment, an MP4 track's language, Opus's ``LANGUAGE``, a WAV's ``ILNG``)."""
