"""The files that make a pack play anywhere: ``playlist.m3u8``, ``feed.xml`` (RSS 2.0 with
iTunes, Podcasting 2.0 and Podlove Simple Chapters tags), ``<track>.chapters.json``, a
cover, and ``index.html``, a self-contained web player. All deterministic: no dates."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from voiceguide import __version__
from voiceguide.atomic import write_bytes, write_text
from voiceguide.export import cue_label, make_cover

if TYPE_CHECKING:
    from voiceguide.pack import PackPlan

ITUNES: Final = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST: Final = "https://podcastindex.org/namespace/1.0"
PSC: Final = "http://podlove.org/simple-chapters"
MIME: Final = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


def hms(seconds: float, millis: bool = False) -> str:
    """``H:MM:SS`` (or ``HH:MM:SS.mmm``)."""
    if millis:
        ms = int(round(seconds * 1000))
        h, m, sec = ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60
        return f"{h:02d}:{m:02d}:{sec:02d}.{ms % 1000:03d}"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _sheet(out_dir: Path, entry: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out_dir / entry["sidecars"][0]).read_text())
    return data


def _url(base_url: str | None, name: str) -> str:
    quoted = quote(name)
    if not base_url:
        return quoted
    return base_url.rstrip("/") + "/" + quoted


def write_pack_files(plan: PackPlan, entries: list[dict[str, Any]], base_url: str | None
                     ) -> list[Path]:
    """Write the playlist, feed, chapter files, cover and web player; returns their paths."""
    out = plan.out_dir
    sheets = [_sheet(out, e) for e in entries]
    written: list[Path] = []
    for e, sheet in zip(entries, sheets, strict=True):
        chapters = {"version": "1.2.0", "chapters": [
            {"startTime": c["start"], "title": c["title"]} for c in sheet["chapters"]]}
        path = out / (Path(e["file"]).stem + ".chapters.json")
        write_text(path, json.dumps(chapters, indent=1, ensure_ascii=False) + "\n")
        written.append(path)
    cover = out / "cover.png"
    write_bytes(cover, make_cover(plan.model.title, plan.model.author))
    written.append(cover)
    written.append(write_playlist(plan, entries))
    written.append(write_feed(plan, entries, sheets, base_url))
    from voiceguide.player import write_player

    written.append(write_player(plan, entries, sheets))
    return written


def write_playlist(plan: PackPlan, entries: list[dict[str, Any]]) -> Path:
    """``playlist.m3u8``: UTF-8 extended M3U with durations, titles and relative paths."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(plan.model.title)}"]
    for e in entries:
        lines.append(f"#EXTINF:{int(round(e['duration']))},"
                     f"{_one_line(plan.model.author)} - {_one_line(e['title'])}")
        lines.append(e["file"])
    path = plan.out_dir / "playlist.m3u8"
    write_text(path, "\n".join(lines) + "\n")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace(",", " ")


def write_feed(plan: PackPlan, entries: list[dict[str, Any]], sheets: list[dict[str, Any]],
               base_url: str | None) -> Path:
    """``feed.xml``: a podcast feed of the pack's tracks."""
    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    ET.register_namespace("psc", PSC)
    m = plan.model
    rss = ET.Element("rss", {"version": "2.0"})
    ch = ET.SubElement(rss, "channel")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, tag, attrs)
        if text is not None:
            el.text = text
        return el

    sub(ch, "title", m.title)
    sub(ch, "link", base_url.rstrip("/") + "/" if base_url else "index.html")
    sub(ch, "description", m.description.strip() or m.title)
    sub(ch, "language", m.language)
    sub(ch, "generator", f"voiceguide {__version__}")
    sub(ch, f"{{{ITUNES}}}author", m.author)
    sub(ch, f"{{{ITUNES}}}summary", m.description.strip() or m.title)
    sub(ch, f"{{{ITUNES}}}image", href=_url(base_url, "cover.png"))
    sub(ch, f"{{{ITUNES}}}category", text="Health & Fitness")
    sub(ch, f"{{{ITUNES}}}explicit", "false")
    sub(ch, f"{{{ITUNES}}}type", "serial")
    image = sub(ch, "image")
    sub(image, "url", _url(base_url, "cover.png"))
    sub(image, "title", m.title)
    sub(image, "link", base_url.rstrip("/") + "/" if base_url else "index.html")
    for n, (e, sheet) in enumerate(zip(entries, sheets, strict=True), 1):
        item = sub(ch, "item")
        sub(item, "title", e["title"])
        sub(item, "description", e.get("description") or e["title"])
        suffix = Path(e["file"]).suffix
        sub(item, "enclosure", url=_url(base_url, e["file"]), length=str(e["bytes"]),
            type=MIME.get(suffix, "application/octet-stream"))
        sub(item, "guid", e["sha256"][:40], isPermaLink="false")
        sub(item, f"{{{ITUNES}}}duration", hms(e["duration"]))
        sub(item, f"{{{ITUNES}}}episode", str(n))
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
    path = plan.out_dir / "feed.xml"
    data = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    write_bytes(path, data + b"\n")
    return path


def transcript(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """Cue lines for the player: start, end, text."""
    return [
        {"start": c["start"], "end": c["end"], "text": cue_label(c["kind"], c["text"])}
        for c in sheet["cues"]
        if c["end"] > c["start"]
    ]
