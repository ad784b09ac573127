"""Whether a single build is already done: the file name a build will write, and the hash
of everything that decides its bytes (the routine and exercise files, the settings as
given, engine and voice identity, tool version), which ``build`` records in the cue sheet.

Light on purpose (standard library and YAML: no models, no audio stack, no speech engine),
so that an up-to-date ``voiceguide build`` answers at once. The settings are hashed as the
layers give them (profile < command line), before validation: an invalid value only makes
the hash differ, and the build that follows reports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from voiceguide.errors import UsageError, option, yes_or_no
from voiceguide.export.formats import Format, find_format, get_format, name_without_suffix
from voiceguide.io.bounded import file_digest, parse_json
from voiceguide.io.paths import (
    MAX_STEM,
    file_name_only,
    named_part,
    output_folder,
    path_arg,
    render_name,
    safe_stem,
    shortened,
)
from voiceguide.io.yamldoc import load_yaml
from voiceguide.limits import MAX_BED_BYTES, MAX_CHAPTERS, track_length
from voiceguide.plugins import origin_of, package_version
from voiceguide.profile import profile_to_read
from voiceguide.routine.catalogue import find_routine, load_routine
from voiceguide.routine.inputs import file_identity, hash_routine
from voiceguide.speech.engine import engine_class, voice_identity
from voiceguide.version import __version__
from voiceguide.vocabulary import (
    BEDS,
    DEFAULT_ENGINE,
    DEFAULT_FORMAT,
    beside,
    given_values,
    length_name,
    minutes_of,
)

if TYPE_CHECKING:  # the models load on first use: the quick path stays light
    from voiceguide.routine.load import Routine
    from voiceguide.settings import TrackSettings

MAX_SHEET_BYTES: Final = 32 * 1024 * 1024
"""Largest cue sheet read back to compare hashes."""


@dataclass(frozen=True)
class TrackRequest:
    """A single build as asked: where it will write and what decides its bytes."""

    routine_path: Path | None
    """The routine file (None: the routine was given as data; build it from that)."""
    settings: dict[str, Any]
    """The settings layers merged as given (profile < options), not yet validated."""
    path: Path
    """The track file the build writes (a split build's: its playlist, ``.m3u8``)."""
    input_hash: str
    """SHA-256 of every input (recorded as ``input_hash`` in the cue sheet)."""
    split: bool = False
    """A split build: a file per chapter, which the cue sheet lists (``parts``)."""

    @property
    def stem(self) -> str:
        """The output file name without its suffix."""
        return self.path.stem

    def sidecars(self, plot: bool = False) -> list[Path]:
        """The files written beside the track (the picture too with ``plot``)."""
        base = self.path.with_suffix("")
        names = [base.name + s for s in (".cues.json", ".vtt", ".lrc")]
        return [base.with_name(n) for n in names] + ([base.with_suffix(".png")] if plot else [])


_NUMBERS: Final = frozenset({"minutes", "rate", "bed_volume", "loudness"})


def _same(key: str, value: Any) -> Any:
    """One spelling of a number for the hash: 12, 12.0 and "12" (a profile's YAML has
    12; the command line gives --loudness as text, since it may be 'off')."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if key in _NUMBERS and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def one_spelling(layer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings ``layer`` gives, each number in one spelling (5, 5.0 and "5"; for
    minutes "5:00" too), as the hashes of requests read them: a pack's options given
    as ``{"minutes": 5}`` never met the run's own ``{"minutes": 5.0}`` (an app team's
    review: ``pack_up_to_date`` said None each time)."""
    return {k: _same(k, minutes_of(v) if k == "minutes" else v)
            for k, v in given_values(layer).items()}


def _checked(given: dict[str, Any]) -> dict[str, Any]:
    """``given`` checked, each as the setting reads it ("12" and 12 as 12.0, "true" and
    1 as a flag's True) but text as given (a name): the command line's are typed."""
    from voiceguide.settings import TrackSettings  # the models: not on the quick path

    model = TrackSettings.from_options(given)
    values = {k: getattr(model, k) for k in given}
    # a word in capitals is the word ("Rain" is the rain bed): the same request, hash, name
    return {k: v if isinstance(v, str) and isinstance(values[k], str)
            and v.lower() != values[k] else values[k]
            for k, v in given.items() if values[k] is not None}  # None: not given


def _profile_layer(profile: Path | None, default: bool) -> dict[str, Any]:
    profile = profile_to_read(profile) if profile is not None or default else None
    if profile is None:
        return {}
    data = load_yaml(profile, "profile", empty_ok=True).data
    if not isinstance(data, dict):
        return {"invalid profile": repr(data)}
    # its minutes as the setting reads them: 'minutes: 6:30' is 6.5 (named 6.5min, as
    # --minutes 6:30 names it, not 6-30min), and the same request as 'minutes: 6.5'
    return {k: beside(k, minutes_of(v) if k == "minutes" else v, profile.parent)
            for k, v in given_values(data).items()}


def _number(x: Any) -> str:
    return "" if x is None else (f"{x:g}" if isinstance(x, int | float) else str(x))


def track_stem(routine_id: str, title: str, settings: Mapping[str, Any],
               template: str | None = None) -> str:
    """The file name (without suffix) of a single build: ``template`` filled with the
    pack naming fields, or by default the routine id, then the listener's name and the
    length when they are given (``hips-Ana-12min``), so builds for two people or two
    lengths never overwrite each other."""
    if template is not None and not isinstance(template, str):  # track_name=5: said
        raise UsageError(f"{option('track_name')} is a file's name (text) or None, not "
                         f"{type(template).__name__}")
    minutes = settings.get("minutes")
    name = str(settings.get("name") or "")
    values = {
        "n": 1, "routine": routine_id, "name": name, "minutes": _number(minutes),
        "length": "" if minutes is None else length_name(minutes)
        if isinstance(minutes, int | float) else f"{_number(minutes)}min",
        "bed": Path(str(settings["bed"])).stem if settings.get("bed") else "",
        "level": str(settings.get("level") or ""),
        "voice": str(settings.get("voice") or "").split("/")[-1],
        "title": title,
    }
    if template is None or not template.strip():  # `--track-name ""`: as if not given
        template = "{routine}" + ("-{name}" if name else "") + \
            ("-{length}" if minutes is not None else "")
        # a long routine id gives way, so the name and length stay in a stem cut short
        # (cut alike for every listener of it, where their names leave the room)
        rest = template.replace("{routine}", "")
        room = MAX_STEM - (len(render_name(rest, values)) + 1 if rest else 0)
        if len(routine := safe_stem(routine_id)) > room >= 16:
            values["routine"] = shortened(routine, min(room, MAX_STEM // 2))
    file_name_only(template, "track_name", "out_dir", folder_flag="--out")  # a field's
    # value is made safe
    if "{" not in template:  # as a name is: 李雷 and 王芳 were both track.mp3 (an attack)
        return safe_stem(named_part(template))
    try:
        return render_name(template, values)
    except ValueError as exc:
        raise UsageError(f"{option('track_name')}: {exc}") from None


def track_request(routine: str | Path | Routine | Mapping[str, Any],
                  options: Mapping[str, Any] | TrackSettings | None = None,
                  profile: Path | str | None = None, out_dir: Path | str = Path("output"),
                  track_name: str | None = None, *, check: bool = True,
                  default_profile: bool = False, split: bool = False) -> TrackRequest:
    """What ``build`` will do for ``routine`` (a name or file, or a routine as data: a
    dict, or one loaded from a dict or text, hashed as its data) with command-line
    ``options`` (None: not given) over ``profile`` (a profile file; None: none, or with
    ``default_profile`` the user's default profile if there is one, as the command line
    reads it: a server's requests do not take the settings of whoever runs it): its
    output file and input hash. Reads files only; no engine.

    ``options`` are checked (a :class:`UsageError` names an unknown or bad one) and a
    number given as text is taken as the number: ``{"minutes": "12"}`` is the request
    ``{"minutes": 12}`` is. ``check=False``: they are already (the command line's).
    ``split``: the build splits the track (``build_track(split=True)``)."""
    yes_or_no(split=split)
    split = bool(split)  # None: not split
    out_dir = output_folder(out_dir, "track_name")
    profile = path_arg(profile, "profile", "profile file") if profile is not None else None
    given = getattr(options, "model_fields_set", None)
    if isinstance(given, set):  # a TrackSettings, as plan_track and build_track take (an
        # app team's review): the values it was given, as a dict of them would give them
        options = {k: getattr(options, k) for k in given}
    if options is not None and not isinstance(options, Mapping):
        raise UsageError(f"options are a dict of settings or a TrackSettings, not "
                         f"{type(options).__name__}")
    file = routine if isinstance(routine, (str, os.PathLike)) else getattr(routine, "path",
                                                                            None)
    given = given_values(options or {})
    if check and given:
        given = _checked(given)
    path: Path | None = None
    if isinstance(file, (str, os.PathLike)):
        path = find_routine(os.fspath(file))
        doc, name = load_yaml(path, "routine").data, path.stem
    else:  # data (a dict, or a routine made from one or from text): checked as built
        loaded = load_routine(routine)
        doc, name = loaded.doc.data, loaded.id
    library = getattr(routine, "library", None)  # a routine loaded: its own folders
    raw: dict[str, Any] = doc if isinstance(doc, dict) else {}
    settings = {**_profile_layer(profile, default_profile), **given}
    format_name = str(settings.get("format") or DEFAULT_FORMAT)
    fmt = _format_of(settings)
    if isinstance(track_name, str) and track_name.strip():  # --track-name evening.mp3
        track_name = name_without_suffix(track_name, fmt, "track_name", split)  # as given
    stem = track_stem(name, str(raw.get("title") or name), settings, track_name)
    engine = str(settings.get("engine") or DEFAULT_ENGINE)
    h = hashlib.sha256()
    voice = settings.get("voice")
    identity = [__version__, *backend_identity(engine, str(voice) if voice else None,
                                               format_name)]
    same = one_spelling(settings)  # 5, 5.0, "5" (and "5:00" minutes): one request
    h.update(json.dumps([identity, same, stem], sort_keys=True, default=str).encode())
    h.update(b"\0split" if split else b"")  # the whole track's hash as it was
    hash_routine(h, path, raw, getattr(library, "folders", None))
    bed = settings.get("bed")
    if isinstance(bed, str) and bed not in (*BEDS, "none"):
        h.update(b"\0bed\0" + file_identity(Path(bed), MAX_BED_BYTES))
    return TrackRequest(path, settings, out_dir / f"{stem}{'.m3u8' if split else fmt.suffix}",
                        h.hexdigest(), split)


def up_to_date(request: TrackRequest, plot: bool = False) -> dict[str, Any] | None:
    """The cue sheet of the already built track when the track and its sidecars exist and
    were built from the same inputs, else None (build again)."""
    if not isinstance(request, TrackRequest):
        raise UsageError(f"up_to_date takes what track_request returns, not "
                         f"{type(request).__name__}")
    files = [request.path, *request.sidecars(plot)]
    if not all(_plain_file(f) for f in files):  # a link is not vouched for: the build
        return None  # refuses to replace one (an attack: a part linked outside passed)
    sheet_path = files[1]
    try:
        if sheet_path.stat().st_size > MAX_SHEET_BYTES:
            return None
        sheet = parse_json(sheet_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(sheet, dict) or sheet.get("input_hash") != request.input_hash:
        return None
    if not track_length(sheet.get("duration")):  # a damaged sheet: built again
        return None
    size = sheet.get("bytes")
    try:  # a track cut short (a full disk, a copy stopped halfway) is built again
        if isinstance(size, int) and request.path.stat().st_size != size:
            return None
    except OSError:
        return None
    # the files the sheet was made with (not another build's, left by a build stopped
    # between its renames or by two builds at once): digests, where it records them
    recorded = sheet.get("sidecar_sha256")
    recorded = recorded if isinstance(recorded, dict) else {}
    digests = {request.path: sheet.get("playlist_sha256" if request.split else "sha256"),
               **{f: recorded.get(f.name) for f in request.sidecars()[1:]}}
    try:  # each is a regular file (checked above)
        if any(d is not None and file_digest(f) != d for f, d in digests.items()):
            return None
        if request.split and not _parts_intact(request, sheet):
            return None
    except (OSError, ValueError):  # ValueError: a playlist that is not UTF-8
        return None
    return sheet


def _plain_file(path: Path) -> bool:
    """Whether ``path`` is a regular file itself (not a link to one)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _parts_intact(request: TrackRequest, sheet: dict[str, Any]) -> bool:
    """Whether a split build's cue sheet ``sheet`` vouches for its files as they are: its
    playlist's SHA-256 recorded, and each part it lists, as its playlist lists them, a
    regular file of the split's name beside it with the size and SHA-256 recorded (an
    attack: a part listed twice, dropped with its file, or a cue sheet's name listed as
    one was up to date); raises OSError."""
    listed, suffix = sheet.get("parts"), _format_of(request.settings).suffix
    if not isinstance(sheet.get("playlist_sha256"), str) or not isinstance(listed, list) \
            or not 0 < len(listed) <= MAX_CHAPTERS:
        return False
    shape = re.compile(rf"{re.escape(request.stem)}-\d{{2,}}-[^/\\\0]+{re.escape(suffix)}")
    named = [(p.get("file"), p.get("bytes"), p.get("sha256")) if isinstance(p, dict)
             else (None, None, None) for p in listed]
    names = [n for n, _, _ in named]
    if request.path.stat().st_size > MAX_SHEET_BYTES:
        return False
    played = [line for line in request.path.read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    folder = request.path.parent
    return names == played and len(set(names)) == len(names) and all(
        isinstance(n, str) and shape.fullmatch(n) and type(size) is int
        and isinstance(digest, str) and _plain_file(folder / n)
        and os.lstat(folder / n).st_size == size and file_digest(folder / n) == digest
        for n, size, digest in named)


def _format_of(settings: Mapping[str, Any]) -> Format:
    """The format a request's ``settings`` ask for; an unknown one only makes the hash
    differ (the default's file is looked for): the build that follows names it where it
    was written (``--format``, or the profile's line)."""
    return find_format(str(settings.get("format") or DEFAULT_FORMAT)) or get_format(
        DEFAULT_FORMAT)


def backend_packages(engine: str, fmt: str) -> list[str]:
    """The PyPI packages whose versions decide the bytes of a track made with ``engine``
    and format ``fmt``: those each backend names (its ``packages``), and the
    distribution of the plugin that registered it (a plugin's new version may sound or
    encode differently even where it names nothing)."""
    backends = [engine_class(engine), find_format(fmt)]
    names = [p for b in backends if b is not None for p in getattr(b, "packages", ())]
    for b in backends:
        origin = origin_of(b) if b is not None else None
        if origin is not None and origin.distribution:
            names.append(origin.distribution)
    return list(dict.fromkeys(names))


def backend_identity(engine: str, voice: str | None, fmt: str) -> list[str]:
    """What names a track's backends in input hashes: the engine, its version and the
    voice's identity (:func:`~voiceguide.speech.engine.voice_identity`), the format, and
    the versions of :func:`backend_packages`."""
    return [engine, voice_identity(engine, voice), fmt,
            *(f"{p}=={package_version(p)}" for p in backend_packages(engine, fmt))]
