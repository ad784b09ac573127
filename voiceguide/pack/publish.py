"""The files that make a pack play anywhere: ``playlist.m3u8``, ``feed.xml`` (RSS 2.0 with
iTunes, Podcasting 2.0 and Podlove Simple Chapters tags), ``<track>.chapters.json``, a
cover, the web player and a zip. All deterministic: the feed's dates come from the pack file."""

from __future__ import annotations

import datetime
import email.utils
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from voiceguide.errors import OutputError
from voiceguide.export.cover import make_cover
from voiceguide.export.formats import get_format, mime_type
from voiceguide.io.atomic import atomic_write, write_bytes, write_text
from voiceguide.io.bounded import parse_json
from voiceguide.io.paths import safe_stem
from voiceguide.pack.dest import Destination
from voiceguide.pack.jobs import TrackJob
from voiceguide.pack.manifest import entry_dest, up_to_date
from voiceguide.pack.model import Pack
from voiceguide.pack.player import track_data, write_player
from voiceguide.timeline import MAX_TRACK_SECONDS
from voiceguide.version import __version__

ITUNES: Final = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST: Final = "https://podcastindex.org/namespace/1.0"
PSC: Final = "http://podlove.org/simple-chapters"
ATOM: Final = "http://www.w3.org/2005/Atom"


def hms(seconds: float, millis: bool = False) -> str:
    """``H:MM:SS`` (or ``HH:MM:SS.mmm``)."""
    if millis:
        ms = int(round(seconds * 1000))
        h, m, sec = ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60
        return f"{h:02d}:{m:02d}:{sec:02d}.{ms % 1000:03d}"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def check_base_url(base_url: str) -> str:
    """``base_url`` if it is a plain web address a feed can link under (http or https, a
    host, a path; no spaces, quotes, query or fragment, which would break every link made
    from it); else a :class:`UsageError` saying what is wrong."""
    from urllib.parse import urlsplit

    from voiceguide.errors import UsageError, option

    if not isinstance(base_url, str):
        raise UsageError(f"base_url is a web address (a str), not {type(base_url).__name__}")
    try:
        parts = urlsplit(base_url)
        _ = parts.port, parts.hostname  # urlsplit checks these only when asked
    except ValueError as exc:  # a port that is no number 1-65535, a host it cannot read
        raise UsageError(f"{option('base_url', base_url)}: not a web address ({exc})") from None
    wrong = ("it must start with http:// or https://"
             if parts.scheme not in ("http", "https") else
             "it has no host" if not parts.hostname else
             "the host cannot hold '%'" if "%" in parts.hostname else
             "a query (?) or fragment (#) cannot take file names after it"
             if parts.query or parts.fragment or base_url.endswith(("?", "#")) else
             "spaces, quotes, '<', '>' and control characters are not allowed (write %20 for"
             " a space)" if any(c.isspace() or c in "\"'<>\\" or ord(c) < 32 for c in base_url)
             else None)
    if wrong:
        raise UsageError(f"{option('base_url', base_url)}: {wrong}")
    return base_url if base_url.isascii() else _ascii_url(base_url)


def _ascii_url(iri: str) -> str:
    """A web address with letters beyond ASCII as a feed must write it (RFC 3986): the
    host in IDNA (xn--), the path percent-encoded as UTF-8."""
    from urllib.parse import urlsplit, urlunsplit

    from voiceguide.errors import UsageError, option

    parts = urlsplit(iri)
    netloc = parts.netloc
    if not netloc.isascii():
        if any(ch in (parts.hostname or "") for ch in "ßς\u200c\u200d"):
            # IDNA 2003 (Python's codec) maps these to other letters, browsers do not
            raise UsageError(f"{option('base_url', iri)}: write the host in its xn-- form, as "
                             "your domain registrar shows it")
        try:
            host = (parts.hostname or "").encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UsageError(f"{option('base_url', iri)}: the host is not a valid name ({exc})"
                             ) from None
        userinfo = netloc.rpartition("@")[0]
        netloc = (f"{quote(userinfo, safe=':%')}@" if userinfo else "") + host + (
            f":{parts.port}" if parts.port else "")
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _url(base_url: str | None, name: str) -> str:
    quoted = quote(name)
    if not base_url:
        return quoted
    return base_url.rstrip("/") + "/" + quoted


def write_pack_files(pack: Pack, out: Path, entries: list[dict[str, Any]],
                     sheets: list[dict[str, Any]], base_url: str | None,
                     zip_name: str | None = None) -> list[Path]:
    """Write the chapter files, cover, playlist, feed and web player of the tracks
    ``entries`` (manifest entries) with their cue ``sheets``; returns their paths. The
    player links to ``zip_name``, the zip made of them next (None: none is made)."""
    written: list[Path] = []
    for e, sheet in zip(entries, sheets, strict=True):
        chapters = {"version": "1.2.0", "chapters": [
            {"startTime": c["start"], "title": c["title"]} for c in sheet["chapters"]]}
        path = out / (Path(e["file"]).stem + ".chapters.json")
        write_text(path, json.dumps(chapters, indent=1, ensure_ascii=False) + "\n")
        written.append(path)
    cover = out / "cover.png"
    write_bytes(cover, make_cover(pack.title, pack.author, COVER_SIZE))
    written.append(cover)
    written.append(write_playlist(pack, out, entries))
    written.append(write_feed(pack, out, entries, sheets, base_url))
    written.append(write_player(pack, out, entries, sheets, pack.page_language(sheets),
                                zip_name))
    return written


def group_card(label: str, folder: str, entries: list[dict[str, Any]],
               base_url: str | None, zip_name: str | None) -> dict[str, Any]:
    """One listener's card on the overview of a grouped pack (see
    :func:`~voiceguide.pack.player.write_overview`); links relative to the pack's root,
    the feed's absolute when there is a ``base_url``."""
    def link(name: str) -> str:
        return f"{quote(folder)}/{quote(name)}"

    return {
        "label": label, "folder": folder, "player": link("index.html"),
        "feed": _url(base_url, f"{folder}/feed.xml") if base_url else link("feed.xml"),
        "playlist": link("playlist.m3u8"),
        "zip": link(zip_name) if zip_name else None,
        "tracks": len(entries),
        "duration": hms(sum(float(e["duration"]) for e in entries)),
        "titles": [e["title"] for e in entries],
    }


def write_playlist(pack: Pack, out: Path, entries: list[dict[str, Any]]) -> Path:
    """``playlist.m3u8``: UTF-8 extended M3U with durations, titles and relative paths."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(pack.title)}"]
    for e in entries:
        lines.append(f"#EXTINF:{int(round(e['duration']))},"
                     f"{_one_line(pack.author)} - {_one_line(e['title'])}")
        lines.append(e["file"])
    path = out / "playlist.m3u8"
    write_text(path, "\n".join(lines) + "\n")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace(",", " ")


_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
COVER_SIZE: Final = 1400
"""Pixels of the pack's square cover (Apple Podcasts asks for 1400 to 3000)."""
CATEGORY: Final = ("Health & Fitness", "Alternative Health")
"""The feed's Apple Podcasts category and subcategory."""


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (control characters other than
    tab and newlines, lone surrogates, U+FFFE/U+FFFF)."""
    return _NOT_XML.sub("", text)


def rfc822(when: datetime.datetime) -> str:
    """An RSS date (``Mon, 06 Jan 2025 00:00:00 +0000``), locale-independent."""
    return email.utils.format_datetime(when.replace(tzinfo=datetime.UTC))


def episode_guid(title: str, entry: dict[str, Any]) -> str:
    """An episode's GUID: the same for as long as the track keeps its place in the pack
    (``title``, the pack's :meth:`~voiceguide.pack.model.Pack.feed_seed`; its folder and
    file), however often it is built again and whatever changed in its audio or the
    pack's other fields. A podcast app takes a new
    GUID for a new episode, and would show a rebuilt track as one, losing where the
    listener was."""
    import uuid

    where = f"{entry.get('group') or ''}/{entry['file']}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"voiceguide:{title}:{where}"))


def write_feed(pack: Pack, out: Path, entries: list[dict[str, Any]],
               sheets: list[dict[str, Any]], base_url: str | None) -> Path:
    """``feed.xml``: a podcast feed of the pack's tracks (RSS 2.0 with the iTunes,
    Podcasting 2.0 and Podlove chapter tags podcast apps read). Dates come from the
    pack's ``published`` date, so rebuilds give the same bytes; text is cleaned of
    characters XML cannot hold."""
    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    ET.register_namespace("psc", PSC)
    ET.register_namespace("atom", ATOM)
    m = pack
    rss = ET.Element("rss", {"version": "2.0"})
    ch = ET.SubElement(rss, "channel")

    def sub(parent: ET.Element, tag: str, value: str | None = None, **attrs: str
            ) -> ET.Element:
        el = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
        if value is not None:
            el.text = xml_text(value)
        return el

    first = datetime.datetime.combine(m.published, datetime.time())
    link = base_url.rstrip("/") + "/" if base_url else "index.html"
    summary = m.description.strip() or m.title
    sub(ch, "title", m.title)
    sub(ch, "link", link)
    if base_url:  # where the feed itself lives, as feed validators ask
        sub(ch, f"{{{ATOM}}}link", href=_url(base_url, "feed.xml"), rel="self",
            type="application/rss+xml")
    sub(ch, "description", summary)
    sub(ch, "language", m.page_language(sheets))
    sub(ch, "generator", f"voiceguide {__version__}")
    sub(ch, "pubDate", rfc822(first))
    sub(ch, "lastBuildDate", rfc822(first + datetime.timedelta(days=max(0, len(entries) - 1))))
    sub(ch, f"{{{ITUNES}}}author", m.author)
    owner = sub(ch, f"{{{ITUNES}}}owner")
    sub(owner, f"{{{ITUNES}}}name", m.author)
    if m.email:
        sub(owner, f"{{{ITUNES}}}email", m.email)
    sub(ch, f"{{{ITUNES}}}summary", summary)
    sub(ch, f"{{{ITUNES}}}image", href=_url(base_url, "cover.png"))
    category = sub(ch, f"{{{ITUNES}}}category", text=CATEGORY[0])
    sub(category, f"{{{ITUNES}}}category", text=CATEGORY[1])
    sub(ch, f"{{{ITUNES}}}explicit", "false")
    sub(ch, f"{{{ITUNES}}}type", "serial")
    image = sub(ch, "image")
    sub(image, "url", _url(base_url, "cover.png"))
    sub(image, "title", m.title)
    sub(image, "link", link)
    for n, (e, sheet) in enumerate(zip(entries, sheets, strict=True), 1):
        item = sub(ch, "item")
        sub(item, "title", e["title"])
        sub(item, "description", e.get("description") or e["title"])
        sub(item, "pubDate", rfc822(first + datetime.timedelta(days=n - 1)))
        sub(item, "enclosure", url=_url(base_url, e["file"]), length=str(e["bytes"]),
            type=mime_type(e["file"]))
        sub(item, "guid", episode_guid(m.feed_seed(), e), isPermaLink="false")
        sub(item, f"{{{ITUNES}}}duration", hms(e["duration"]))
        sub(item, f"{{{ITUNES}}}episode", str(n))
        sub(item, f"{{{ITUNES}}}episodeType", "full")
        sub(item, f"{{{ITUNES}}}author", m.author)
        sub(item, f"{{{PODCAST}}}chapters",
            url=_url(base_url, Path(e["file"]).stem + ".chapters.json"),
            type="application/json+chapters")
        sub(item, f"{{{PODCAST}}}transcript", url=_url(base_url, Path(e["file"]).stem + ".vtt"),
            type="text/vtt")
        psc = sub(item, f"{{{PSC}}}chapters", version="1.2")
        for c in sheet["chapters"]:
            sub(psc, f"{{{PSC}}}chapter", start=hms(c["start"], millis=True), title=c["title"])
    ET.indent(rss, space=" ")
    path = out / "feed.xml"
    data = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    write_bytes(path, data + b"\n")
    return path


def _zip_entries(out_dir: Path, names: Collection[str]) -> Iterator[Path]:
    for name in sorted(set(names)):
        p = out_dir / name
        if (p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                and p.suffix != ".zip" and p.parent == out_dir):
            yield p


def zipped_names(entries: Iterable[Mapping[str, Any]], files: Iterable[Path],
                 *extra: str) -> list[str]:
    """The names of the files a pack's zip holds: each track and its sidecars (manifest
    ``entries``: the files named after the track), the pack ``files`` written beside them
    and ``extra`` ones."""
    names = [name for e in entries for name in (e["file"], *(
        side for side in e.get("sidecars", [])  # its own: a forged manifest named others
        if isinstance(side, str) and side.startswith(Path(e["file"]).stem + ".")))]
    return [*names, *(f.name for f in files), *extra]


def write_zip(out_dir: Path, zip_name: str, names: Collection[str],
              folder: str | None = None) -> Path:
    """Zip the files ``names`` of the pack folder (what the pack published there, never
    another file the folder holds: an attack's --out folder held id_rsa, and the zip sent
    to a client held it too), inside a folder named ``folder`` (default: the pack
    folder's name); byte-identical for identical files (fixed dates, sorted)."""
    path = out_dir / zip_name
    folder = safe_stem(folder or out_dir.name)
    try:
        # the same files give the same bytes: a zip unchanged is left as it was (a run
        # for one listener rewrote another's 7.8 MB zip, and a sync tool sent it again)
        with atomic_write(path, keep_same=True) as f, zipfile.ZipFile(f, "w") as z:
            for p in _zip_entries(out_dir, names):
                info = zipfile.ZipInfo(f"{folder}/{p.name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                stored = p.suffix in (".mp3", ".m4a", ".m4b", ".opus", ".png", ".zip")
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                with p.open("rb") as src, z.open(info, "w") as dst:
                    for block in iter(lambda s=src: s.read(1 << 20), b""):  # type: ignore[misc]
                        dst.write(block)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the zip ({exc.strerror})") from None
    return path


def usable_sheet(sheet: Any) -> bool:
    """Whether a cue sheet read back (from a folder someone else may have written)
    holds what the feed and the player take from it, of the kinds they take."""
    try:
        track_data("", "", sheet)
        chapters = sheet["chapters"]
        return _seconds(sheet["duration"]) and all(
            _seconds(c["start"]) and isinstance(c["title"], str) for c in chapters)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return False


def _seconds(value: Any) -> bool:
    """Whether ``value`` is a time in a track (an attack's chapter at 1e308 s stopped the
    feed's writing with an internal error)."""
    return isinstance(value, int | float) and 0 <= value <= MAX_TRACK_SECONDS


def earlier_build(job: TrackJob, prev: dict[str, Any], dest: Destination,
                  listing: dict[str, int], any_input: bool = False) -> dict[str, Any] | None:
    """The cue sheet of ``prev`` (an entry of the manifest before) where it is ``job``'s
    track (its file, in its folder), intact and built from the same inputs (with
    ``any_input``, from any: a failed track's earlier build stays in the pack); else
    None."""
    if prev.get("file") != job.stem + get_format(job.settings.format).suffix \
            or prev.get("group", "") != job.group or not up_to_date(
                job, {**prev, "input_hash": job.input_hash} if any_input else prev,
                job.dest, listing):
        return None
    return read_sheet(dest, prev)


def read_sheet(dest: Destination, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The cue sheet of a manifest ``entry`` in ``dest``, read back within bounds, or None
    when it is missing, too large or damaged (:func:`usable_sheet`): its track is built
    again (an attack's damaged sheets, their digests forged in pack.json, stopped every
    run with 'delete it and run again')."""
    try:
        data = entry_dest(dest, entry).read_bytes(entry["sidecars"][0])
        if data is None or _SURROGATE.search(data):  # a title no file can be written with
            return None
        sheet = parse_json(data)
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return sheet if usable_sheet(sheet) else None


_SURROGATE: Final = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate (not an escaped backslash before 'u'): decoded
UTF-8 holds none, so a sheet without one holds no lone surrogate (an attack's "\\ud800"
title stopped every run at the feed); a pair, which voiceguide never writes (it writes
UTF-8), is refused with it."""
