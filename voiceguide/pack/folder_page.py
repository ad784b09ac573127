"""The player page ``serve`` makes for a folder of single builds that has no
``index.html``: the tracks its cue sheets describe (one, or one per part of a split
track), read within bounds, since the sheets are files anyone may have edited."""

from __future__ import annotations

import contextlib
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

from voiceguide.export.formats import formats
from voiceguide.io.bounded import parse_json
from voiceguide.io.paths import path_arg
from voiceguide.languages import most_spoken, page_count, page_words
from voiceguide.pack.player import render_player, track_data

MAX_SHEETS: Final = 1000
"""Most cue sheets a generated index lists."""
MAX_SHEET_BYTES: Final = 8 << 20
"""Largest cue sheet a generated index reads."""
MAX_PARTS: Final = 1000
"""Most parts a split track's cue sheet may have (one per chapter)."""
MAX_PAGE_BYTES: Final = 32 << 20
"""Most bytes of cue sheets one generated page reads (the sheets after are left out)."""
KEEP_PAGES: Final = 64
"""Most pages kept, by folder and the state of its cue sheets (see :func:`page_bytes`)."""
KEEP_PAGE_BYTES: Final = 64 << 20
"""Most bytes of pages kept (the least recently asked for go first)."""
_pages: OrderedDict[tuple[Any, ...], bytes | None] = OrderedDict()
_pages_lock = threading.Lock()
_making = threading.Lock()
"""Held while a page is made: one at a time, whichever folder it is for."""


def _sheet_tracks(folder: Path, sheet_path: Path) -> list[dict[str, Any]]:
    """The tracks a cue sheet describes (one, or one per part of a split track)."""
    if sheet_path.is_symlink() or not sheet_path.is_file() \
            or sheet_path.stat().st_size > MAX_SHEET_BYTES:
        return []
    try:
        # (Infinity or NaN, which the page's JSON.parse refuses, fail to parse here)
        sheet = parse_json(sheet_path.read_text(encoding="utf-8"))
        title = str(sheet["title"])
        if "parts" in sheet:
            parts = sheet["parts"]
            if len(parts) > MAX_PARTS:
                return []
            # the cues in order of time, each part's found by bisection: a cue is copied
            # once, whatever the parts say (every part over every cue was parts x cues)
            cues_all = sorted(sheet["cues"], key=lambda c: float(c["start"]))
            starts = [float(c["start"]) for c in cues_all]
            out = []
            last = 0.0
            for part in parts:
                a, b = float(part["start"]), float(part["end"])
                if not last <= a < b:  # parts follow one another, none empty
                    return []
                last = b
                cues = [{**c, "start": round(c["start"] - a, 4), "end": round(c["end"] - a, 4)}
                        for c in cues_all[bisect_left(starts, a) : bisect_left(starts, b)]]
                piece = {"duration": round(b - a, 4), "cues": cues,  # in the track's words
                         "chapters": [{"start": 0.0, "title": part["title"]}],
                         "language": sheet.get("language")}
                out.append(track_data(str(part["file"]), f"{title}: {part['title']}", piece))
            return [t for t in out if _plain(t["file"]) and (folder / t["file"]).is_file()]
        stem = sheet_path.name[: -len(".cues.json")]
        names = [str(sheet["file"])] if "file" in sheet else \
            [stem + f.suffix for f in formats().values()]
        found = [n for n in names if _plain(n) and (folder / n).is_file()]
        return [track_data(found[0], title, sheet)] if found else []
    except (OSError, ValueError, KeyError, TypeError):
        return []  # not a cue sheet this version understands


_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+")
"""A file name a build writes (safe_stem's characters, and a suffix): no path, and nothing
a browser reads as one (a sheet saying '\\\\127.0.0.1:9911\\evil.mp3' had the page play
audio from another host)."""


def _plain(name: Any) -> bool:
    """Whether a cue sheet's ``file`` is a name a build writes in this folder."""
    return _NAME.fullmatch(str(name)) is not None


def folder_page(folder: Path) -> str | None:
    """A player page for the single builds in ``folder`` (None: no tracks there)."""
    tracks = []
    left = MAX_PAGE_BYTES
    for path in sorted(folder.glob("*.cues.json"))[:MAX_SHEETS]:
        try:
            left -= path.stat().st_size
        except OSError:
            continue
        if left < 0:
            break
        tracks += _sheet_tracks(folder, path)
    if not tracks:
        return None
    # in the language most of the tracks speak (a tie: the first's), as a pack's page is
    language = most_spoken(t.get("lang") for t in tracks) or "en"
    words = page_words(language)
    count = page_count(words, len(tracks), "track")
    # titled by what plays, not by the folder ('output')
    title = str(tracks[0]["title"]) if len(tracks) == 1 else words["your_tracks"]
    return render_player(title, count, language, "voiceguide", tracks, None)


def page_bytes(folder: Path) -> bytes | None:
    """:func:`folder_page` as UTF-8, made once for each state of the folder (its own
    change time and each cue sheet's name, change time and size: the inode's, which no
    ``touch`` sets back) by one request while others wait: made for every request, 32
    requests at once took 2.9 GB to make the same 25 MB page (an attack); made one at a
    time for each folder, 32 requests for 32 folders of such sheets took 3.15 GB (the
    next attack). Pages are kept up to :data:`KEEP_PAGE_BYTES`."""
    try:
        sheets = []
        for path in sorted(folder.glob("*.cues.json"))[:MAX_SHEETS]:
            with contextlib.suppress(OSError):
                st = path.lstat()
                sheets.append((path.name, st.st_ctime_ns, st.st_size))
        key = (str(folder), folder.stat().st_ctime_ns, tuple(sheets))
    except OSError:
        return None
    with _pages_lock:
        if key in _pages:
            _pages.move_to_end(key)
            return _pages[key]
    with _making:  # one page made at a time
        with _pages_lock:
            if key in _pages:  # made while this request waited
                return _pages[key]
        page = folder_page(folder)
        data = page.encode("utf-8") if page is not None else None
        with _pages_lock:
            _pages[key] = data
            while len(_pages) > KEEP_PAGES or (len(_pages) > 1 and sum(
                    len(p or b"") for p in _pages.values()) > KEEP_PAGE_BYTES):
                _pages.popitem(last=False)
        return data


def listener_folders(folder: Path | str) -> list[str]:
    """The subfolders of a grouped pack's ``folder`` that hold a listener's player page,
    sorted (none in a folder of packs: each holds its own ``pack.json``)."""
    folder = path_arg(folder, "folder")
    try:
        return sorted(p.name for p in folder.iterdir() if (folder / "pack.json").is_file()
                      and not p.name.startswith(".") and not p.is_symlink()
                      and (p / "index.html").is_file() and not (p / "pack.json").exists())
    except OSError:
        return []
