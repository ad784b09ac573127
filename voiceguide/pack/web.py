"""What the web side declares: the media type of each file ``serve`` hands out, whether a
client's copy is current, and the Content-Security-Policy of the pages a pack writes and
``serve`` answers with.

The player's data and every title in it are text (see :mod:`voiceguide.pack.player`);
the policy is the second wall, should a page ever carry markup it was not meant to: only
the page's own script runs (by its hash), media and images come from the page's own
origin (a cue sheet naming another host played its audio from there before the folder
page checked names), and nothing is fetched, framed, posted or based elsewhere.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
from email.message import Message
from pathlib import Path
from typing import Final

from voiceguide.export.formats import formats

DOCUMENT_TYPES: Final = {
    ".m3u8": "audio/x-mpegurl; charset=utf-8",  # a playlist, not an HLS stream
    ".vtt": "text/vtt; charset=utf-8",
    ".lrc": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".zip": "application/zip",
}

_SCRIPT: Final = re.compile(r"<script>(.*?)</script>", re.S)
"""An inline script that runs (the data block, ``type="application/json"``, does not)."""

SERVED: Final = ("frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
                 "object-src 'none'")
"""What ``serve`` adds to every page as a header (a ``<meta>`` policy cannot forbid
framing, and a page a coach put in the folder has no policy of its own)."""


def page_policy(source: str) -> str:
    """The policy of a page made from the template ``source``: its inline scripts (whose
    text is fixed in the template) by hash, inline styles, images and media of its own
    origin (and the file system, from where the page is opened), requests to its own
    origin from its script, nothing else."""
    scripts = _SCRIPT.findall(source)
    if any("{{" in s or "{%" in s for s in scripts):  # its hash would not be the page's
        raise ValueError("a page's script must be fixed text, not a template")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts) or "'none'"
    return (f"default-src 'none'; script-src {hashes}; "
            "style-src 'unsafe-inline'; img-src 'self' data:; media-src 'self'; "
            # the player asks its own server whether a track that failed is there
            "connect-src 'self'; "
            "base-uri 'none'; form-action 'none'")


def content_type(path: Path) -> str:
    """The media type of a served file (formats from the registry; a chapters file as
    Podcasting 2.0 names it, which podcast apps may check)."""
    if path.name.endswith(".chapters.json"):
        return "application/json+chapters"
    audio = {f.suffix: f.mime for f in formats().values()}
    return audio.get(path.suffix) or DOCUMENT_TYPES.get(path.suffix, "application/octet-stream")


def unchanged(headers: Message, tag: str, mtime: float | None) -> bool:
    """Whether the client's copy (its request ``headers``) is the file of ETag ``tag``
    (If-None-Match, else If-Modified-Since unless ``mtime`` is None, RFC 9110 13.1): the
    answer is then 304 with no body."""
    match = headers.get("If-None-Match")
    if match is not None:
        return match.strip() == "*" or tag in {t.strip().removeprefix("W/")
                                               for t in match.split(",")}
    since = headers.get("If-Modified-Since")
    if since is None or mtime is None:
        return False
    try:
        when = email.utils.parsedate_to_datetime(since)
        when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):  # year 99999999999
        return False
    return when.tzinfo is not None and int(mtime) <= when.timestamp()


_RANGE: Final = re.compile(r"bytes=(\d*)-(\d*)", re.I)
_RANGES: Final = re.compile(r"bytes=\s*(\d+-\d*|-\d+)(\s*,\s*(\d+-\d*|-\d+))*", re.I)
"""Several byte ranges, each ``first-last``, ``first-`` or ``-suffix``."""
MAX_RANGE: Final = 200
"""Longest ``Range`` header read (a longer one is malformed)."""


def byte_range(header: str | None, size: int, current: bool = True
               ) -> tuple[int, int, bool]:
    """The bytes a ``Range`` ``header`` asks of a file of ``size`` bytes, as ``(start,
    end, partial)``: the whole file without one, in a unit other than bytes, for several
    ranges (as RFC 9110 allows), or when not ``current`` (an If-Range naming another
    version); a start past the end or an end before its start: ``(1, 0, True)`` (416).
    A malformed one (``bytes=1``, ``bytes=--1``, over :data:`MAX_RANGE` characters) is
    a ``ValueError``."""
    if header is None or size == 0 or not current:
        return 0, size - 1, False
    if not header.strip().lower().startswith("bytes="):
        return 0, size - 1, False  # a unit we do not know: ignored (RFC 9110 14.2)
    m = _RANGE.fullmatch(header.strip()) if len(header) <= MAX_RANGE else None
    if m is None:
        if len(header) > MAX_RANGE or not _RANGES.fullmatch(header.strip()):
            raise ValueError(f"malformed Range header {header[:40]!r}")
        return 0, size - 1, False  # several ranges: the whole file
    first, last = m.groups()
    if not first and not last:
        raise ValueError("Range 'bytes=-' names no bytes")
    if first:  # past the end, or ending before it starts: none of it (416)
        start = int(first)
        if last and int(last) < start:
            return 1, 0, True
        end = min(int(last), size - 1) if last else size - 1
        return (start, end, True) if start < size else (1, 0, True)
    return max(0, size - int(last)), size - 1, True
