"""An up-to-date ``build`` answered before typer and pydantic load.

``voiceguide build ROUTINE [options]`` with nothing changed only reads files: the routine,
its exercises, the profile and the cue sheet the last build wrote
(:func:`voiceguide.up_to_date`). Loading the command-line framework costs more than that,
so :func:`answer` reads the ``build`` options itself, checks, and prints the answer.
Whatever it cannot read exactly as typer would (an option it does not take, a value
typer might convert differently, ``--force``, ``--help``, an error) is left
to typer, which checks again and reports. The tests hold the option tables against the
typer command, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from voiceguide.cli.terminal import printable, warn

_INT: Final = re.compile(r"-?[0-9]+\Z")
_FLOAT: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


def _int(text: str) -> int:
    if not _INT.match(text):
        raise ValueError(text)
    return int(text)


def _float(text: str) -> float:
    if not _FLOAT.match(text):
        raise ValueError(text)
    return float(text)


def _minutes(text: str) -> float:
    """``--minutes`` as its typer parser reads it: minutes, or minutes and seconds (4:30
    went the long way, typer loaded, to say the track was up to date)."""
    import voiceguide as vg  # the light vocabulary module alone

    if vg.seconds_as_decimal(text):  # said on the long way (a warning, typer's parser)
        raise ValueError(text)
    value = vg.minutes_of(text)
    return value if isinstance(value, float) else _float(text)


def _level(text: str) -> str:
    if text not in ("beginner", "advanced"):
        raise ValueError(text)
    return text


VALUES: Final[dict[str, tuple[str, Callable[[str], Any]]]] = {
    "--out": ("out_dir", Path), "-o": ("out_dir", Path), "--name": ("name", str),
    "--voice": ("voice", str), "--rate": ("rate", _int), "--minutes": ("minutes", _minutes),
    "--level": ("level", _level), "--bed": ("bed", str), "--bed-volume": ("bed_volume", _float),
    "--loudness": ("loudness", str), "--format": ("fmt", str),
    "--track-name": ("track_name", str), "--profile": ("profile", Path),
    "--engine": ("engine", str),
}
"""The ``build`` options that take a value: option → (parameter, exact reader)."""
FLAGS: Final[dict[str, tuple[str, bool]]] = {
    "--optional": ("optional", True), "--no-optional": ("optional", False),
    "--plot": ("plot", True), "--no-plot": ("plot", False), "--no-cache": ("no_cache", True),
    "--split": ("split", True),
    "--json": ("as_json", True), "--quiet": ("quiet", True), "-q": ("quiet", True),
}
"""The ``build`` flags read here: option → (parameter, value)."""
LEFT_TO_TYPER: Final = ("--force", "--help")
"""``build`` options that always go the long way."""
MAX_JOBS: Final = 32
"""The most ``--jobs`` a pack takes (the runners' limit; a test holds the two equal)."""


def _jobs(text: str) -> int:
    n = _int(text)
    if not 1 <= n <= MAX_JOBS:
        raise ValueError(text)
    return n


def _local(text: str) -> str:
    if text != "local":
        raise ValueError(text)
    return text


def _folder(text: str) -> str:
    if "://" in text:
        raise ValueError(text)  # a remote destination: the long way
    return text


PACK_VALUES: Final[dict[str, tuple[str, Callable[[str], Any]]]] = {
    "--out": ("out_dir", _folder), "-o": ("out_dir", _folder), "--jobs": ("jobs", _jobs),
    "-j": ("jobs", _jobs), "--profile": ("profile", Path), "--base-url": ("base_url", str),
    "--engine": ("engine", str), "--runner": ("runner", _local),
}
"""The ``pack`` options that take a value read here (``--shard``, ``--scheduler``,
``--runner-option`` and any runner but the local one always go the long way)."""
PACK_FLAGS: Final[dict[str, tuple[str, bool]]] = {
    "--zip": ("make_zip", True), "--keep-going": ("keep_going", True),
    "--fail-fast": ("keep_going", False), "--json": ("as_json", True),
    "--quiet": ("quiet", True), "-q": ("quiet", True),
}
"""The ``pack`` flags read here: option → (parameter, value)."""
SETTINGS: Final = {"name": "name", "voice": "voice", "rate": "rate", "minutes": "minutes",
                   "level": "level", "optional": "optional", "bed": "bed",
                   "bed_volume": "bed_volume", "loudness": "loudness", "format": "fmt",
                   "engine": "engine"}
"""Track settings given on the command line → the ``build`` parameter holding each."""


def given_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The track settings given on the command line, from ``build``'s parameters (None:
    not given)."""
    return {key: params.get(dest) for key, dest in SETTINGS.items()}


def mmss(seconds: float) -> str:
    """``m:ss``, to the nearest second (a 719.998 s track is 12:00, not 11:59)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def size(n: int) -> str:
    """A file size for people."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


_HIDDEN: Final = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                           "\u2066-\u2069]")
"""What JSON leaves as it is and a terminal acts on: C1 controls, text-direction marks,
overrides and isolates, line and paragraph separators."""


def json_text(doc: Any) -> str:
    """One JSON document as the CLI prints it: those characters written as ``\\uXXXX``
    (the same JSON; an attack: a cue sheet's warning turned a line around in ``--json``
    output, whose text form drops them)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    try:  # a terminal in a locale that cannot show it (Latin-1): the same JSON, in ASCII
        text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except UnicodeEncodeError:  # (an attack: 'internal error', and build --json said none)
        text = json.dumps(doc, indent=2, ensure_ascii=True, default=str)
    return _HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _parse(args: list[str], command: str, positional: str,
           values: dict[str, tuple[str, Callable[[str], Any]]],
           flags: dict[str, tuple[str, Any]]) -> dict[str, Any] | None:
    """The parameters of ``command`` as typer would pass them, or None when ``args`` are
    not that command read with certainty."""
    if not args or args[0] != command:
        return None
    params: dict[str, Any] = {}
    dests: list[str] = []
    rest = iter(args[1:])
    for token in rest:
        if not token.startswith("-"):
            if positional in params:
                return None
            params[positional] = token
            continue
        option, eq, value = token.partition("=")
        if eq and not option.startswith("--"):
            return None  # typer reads -o=x as the value '=x'
        if option in values:
            if not eq:
                value = next(rest, "-")
            if not value or value.startswith("-"):
                return None  # missing, empty, or a value that looks like an option
            dest, read = values[option]
            try:
                params[dest] = read(value)
            except ValueError:
                return None
        elif option in flags and not eq:
            dest, flag = flags[option]
            params[dest] = flag
        else:
            return None
        dests.append(dest)
    if len(set(dests)) != len(dests) or positional not in params:
        return None  # an option given twice: typer decides which counts
    return params


def parse_build(args: list[str]) -> dict[str, Any] | None:
    """The parameters of ``build`` as typer would pass them, or None when ``args`` are not
    a ``build`` this module reads with certainty."""
    return _parse(args, "build", "routine", VALUES, FLAGS)


def parse_pack(args: list[str]) -> dict[str, Any] | None:
    """The parameters of ``pack`` as typer would pass them, or None when ``args`` are not
    a ``pack`` this module reads with certainty."""
    return _parse(args, "pack", "pack_file", PACK_VALUES, PACK_FLAGS)


def sheet_warnings(sheet: dict[str, Any]) -> list[str]:
    """The warnings the build of ``sheet``'s track gave (said again when it is up to
    date), at most 50 lines of 500 characters (the sheet lies in the output folder)."""
    found = sheet.get("warnings")
    if not isinstance(found, list):
        return []
    return [" ".join(w.split())[:500] for w in found[:50] if isinstance(w, str)]


def report(request: Any, sheet: dict[str, Any], plot: bool, as_json: bool,
           first: list[str] | None = None) -> str:
    """What ``build`` prints for a track that is up to date (its warnings go to stderr:
    see :func:`sheet_warnings`); ``first``: warnings the JSON lists before them."""
    files = request.sidecars(plot)
    # a split build's parts, with the sizes up_to_date found them to have
    listed = sheet["parts"] if request.split else []
    parts = [request.path.parent / p["file"] for p in listed]
    bytes_ = sum(p["bytes"] for p in listed) if listed else request.path.stat().st_size
    if as_json:
        return json_text({
            "path": str(request.path), "up_to_date": True, "duration": sheet.get("duration"),
            "bytes": bytes_, "sidecars": [str(f) for f in files],
            "parts": [str(p) for p in parts],
            "input_hash": request.input_hash, "heard_wpm": None, "synthesised": 0,
            "cached": 0, "warnings": [*(first or []), *sheet_warnings(sheet)]})
    return (f"{request.path} is up to date ({mmss(float(sheet.get('duration', 0)))}, "
            f"{size(bytes_)}{f', {len(parts)} parts' if parts else ''}); nothing to do "
            "(--force builds it again)")


def pack_summary(doc: dict[str, Any], runner: dict[str, int] | None = None) -> str:
    """The line ``pack`` prints from its JSON document ``doc`` (and runner counts)."""
    zips = doc.get("zips") or []
    return (f"Pack {doc['folder']}: {len(doc['built'])} built"
            + (_named(doc["built"], doc["folder"]) if doc["unchanged"] or doc["removed"]
               else "")
            + f", {len(doc['unchanged'])} unchanged"
            + (f", {len(doc['removed'])} removed{_named(doc['removed'], doc['folder'])}"
               if doc["removed"] else "")
            + f"; phrases: {doc['synthesised']} synthesised, {doc['cached']} from cache"
            + (f"; zip: {doc['zip']}" if doc.get("zip") else "")
            + (f"; zips: {len(zips)}, one in each folder" if zips else "")
            + "".join(f"; {n} {k.replace('_', ' ')}" for k, n in (runner or {}).items()))


NAMED: Final = 6
"""Most files a pack's summary names (built again or removed) before it counts the rest."""


def _named(paths: list[str], folder: str) -> str:
    """`` (a.mp3, b.mp3)``: the files, as paths in the pack's folder."""
    if not paths:
        return ""
    names = [p[len(folder):].lstrip("/\\") if p.startswith(folder) else p for p in paths]
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f" ({', '.join(names[:NAMED])}{more})"


def pack_report(report: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """What ``pack`` prints for a pack with nothing to do (stdout lines)."""
    folder = str(report["folder"])
    doc = {"folder": folder, "built": [], "unchanged": [str(t) for t in report["tracks"]],
           "removed": [], "synthesised": 0, "cached": 0, "zip": report.get("zip"),
           "zips": [str(z) for z in report.get("zips") or []],
           "index": str(Path(folder) / "index.html"),
           "warnings": list(report.get("warnings", [])),  # relative links: said last
           "failed": []}
    if params.get("as_json"):
        return [json_text(doc)]
    if params.get("quiet"):
        return []
    return [pack_summary(doc), f"Open {doc['index']} or run 'voiceguide serve {folder}'"]


def answer_pack(args: list[str]) -> bool:
    """Print the answer and return True when ``args`` are a ``pack`` whose folder is
    complete for the same inputs; False (nothing printed) to leave it to typer."""
    params = parse_pack(args)
    if params is None:
        return False
    import voiceguide as vg

    base_url = params.get("base_url")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        return False
    pack = Path(params["pack_file"])
    out = params.get("out_dir")
    try:
        folder = Path(out) if out else vg.default_pack_folder(pack)
        asked = vg.PackInputs(pack, folder, params.get("profile"),
                              {"engine": params["engine"]} if params.get("engine") else {},
                              base_url, bool(params.get("make_zip")))
        report = vg.pack_up_to_date(asked)
        if report is None:
            return False
        lines = pack_report(report, params)
        for line in lines:  # what the terminal cannot show goes the long way
            line.encode(sys.stdout.encoding or "utf-8")
    except Exception:  # typer's path checks again and reports it
        return False
    for line in lines:
        print(line if params.get("as_json") else printable(line))
    warn(report.get("warnings", []))  # as the run said them (with --json too)
    return True


def answer(args: list[str]) -> bool:
    """Print the answer and return True when ``args`` are a ``build`` of a track that is
    up to date; False (nothing printed) to leave the command to typer."""
    params = parse_build(args)
    if params is None:
        return False
    import voiceguide as vg

    given = given_settings(params)
    plot = bool(params.get("plot", False))
    try:
        request = vg.track_request(params["routine"], given, params.get("profile"),
                                   params.get("out_dir", Path("output")),
                                   params.get("track_name"), check=False,
                                   default_profile=True, split=bool(params.get("split")))
        sheet = vg.up_to_date(request, plot)
        if sheet is None:
            return False
        text = report(request, sheet, plot, bool(params.get("as_json")))
        text.encode(sys.stdout.encoding or "utf-8")  # what the terminal cannot show: long way
    except Exception:  # typer's path checks again and reports it
        return False
    if params.get("as_json") or not params.get("quiet"):
        # what a cue sheet says is printed as any text from a file is: a sheet edited
        # by someone else may hold escape sequences
        print(text if params.get("as_json") else printable(text))
    warn(sheet_warnings(sheet))  # with --json too, as a pack says them
    return True
