"""``index.html``: a self-contained web player (no CDN, no fetch: the track data is
embedded, so it works from the file system and from a server alike), for a pack or for
any folder of tracks (``serve``).

The page is filled in one templating step (jinja2 with autoescaping); the track data
sits in a ``<script type="application/json">`` block with ``<``, ``>``, ``&`` and the JS
line separators escaped, and is read with ``JSON.parse``: no text from a routine or a
pack (``</script>``, ``<!--``...) can end the block or become markup, and the page's
policy runs its own script alone (:mod:`~voiceguide.pack.web`). On a phone the chapters
come under the player, the lock screen shows play/pause, seek and previous/next chapter
(Media Session), and each track's position is remembered and offered for resuming.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from voiceguide.export.formats import playable_type
from voiceguide.export.sidecars import cue_label
from voiceguide.io.atomic import write_text
from voiceguide.languages import page_words, words_language
from voiceguide.pack.model import Pack
from voiceguide.pack.page import PAGE
from voiceguide.pack.web import page_policy

if TYPE_CHECKING:
    import jinja2

_JSON_IN_HTML: Final = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                      "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(data: Any) -> str:
    """``data`` as JSON safe in a ``<script>`` block: ``<``, ``>``, ``&``, U+2028/9 (no
    ``</script>`` or ``<!--``) and all but ASCII escaped (a lone surrogate too)."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).translate(_JSON_IN_HTML)


def transcript(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """Cue lines for the player: start, end, text."""
    return [
        {"start": c["start"], "end": c["end"], "text": cue_label(c, sheet)}
        for c in sheet["cues"]
        if c["end"] > c["start"]
    ]


def track_data(file: str, title: str, sheet: dict[str, Any]) -> dict[str, Any]:
    """One track as the player shows it (durations from the cue sheet, as in the list)."""
    return {
        "file": file,
        "title": title,
        "duration": sheet["duration"],
        "chapters": [{"start": c["start"], "title": c["title"]} for c in sheet["chapters"]],
        "cues": transcript(sheet),
        "lang": str(sheet.get("language") or ""),
        "type": playable_type(file),
    }


@cache
def template(source: str = PAGE) -> jinja2.Template:
    """The page ``source`` (the player's, or another with its :data:`HEAD`) made once."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(source, globals={"csp": page_policy(source)})


def render_player(title: str, subtitle: str, language: str, author: str,
                  tracks: list[dict[str, Any]], cover: str | None,
                  links: tuple[tuple[str, str], ...] = ()) -> str:
    """The player page for ``tracks`` (see :func:`track_data`) in ``language``;
    ``cover``: the cover image's relative URL, if any; ``links``: (label, URL) of the
    folder's feed and more (a label the page's words name, ``feed``, is said in them)."""
    from markupsafe import Markup

    words = page_words(language)  # the page's own words in its language
    said = {k: words[k] for k in ("resume", "download", "not_loaded", "cannot", "playing",
                                  "paused", "skipped")}
    data = {"title": title, "author": author, "cover": cover, "tracks": tracks,
            "words": said}
    return template().render(lang=language, title=title, subtitle=subtitle, cover=cover,
                             links=tuple((words.get(label, label), href)
                                         for label, href in links),
                             words=words, said=words_language(language),  # pt-BR: en
                             data=Markup(script_json(data)))  # for <script>


def page_data(pack: Pack, entries: list[dict[str, Any]], sheets: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """The tracks of a pack, as the player embeds them."""
    return [track_data(e["file"], e["title"], sheet)
            for e, sheet in zip(entries, sheets, strict=True)]


PACK_LINKS: Final = (("feed", "feed.xml"), ("playlist", "playlist.m3u8"))
"""What every pack folder's player links to, so a listener sent it can subscribe (each
label named in the page's language: see :func:`~voiceguide.languages.page_words`)."""


def write_player(pack: Pack, out: Path, entries: list[dict[str, Any]],
                 sheets: list[dict[str, Any]], language: str, zip_name: str | None = None
                 ) -> Path:
    """Write ``index.html`` into the pack folder ``out``, a page in ``language`` (with a
    link to the folder's zip ``zip_name``, if one is made: a listener sent the page could
    not find it)."""
    m, path = pack, out / "index.html"
    subtitle = m.author + (" · " + m.description.strip() if m.description.strip() else "")
    links = PACK_LINKS + ((("zip", quote(zip_name)),) if zip_name else ())
    write_text(path, render_player(m.title, subtitle, language, m.author,
                                   page_data(pack, entries, sheets), "cover.png", links))
    return path
