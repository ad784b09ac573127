"""Planning a pack: load the pack file, expand its matrix and track list into jobs with
their settings layered (profile < pack defaults < track < command line), safe unique
file names, and an input hash per track. No audio yet."""

from __future__ import annotations

import datetime
import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

from voiceguide.errors import InvalidInputError, OtherKindError, option
from voiceguide.export.formats import get_format
from voiceguide.io.kinds import wrong_kind
from voiceguide.io.models import capped, validate_document
from voiceguide.io.paths import folder_slug, leaves_folder, path_arg, render_name
from voiceguide.io.yamldoc import Document, load_yaml
from voiceguide.languages import track_title
from voiceguide.limits import MAX_PROBLEMS_SAID
from voiceguide.pack import named
from voiceguide.pack.dest import Destination, destination
from voiceguide.pack.fresh import (
    PackDigest,
    PackInputs,
    default_pack_folder,
    moved,
    pack_digest,
    routine_path,
    shown_folder,
)
from voiceguide.pack.identity import input_hash
from voiceguide.pack.jobs import TrackJob
from voiceguide.pack.model import MAX_TRACKS, Pack, PackTrack
from voiceguide.pack.named import bed_loc, check_bed, check_routine_bed, confined, track_loc
from voiceguide.pack.titles import tell_apart
from voiceguide.profile import load_profile
from voiceguide.routine.catalogue import library_dirs
from voiceguide.routine.folders import routine_dirs
from voiceguide.routine.load import Routine
from voiceguide.settings import TrackSettings, relative_to, settings_of
from voiceguide.vocabulary import length_name

RELATIVE_FEED: Final = ("feed.xml has relative links, which podcast apps cannot follow: "
                        "'voiceguide serve' hands it out with its own address filled in; to "
                        "host the folder elsewhere, give that address as the pack's base URL "
                        "(--base-url https://..., or base_url= from Python)")
"""The warning of a pack run without ``--base-url`` (kept with the pack's report, so
worded alike for the command line and an app)."""


@dataclass(frozen=True)
class Group:
    """One folder of a grouped pack (``group_by``): a listener's (or a routine's) own
    tracks, feed, player, playlist and zip."""

    slug: str
    """The folder's name (safe: see :func:`~voiceguide.io.paths.folder_slug`)."""
    label: str
    """What the tracks share: the listener's name (or the routine's title)."""
    title: str
    """The pack's title with the label: album tag, feed and player title."""
    feed_id: str
    """The pack's :meth:`~voiceguide.pack.model.Pack.feed_seed` with the label."""


@dataclass
class PackPlan:
    """A loaded pack, expanded to jobs."""

    path: Path
    model: Pack
    dest: Destination
    """Where the pack goes (a folder or an fsspec URL)."""
    jobs: list[TrackJob]
    groups: list[Group] = field(default_factory=list)
    """The folders of a grouped pack, in pack order (empty: one folder for all)."""
    inputs: PackInputs | None = None
    """What the plan was loaded from (for the up-to-date stamp of a local pack)."""
    fresh: PackDigest | None = None
    """The digest of its inputs when it was planned (for the up-to-date stamp)."""
    warnings: list[str] = field(default_factory=list)
    """What the coach should know before building (a listener given twice)."""

    @property
    def out_dir(self) -> Path | str:
        """The pack folder (a path), or the URL of a remote destination."""
        return self.dest.local or str(self.dest)

    def feed_warnings(self, base_url: str | None) -> list[str]:
        """What the coach should know before a feed goes out to podcast apps (a run with
        ``base_url``): without ``published:``, the default day is the episodes' age."""
        if base_url is None or not self.jobs:
            return []
        owner = []  # the starter's placeholders, left as they were
        if not self.model.email:
            owner.append(f"{self.path}: no 'email:', so feed.xml names no owner; Apple "
                         "Podcasts asks for one (email: you@example.org)")
        if self.model.author in ("you", "voiceguide"):
            owner.append(f"{self.path}: 'author: {self.model.author}' is what podcast apps "
                         "show as the pack's maker; write your name")
        return owner + self._dates()

    def published_warnings(self, base_url: str | None) -> list[str]:
        """Everything the CLI says of a pack it publishes, in order (an app gets them in
        :attr:`PackResult.warnings`)."""
        return self.warnings + self.feed_warnings(base_url) + self.link_warnings(base_url)

    @staticmethod
    def link_warnings(base_url: str | None) -> list[str]:
        """What the coach should know of a feed without ``base_url``: its links are
        relative (said last, after the build)."""
        return [RELATIVE_FEED] if base_url is None else []

    def _dates(self) -> list[str]:
        if "published" not in self.model.model_fields_set:
            return [f"{self.path}: no 'published:' date, so feed.xml dates episode 1 "
                    f"{self.model.published:%Y-%m-%d} (each next one a day later), which "
                    "podcast apps show; add the day of the first episode, such as "
                    "'published: 2026-01-05' (it stays fixed, so a rebuild gives the same "
                    "feed)"]
        sizes = list(Counter(j.group for j in self.jobs).values())  # each feed's, one a
        past = (datetime.date.today() - self.model.published).days + 1  # day (all feeds')
        if (ahead := sum(max(0, k - max(0, past)) for k in sizes)) <= 0:
            return []
        latest = datetime.date.today() - datetime.timedelta(days=max(sizes) - 1)
        feeds = "feed.xml dates" if len(sizes) == 1 else f"the {len(sizes)} feeds date"
        return [f"{self.path}: {feeds} {ahead} of {sum(sizes)} episodes after today "
                f"(one a day from {self.model.published:%Y-%m-%d}), and podcast apps may "
                f"hide an episode until its date; set 'published: {latest:%Y-%m-%d}' or "
                "earlier to have them all out now"]


def _fmt_number(x: float | None) -> str:
    return "" if x is None else (f"{x:g}")


def track_count(model: Pack) -> int:
    """How many tracks ``model`` makes, from the matrix dimensions (no row is built)."""
    count = len(model.tracks)
    if model.matrix is not None:
        m = model.matrix
        count += math.prod(len(d) for d in (m.routines, m.names, m.minutes, m.beds, m.levels))
    return count


def load_pack(path: Path | str, out_dir: Path | str | None = None,
              profile_path: Path | str | None = None,
              options: TrackSettings | Mapping[str, Any] | None = None) -> PackPlan:
    """Load and validate a pack file and expand it to jobs (no audio yet); ``options``
    is the command line's settings layer (e.g. the engine; a dict of settings too);
    ``out_dir`` a folder or an fsspec URL (``s3://bucket/prefix``)."""
    path = path_arg(path, "path", "pack file")
    options = settings_of(options) if options is not None else None
    profile_path = None if profile_path is None else path_arg(profile_path, "profile_path",
                                                               "profile")
    doc = load_yaml(path, "pack")
    other = wrong_kind(path, doc.data, TrackSettings.model_fields, "pack")
    if other is not None:  # a routine given as a pack: said in one line
        raise OtherKindError(other)
    model = validate_document(doc, Pack)
    count = track_count(model)
    if count > MAX_TRACKS:
        line, col = doc.where(("matrix",) if model.matrix is not None else ("tracks",))
        raise InvalidInputError(f"{path}:{line}:{col}: the pack makes {count} tracks; the "
                                f"most is {MAX_TRACKS}; split it into several packs")
    given_profile = profile_path
    if profile_path is None and model.profile:
        profile_path = path.parent / model.profile
        why = leaves_folder(model.profile, path.parent, routine_dirs())
        if why is not None:
            line, col = doc.where(("profile",))
            raise InvalidInputError(f"{path}:{line}:{col}: profile: '{model.profile[:200]}' "
                                    f"is outside the pack's folder and the routine folders "
                                    f"({why}); put it beside the pack, or give it with "
                                    f"{option('profile_path', flag='--profile')}")
        if not profile_path.is_file():
            line, col = doc.where(("profile",))
            raise InvalidInputError(f"{path}:{line}:{col}: profile: '{model.profile}' is a "
                                    "folder; name the profile file in it" if profile_path.is_dir()
                                    else f"{path}:{line}:{col}: profile: no such file "
                                    f"'{model.profile}' beside the pack (in "
                                    f"{shown_folder(path.parent)}){moved(model.profile)}")
    # a profile the pack names is the pack's; yours (--profile, the default) may name any file
    profile = load_profile(profile_path, confined=given_profile is None and bool(model.profile),
                           roots=routine_dirs())
    dest = destination(out_dir or default_pack_folder(path))
    groups: list[Group] = []
    refs: dict[str, Path] = {}
    warnings: list[str] = []
    jobs = _expand(doc, model, profile, dest, options, groups, refs, warnings)
    warnings += named.decimal_minutes(doc)  # 8.30 is 8:18
    odd = sorted({j.settings.format for j in jobs if not get_format(j.settings.format).podcast})
    if odd:  # the feed lists them all the same
        count = sum(j.settings.format in odd for j in jobs)
        warnings.append(f"{path}: {count} track(s) in {', '.join(odd)}: Apple Podcasts does "
                        "not play them from a feed; use format mp3 or m4a for podcast "
                        "listeners")
    inputs = fresh = None
    if dest.local is not None:
        inputs = PackInputs(path, dest.local, given_profile, options.given() if options else {})
        fresh = pack_digest(inputs, refs, [(j.settings.bed, j.settings.engine, j.settings.voice,
                                            j.settings.format) for j in jobs])
    return PackPlan(path, model, dest, jobs, groups, inputs, fresh, warnings)


def _rows(model: Pack, doc: Document) -> list[tuple[tuple[str | int, ...], PackTrack]]:
    """The tracks in the order the file writes them: the ``tracks:`` list and the
    ``matrix:`` combinations, whichever comes first (the list was always first)."""
    listed: list[tuple[tuple[str | int, ...], PackTrack]] = [
        (("tracks", i), t) for i, t in enumerate(model.tracks)]
    rows: list[tuple[tuple[str | int, ...], PackTrack]] = []
    if model.matrix is not None:
        m = model.matrix
        for ref, name, minutes, bed, level in itertools.product(
            m.routines, m.names, m.minutes, m.beds, m.levels
        ):
            values = {"routine": ref, "name": name, "minutes": minutes, "bed": bed,
                      "level": level}
            rows.append((("matrix",), PackTrack.model_validate(
                {k: v for k, v in values.items() if v is not None})))
    if model.tracks and doc.where(("tracks",), key=True) < doc.where(("matrix",), key=True):
        return listed + rows
    return rows + listed


def _group_title(title: str, label: str) -> str:
    return f"{title} · {label}"


def _expand(doc: Document, model: Pack, profile: TrackSettings, out: Destination,
            options: TrackSettings | None, groups: list[Group],
            refs: dict[str, Path], warnings: list[str]) -> list[TrackJob]:
    path = doc.path
    base = path.parent
    jobs: list[TrackJob] = []
    made_from: list[Routine] = []
    seen: dict[tuple[str, str], tuple[str, dict[str, object], str]] = {}
    seen_settings: dict[str, str] = {}
    beds_ok: set[str] = set()
    routines: dict[str, Routine] = {}
    by_slug: dict[str, tuple[str, Group]] = {}
    numbers: dict[str, int] = {}
    roots = routine_dirs()  # where the files a pack names may also lie
    outside = confined(doc, model.defaults, lambda key: ("defaults", key), roots)
    problems: list[str] = []  # every track's problems, and every file's, in one run
    for n, (loc, track) in enumerate(_rows(model, doc), 1):
        try:
            line, col = doc.where(loc)
            where = f"{path}:{line}:{col}"
            at = track_loc(model, loc, track, "routine")  # a matrix's item, not `routines:`
            path_ = routine_path(track.routine, base, doc.located(at))
            refs[track.routine] = path_
            key = str(path_)
            if key not in routines:
                routines[key] = Routine.from_file(path_, library_dirs())
            routine = routines[key]
            settings = TrackSettings.layered(profile, relative_to(model.defaults, base),
                               relative_to(track.layer(), base), options)
            own = confined(doc, track.layer(), partial(track_loc, model, loc, track), roots)
            problems.extend(p for p in [*outside.values(), *own.values()] if p not in problems)
            if "bed" not in (own if track.bed is not None else outside):
                try:  # the bed it plays, unless it is outside (said above)
                    check_bed(settings.bed, doc, bed_loc(model, loc, track), beds_ok)
                    check_routine_bed(routine, settings, beds_ok)
                except InvalidInputError as exc:
                    problems.extend(p for p in exc.problems if p not in problems)
            group = _group_of(doc, model, loc, n, settings, routine, by_slug)
            if group is not None and group.slug not in numbers:
                groups.append(group)
            slug = group.slug if group is not None else ""
            numbers[slug] = number = numbers.get(slug, 0) + 1
            values = {
                "n": number,
                "routine": routine.id,
                "name": settings.name,
                "minutes": _fmt_number(settings.minutes),
                "length": length_name(settings.minutes) if settings.minutes is not None
                else "",
                "bed": Path(settings.bed).stem if settings.bed else "",
                "level": settings.level or "",
                "voice": (settings.voice or "").split("/")[-1],
                "title": routine.spec.title,
            }
            template = track.file or model.output
            try:
                stem = render_name(template, values)
            except ValueError as exc:
                line, col = doc.where((*loc, "file") if track.file else ("output",))
                raise InvalidInputError(f"{path}:{line}:{col}: output: {exc}") from None
            twin = f"{path_}\0{slug}\0{settings.model_dump_json()}"
            if twin in seen_settings:  # a schedule may repeat a session; a list, a listener
                warnings.append(f"{where}: tracks {seen_settings[twin]} and {n} are the same "
                                "routine with the same settings for the same listener (given "
                                "twice?); remove one unless the repeat is meant")
            seen_settings[twin] = str(n)
            # Windows, macOS and a phone's SD card take 'Ana' and 'ana' for one name
            if (slug, stem.casefold()) in seen:
                line, col = doc.where(("output",))
                first, before, named = seen[slug, stem.casefold()]
                used = set(re.findall(r"\{(\w+)", template))
                apart = [f"{{{f}}}" for f in ("name", "length", "level", "bed", "voice")
                         if str(values[f]).casefold() != str(before[f]).casefold()
                         and f not in used][:1]
                both = f"'{stem}'" if named == stem else \
                    f"'{named}' and '{stem}', one name on Windows, macOS and phones"
                raise InvalidInputError(  # {n} always tells them apart; a clash has none
                    f"{path}:{line}:{col}: output: tracks {first} and {n} would both be named "
                    f"{both}; add {' or '.join([*apart, '{n}'])} to the template")
            seen[slug, stem.casefold()] = (str(n), values, stem)
            # absolute: a worker of a cluster, started elsewhere, finds it (a helper's
            # attack: './routines/...' was no file on the workers)
            job = TrackJob(n, path_.absolute(), settings, stem,
                           out if group is None else out.child(group.slug),
                           model.title if group is None else group.title, model.author,
                           minutes=_expected_minutes(settings, routine),
                           language=routine.spec.language, group=slug, track_number=number,
                           origin=where)
            jobs.append(job)
            made_from.append(routine)
        except InvalidInputError as exc:  # every track's problem at once, not the first
            problems.extend(p for p in exc.problems if p not in problems)
            if len(problems) > MAX_PROBLEMS_SAID:
                break
    if problems:
        problems = capped(problems)
        raise InvalidInputError(problems[0], problems)
    tell_apart(jobs, [track_title(r.spec.language, r.spec.title, j.settings.name)
                      for j, r in zip(jobs, made_from, strict=True)], made_from)
    for job, routine in zip(jobs, made_from, strict=True):
        job.input_hash = input_hash(job, routine)
    return jobs


def _group_of(doc: Document, model: Pack, loc: tuple[str | int, ...], n: int,
              settings: TrackSettings, routine: Routine,
              by_slug: dict[str, tuple[str, Group]]) -> Group | None:
    """The folder track ``n`` goes to under ``group_by`` (None without it); two values
    that would share a folder are an error."""
    if model.group_by is None:
        return None
    path = doc.path
    if model.group_by == "name":
        value = label = settings.name or ""
        if model.matrix is not None and loc == ("matrix",) and value in model.matrix.names:
            loc = ("matrix", "names", model.matrix.names.index(value))
        if not value.strip():
            line, col = doc.where(loc)
            raise InvalidInputError(
                f"{path}:{line}:{col}: group_by: name: track {n} has no listener's name; "
                "give every track a name (matrix names, the track's name or the profile's), "
                "or remove group_by")
    else:
        value, label = routine.id, routine.spec.title
    group = Group(folder_slug(value), label, _group_title(model.title, label),
                  _group_title(model.feed_seed(), label))
    if group.slug in by_slug:
        other, known = by_slug[group.slug]
        if other != value:
            line, col = doc.where(loc)
            raise InvalidInputError(
                f"{path}:{line}:{col}: group_by: {model.group_by}: '{other}' and '{value}' "
                f"would share the folder '{group.slug}' (folder names keep only ASCII "
                "letters and digits); " + (f"tell them apart in the name, which the voice "
                f"says as written: '{value} B.' for a second {value}" if
                model.group_by == "name" else "rename one of the routine files"))
        return known
    by_slug[group.slug] = (value, group)
    return group


def _expected_minutes(settings: TrackSettings, routine: Routine) -> float:
    """The length a track is asked for, else the middle of its routine's designed range
    (only orders the work: longest first)."""
    if settings.minutes is not None:
        return settings.minutes
    length = routine.spec.length
    return (length.min + length.max) / 2 if length is not None else 0.0

