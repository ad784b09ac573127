"""The coach's overview page of a grouped pack: one card per listener, each linking to
that listener's own player, feed, playlist and zip (the page itself is
:mod:`voiceguide.pack.player`'s, with its head)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

from voiceguide.io.atomic import write_text
from voiceguide.languages import page_count, page_words, words_language
from voiceguide.pack.model import Pack
from voiceguide.pack.page import HEAD
from voiceguide.pack.player import template

OVERVIEW: Final = HEAD + """<style>
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       background:linear-gradient(#26465a,#4b4366) fixed; color:#f4f1ea; }
header { padding:.8rem 1rem .2rem; display:flex; gap:.8rem; align-items:center; }
header img { width:56px; height:56px; border-radius:10px; }
h1 { font-size:1.25rem; margin:0; } header p { margin:.1rem 0 0; color:#b9c3c7; }
main { padding:.8rem; display:grid; gap:.8rem;
       grid-template-columns:repeat(auto-fill, minmax(280px, 1fr)); }
section { background:rgba(0,0,0,.18); border-radius:12px; padding:.8rem; }
h2 { font-size:1.05rem; margin:.1rem 0 .3rem; color:#e8b86b; }
a { color:#f4f1ea; } .dim, footer { color:#b9c3c7; }
ul { margin:.3rem 0; padding-left:1.2rem; } code { word-break:break-all; }
footer { font-size:.85rem; padding:0 1rem 1rem; }
</style>
</head>
<body>
<header><img src="cover.png" alt="">
<div><h1>{{ title }}</h1><p>{% if author %}{{ author }} · {% endif %}<span lang="{{ said }}">
{{- counts }}</span></p></div></header>
<main>
{% for g in groups %}<section class="listener" id="{{ g.folder }}">
<h2>{{ g.label }}</h2>
<p class="dim" lang="{{ said }}"><span class="count">{{ count(g.tracks, "track") }}</span>
 · <span class="duration">{{ g.duration }}</span></p>
<ul lang="{{ said }}">
<li><a href="{{ g.player }}">{{ words.player }}</a>
 ({{ words.folder }} <a href="{{ g.folder }}/">{{ g.folder }}/</a>)</li>
<li><a href="{{ g.feed }}">{{ words.feed }}</a>: <code>{{ g.feed }}</code></li>
<li><a href="{{ g.playlist }}">{{ words.playlist }}</a></li>
{% if g.zip %}<li><a href="{{ g.zip }}">Zip</a></li>{% endif %}
</ul>
<ol class="dim">{% for t in g.titles %}<li>{{ t }}</li>{% endfor %}</ol>
</section>
{% endfor %}</main>
<footer lang="{{ said }}">{{ words.overview_footer }}</footer>
</body>
</html>
"""


def write_overview(pack: Pack, out: Path, groups: list[dict[str, Any]],
                   sheets: list[dict[str, Any]], noun: str = "listener") -> Path:
    """Write the coach's ``index.html`` of a grouped pack into ``out``: one card per
    listener (``groups``: ``label``, ``folder``, ``player``, ``feed``, ``playlist``,
    ``zip`` or None, ``tracks`` (count), ``duration`` (text), ``titles``), in the pack's
    language or, where it gives none, the one most of the tracks (their cue ``sheets``)
    speak, as a feed is (its words in English where that language has none)."""
    language = pack.page_language(sheets)
    words = page_words(language)
    count = functools.partial(page_count, words)

    total = sum(int(g["tracks"]) for g in groups)
    counts = f"{count(len(groups), noun)} · {count(total, 'track')}"  # in said's language
    path = out / "index.html"
    write_text(path, template(OVERVIEW).render(
        lang=language, title=pack.title, author=pack.author, counts=counts, groups=groups,
        words=words, said=words_language(language), count=count, cover="cover.png"))
    return path
