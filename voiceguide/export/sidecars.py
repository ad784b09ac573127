"""Cue sheets beside a track: ``.cues.json`` (the timeline as data), WebVTT and LRC."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import re
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import option
from voiceguide.export.formats import clean_text
from voiceguide.io.atomic import unit_digest, unit_file, write_bytes, write_text
from voiceguide.io.bounded import parse_json, read_regular
from voiceguide.languages import chime_label
from voiceguide.limits import MAX_FILE_BYTES
from voiceguide.timeline import Timeline

log = logging.getLogger("voiceguide")

CUES_VERSION: Final = 1
"""Version of the cue sheet JSON format."""


def _s(samples: int, rate: int) -> float:
    return round(samples / rate, 4)


def cue_sheet(timeline: Timeline, meta: dict[str, Any]) -> dict[str, Any]:
    """The cue sheet as plain data (the ``.cues.json`` format, version 1)."""
    sr = timeline.sample_rate
    return {
        "version": CUES_VERSION,
        **meta,
        "sample_rate": sr,
        "samples": timeline.total,
        "duration": _s(timeline.total, sr),
        "cues": [
            {
                "start": _s(c.start, sr),
                "end": _s(c.end, sr),
                "kind": c.kind,
                "text": c.text,
                **({"speed": c.speed} if c.speed != 1.0 else {}),
            }
            for c in timeline.cues
        ],
        "intervals": [
            {
                "kind": i.kind,
                "start": _s(i.start, sr),
                "end": _s(i.end, sr),
                "seconds": i.seconds,
                "label": i.label,
                **({"phase": i.phase} if i.phase else {}),
            }
            for i in timeline.intervals
        ],
        "chapters": [
            {"start": _s(c.start, sr), "end": _s(c.end, sr), "title": c.title}
            for c in timeline.chapters
        ],
    }


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _lrc_time(seconds: float) -> str:
    cs = int(round(seconds * 100))
    m, rest = divmod(cs, 6000)
    s, cs = divmod(rest, 100)
    return f"{m:02d}:{s:02d}.{cs:02d}"


def _lrc_length(seconds: float) -> str:
    """``mm:ss`` to the nearest second, as the CLI reports the length (15:08.5 is 15:09)."""
    s = int(round(max(0.0, seconds)))
    return f"{s // 60:02d}:{s % 60:02d}"


def cue_label(cue: Mapping[str, Any], sheet: Mapping[str, Any]) -> str:
    """Text shown for a ``cue`` of cue sheet ``sheet`` in subtitles: a chime named in
    the track's language (``(Klangschale)``), anything else as said, starting with a
    capital as a caption does (a countdown's "trois", "two" are said as words alone)."""
    text = str(cue["text"])
    if cue["kind"] == "chime":
        return chime_label(text, str(sheet.get("language") or ""))
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def one_line(text: str) -> str:
    """Cue text as one line that cannot end a WebVTT cue or start a timing line: no line
    breaks or control characters, and no ``-->`` (written ``->``)."""
    text = clean_text(text)
    while "-->" in text:
        text = text.replace("-->", "->")
    return text


def _vtt_escape(text: str) -> str:
    """``&``, ``<`` and ``>`` are markup in WebVTT text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(sheet: dict[str, Any]) -> str:
    """The cue sheet as WebVTT (one cue per line of the script)."""
    vtt = ["WEBVTT", ""]
    title = _vtt_escape(one_line(str(sheet.get("title", ""))))
    if title:
        vtt[1:1] = ["", f"NOTE {title}"]
    for i, c in enumerate(sheet["cues"], 1):
        text = _vtt_escape(one_line(cue_label(c, sheet))) or "..."
        vtt += [str(i), f"{_vtt_time(c['start'])} --> {_vtt_time(c['end'])}", text, ""]
    return "\n".join(vtt)


def lrc(sheet: dict[str, Any]) -> str:
    """The cue sheet as LRC lyrics (one timed line per cue)."""
    lines = [
        f"[ti:{one_line(str(sheet.get('title', '')))}]",
        f"[ar:{one_line(str(sheet.get('artist', '')))}]",
        f"[length:{_lrc_length(sheet['duration'])}]",
    ]
    lines += [f"[{_lrc_time(c['start'])}]{one_line(cue_label(c, sheet))}"
              for c in sheet["cues"]]
    return "\n".join(lines) + "\n"


def write_sidecars(track: Path, sheet: dict[str, Any]) -> list[Path]:
    """Write ``<track>.cues.json``, ``<track>.vtt`` and ``<track>.lrc`` atomically, the
    cue sheet last, recording the others' SHA-256 (``sidecar_sha256``): in an
    :func:`~voiceguide.io.atomic.atomic_unit` it is named last, and vouches for them."""
    base = track.with_suffix("")
    json_path = base.with_name(base.name + ".cues.json")
    vtt_path = base.with_name(base.name + ".vtt")
    lrc_path = base.with_name(base.name + ".lrc")
    # only where another file of the same name lies beside it, such as the track in
    # another format (a build over its own track does not read the old sheet; the
    # folder, not the formats: those of plugins would load every plugin)
    ours = {track.name, json_path.name, vtt_path.name, lrc_path.name}
    twins = (p for p in track.parent.glob(glob.escape(base.name) + ".*") if p.name not in ours)
    other = _described(json_path) if next(twins, None) is not None else None
    if other is not None and other != track.name and (track.parent / other).is_file():
        log.warning(f"{json_path.name} described {other}, which is left without cue sheets "
                    f"now that they describe {track.name}; {keep_both()}")
    texts = {vtt_path: webvtt(sheet).encode(), lrc_path: lrc(sheet).encode()}
    sheet["sidecar_sha256"] = {p.name: hashlib.sha256(t).hexdigest() for p, t in texts.items()}
    for path, data in texts.items():
        write_bytes(path, data)
    write_text(json_path, json.dumps(sheet, indent=1, ensure_ascii=False) + "\n")
    return [json_path, vtt_path, lrc_path]


def _described(sheet: Path) -> str | None:
    """The track file an existing cue sheet describes (None: none, or not readable)."""
    file = _read_sheet(sheet).get("file")
    return file if isinstance(file, str) and "/" not in file else None


def described_whole(track: Path) -> str | None:
    """The single track file the cue sheet beside ``track`` describes (None: none, a
    split build's, or no sheet that can be read)."""
    return _described(track.with_name(track.with_suffix("").name + ".cues.json"))


def listed_parts(files: list[Path], pieces: list[Any], sample_rate: int
                 ) -> list[dict[str, Any]]:
    """A split build's cue sheet ``parts``: each file (``files``, in the order of the
    ``pieces`` of the timeline they hold) with its span, title, size and SHA-256."""
    return [{"file": p.name, "start": round(part.start / sample_rate, 4),
             "end": round(part.end / sample_rate, 4), "title": part.title,
             "bytes": written_size(p), "sha256": written_digest(p)}
            for p, part in zip(files, pieces, strict=True)]


def written_size(path: Path) -> int | None:
    """The size of the file at ``path`` as the current unit will name it, else as it is."""
    if (pending := unit_file(path)) is not None:
        return os.fstat(pending.fileno()).st_size
    try:
        return path.stat().st_size
    except OSError:
        return None


def written_digest(path: Path) -> str | None:
    """SHA-256 (hex) of the file at ``path`` as the current unit will name it (see
    :func:`~voiceguide.io.atomic.unit_digest`), else as it is (None: gone, not a file)."""
    if (pending := unit_digest(path)) is not None:  # a unit names it when it ends
        return pending
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:  # gone, or not a file
        return None


def described_parts(track: Path) -> dict[str, str]:
    """The part files the cue sheet beside ``track`` lists (a split build's), each a plain
    name in its folder, with the SHA-256 it recorded; none when there is no such sheet
    or it cannot be read (a part without its digest is never removed: see
    :func:`retire_parts`)."""
    parts = _read_sheet(track.with_name(track.with_suffix("").name + ".cues.json")
                        ).get("parts")
    named = [(p.get("file"), p.get("sha256")) for p in parts if isinstance(p, dict)] \
        if isinstance(parts, list) else []
    return {n: d for n, d in named if isinstance(n, str) and n and "/" not in n
            and n[0] != "." and isinstance(d, str)}


def retire_parts(folder: Path, name: str, before: Mapping[str, str], now: list[Path]) -> None:
    """After a split build of track ``name``: remove the parts its cue sheet listed
    before (``before``, with their SHA-256) that it no longer makes (a chapter renamed),
    if their bytes are still those it recorded (an edited cue sheet listed another
    listener's track, reach-12-Ana.mp3, and removed it: an attack), and warn of those
    in another format (a build of that format made them, and no playlist lists them
    now); files of other names are not ours, and are left alone."""
    made, kinds = {p.name for p in now}, {p.suffix for p in now}
    # a part's name as a split build writes it (an edited sheet listing a track of the
    # same prefix, morning-hips-evening.mp3, removed it: an attack)
    shape = re.compile(rf"{re.escape(name)}-\d{{2,}}-[^/]+\.[a-z0-9]+")
    other = []
    for old in before:
        try:
            if old in made or not shape.fullmatch(old) or not (folder / old).is_file():
                continue
        except OSError:  # a name longer than the system allows: no file of ours
            continue
        if Path(old).suffix not in kinds:
            other.append(old)
            continue
        if written_digest(folder / old) != before[old]:  # not the part that build wrote
            continue
        with contextlib.suppress(OSError):  # gone, or not ours to remove
            (folder / old).unlink()
    if other:
        some = f"{len(other)} {Path(other[0]).suffix[1:]} part" + "s" * (len(other) > 1)
        log.warning(f"the {some} of the build before ({', '.join(other[:2])}"
                    f"{', ...' * (len(other) > 2)}) {'are' if len(other) > 1 else 'is'} "
                    f"left, but no playlist lists them now; {keep_both()}")


def retire_before(track: Path, name: str, parts: Mapping[str, str], whole: str | None,
                  now: list[Path] | None) -> None:
    """After a build of track ``name`` (``track``: its file, or for a split build the
    name its sidecars take; ``now``: a split build's parts, None for a whole track),
    remove what the build before left that no cue sheet lists now: its ``parts`` not
    made again (see :func:`retire_parts`) and, after a whole build, its playlist; after a
    split build, the ``whole`` track of a build before (a player showed both: a new
    user's review)."""
    folder = track.parent
    retire_parts(folder, name, parts, [track] if now is None else now)
    if now is None and parts:
        with contextlib.suppress(OSError):
            (folder / f"{name}.m3u8").unlink()
    elif now is not None and whole == track.name:
        with contextlib.suppress(OSError):
            track.unlink()


_PACK_OWNS: ContextVar[bool] = ContextVar("voiceguide_pack_owns", default=False)


@contextlib.contextmanager
def pack_owns_tracks() -> Iterator[None]:
    """Inside: the tracks built are a pack's, whose own settings rebuild them, so a
    track replaced with other settings is not warned of (its title still is)."""
    token = _PACK_OWNS.set(True)
    try:
        yield
    finally:
        _PACK_OWNS.reset(token)


SETTINGS_HEARD: Final = {"voice": "voice", "rate": "rate", "level": "level",
                         "optional": "optional", "bed": "bed", "bed_volume": "bed_volume",
                         "loudness": "loudness_target"}
"""What a cue sheet records of a track's settings that its file name does not say, by
the setting that sets it."""


def keep_both(whose: str = "one of the two builds its") -> str:
    """How to keep two builds that share a file name (``whose``: who gets a name of its
    own), naming the options as the caller knows them."""
    return (f"give {whose} own {option('stem', flag='--track-name')} (or "
            f"{option('out_dir', flag='--out')}) to keep both")


def warn_if_replacing(track: Path, header: Mapping[str, Any],
                      given: Collection[str] = ()) -> None:
    """Warn when the build about to write ``track`` (its cue sheet's ``header``) replaces
    one of the same routine made under another title: another listener's, whose name
    gives the same file name (Zoë and Zoe are both ``-Zoe``), which an app's loop of
    builds replaced unseen; or made with other settings ``given`` for this build that
    the file name does not say (a new user built at --rate 100, then at 300, and the
    first was gone unsaid; a routine's own bed, edited, is the coach's meaning)."""
    old = _read_sheet(track.with_name(track.with_suffix("").name + ".cues.json"))
    before, title = old.get("title"), str(header.get("title", ""))
    if old.get("routine") != header.get("routine") or not isinstance(before, str):
        return
    if isinstance(old.get("file"), str) and old["file"] != track.name:
        return  # the track in another format: it stays (write_sidecars says its sheets go)
    keep = keep_both("each its")
    if before != title:
        before = clean_text(before)
        log.warning(f"{track.name} was '{before[:120]}' and is now '{title[:120]}': {keep}")
        return
    changed = [f"{key} {clean_text(str(old[key]))[:40]} (now {header[key]})"
               for key, setting in SETTINGS_HEARD.items() if setting in given
               and key in old and key in header and old[key] != header[key]]
    if changed and not _PACK_OWNS.get():
        log.warning(f"{track.name} was built with {', '.join(changed)} and is replaced: "
                    f"{keep}")


def _read_sheet(sheet: Path) -> dict[str, Any]:
    data = read_regular(sheet, MAX_FILE_BYTES * 64)
    try:
        found = parse_json(data) if data is not None else None
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
