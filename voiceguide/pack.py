"""Track packs: many personalised tracks from one pack file, built in parallel, resumable.

A pack file (YAML) names the routines and either a personalisation matrix (routines x
names x lengths x beds x levels) or an explicit track list, or both. ``build_pack()``
expands it to tracks, skips every track whose inputs and file are unchanged since the
last run (``pack.json``, the manifest, records an input hash and the file's SHA-256),
builds the rest with N worker processes on the shared phrase cache, and writes what
players need: ``playlist.m3u8``, ``feed.xml``, ``index.html`` and optionally a zip.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import string
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from queue import Empty
from typing import Annotated, Any, Final

from pydantic import Field, ValidationError, field_validator, model_validator

from voiceguide import __version__
from voiceguide.atomic import atomic_write, ensure_dir, write_text
from voiceguide.errors import InvalidInputError, OutputError, UsageError, VoiceguideError
from voiceguide.pipeline import (
    BuildRequest,
    BuildResult,
    build_track,
    check_request,
    find_routine,
    library_dirs,
    safe_stem,
)
from voiceguide.profile import (
    Profile,
    Settings,
    apply_settings,
    load_profile,
    looks_like_file,
    printable_text,
)
from voiceguide.routine import ExerciseRef, Level, LoadedRoutine, Model, iter_steps, load_routine
from voiceguide.routine import pydantic_problems as _problems
from voiceguide.sounds import BEDS
from voiceguide.yamlio import Document, load_yaml, suggest

MANIFEST: Final = "pack.json"
MANIFEST_VERSION: Final = 1
MAX_TRACKS: Final = 500
"""Most tracks one pack may expand to."""
DEFAULT_OUTPUT: Final = "{n:02d}-{routine}-{name}-{length}"
FIELDS: Final = ("n", "routine", "name", "minutes", "length", "bed", "level", "voice", "title")
"""Fields a pack's ``output`` naming template may use."""

Name = Annotated[str, Field(max_length=60)]


TrackSettings = Settings
"""A pack's ``defaults`` and each track take the same settings as a profile."""


class PackTrack(TrackSettings):
    """One explicitly listed track."""

    routine: Annotated[str, Field(min_length=1)] = Field(description="Routine name or file.")
    file: str | None = Field(None, description="Output naming template for this track.")


def _none_list() -> list[Any]:
    return [None]


class Matrix(Model):
    """Every combination of these lists becomes a track (routines x names x ...)."""

    routines: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Routine names or files."
    )
    names: Annotated[list[Name], Field(min_length=1)] = Field(
        default_factory=lambda: [""], description="Listeners' names."
    )

    @field_validator("names", "beds")
    @classmethod
    def _printable_items(cls, values: list[Any]) -> list[Any]:
        for v in values:
            printable_text(v)
        return values
    minutes: Annotated[list[Annotated[float, Field(ge=0.5, le=180)] | None],
                       Field(min_length=1)] = Field(
        default_factory=_none_list, description="Track lengths in minutes."
    )
    beds: Annotated[list[str | None], Field(min_length=1)] = Field(
        default_factory=_none_list, description="Beds."
    )
    levels: Annotated[list[Level | None], Field(min_length=1)] = Field(
        default_factory=_none_list, description="Levels."
    )


class Pack(Model):
    """A pack file."""

    title: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        description="Pack title: the album tag and the feed title."
    )
    author: Annotated[str, Field(max_length=120)] = Field(
        "voiceguide", description="Who made the pack (artist tag, feed author)."
    )
    description: str = Field("", description="A few sentences for the feed.")
    language: str = Field("en", description="Feed language code.")
    output: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        DEFAULT_OUTPUT,
        description="File name template; fields: " + ", ".join(FIELDS)
        + ". Always sanitised to a safe name.",
    )
    profile: str | None = Field(None, description="Profile file (relative to the pack).")
    defaults: TrackSettings = Field(
        default_factory=lambda: TrackSettings.model_validate({}),
        description="Settings for every track.",
    )
    matrix: Matrix | None = Field(None, description="A personalisation matrix.")
    tracks: list[PackTrack] = Field(default_factory=list, description="Explicit tracks.")

    check_text = field_validator("title", "author")(printable_text)

    @model_validator(mode="after")
    def _some_tracks(self) -> Pack:
        if self.matrix is None and not self.tracks:
            raise ValueError("a pack needs a 'matrix' or a 'tracks' list")
        return self


@dataclass
class TrackJob:
    """One track of a pack, fully decided."""

    n: int
    request: BuildRequest
    stem: str
    routine_path: Path
    input_hash: str = ""


@dataclass
class PackPlan:
    """A loaded pack, expanded to jobs."""

    path: Path
    model: Pack
    out_dir: Path
    jobs: list[TrackJob]


@dataclass
class PackResult:
    """What ``build_pack`` did."""

    out_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    synthesized: int = 0
    cache_hits: int = 0
    files: list[Path] = field(default_factory=list)
    zip: Path | None = None


_SPEC = re.compile(r"^0?[1-9]?d?$")


def _fmt_number(x: float | None) -> str:
    return "" if x is None else (f"{x:g}")


def render_name(template: str, values: dict[str, Any]) -> str:
    """Fill a naming template (only plain ``{field}`` and ``{n:02d}``) and sanitise it."""
    out: list[str] = []
    for literal, fname, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if fname is None:
            continue
        if fname not in FIELDS or conv or (spec and (fname != "n" or not _SPEC.match(spec))):
            raise ValueError(f"'{{{fname}{':' + spec if spec else ''}}}' is not allowed; "
                             "use " + ", ".join("{" + f + "}" for f in FIELDS))
        out.append(format(values[fname], spec) if spec else str(values[fname]))
    return safe_stem("".join(out))


def load_pack(path: Path, out_dir: Path | None = None, profile_path: Path | None = None,
              engine: str = "espeak") -> PackPlan:
    """Load and validate a pack file and expand it to jobs (no audio yet)."""
    doc = load_yaml(path, "pack")
    try:
        model = Pack.model_validate(doc.data)
    except ValidationError as exc:
        problems = _problems(doc, exc, model=Pack)
        raise InvalidInputError(problems[0], problems) from None
    if profile_path is None and model.profile:
        profile_path = path.parent / model.profile
        if not profile_path.is_file():
            line, col = doc.where(("profile",))
            raise InvalidInputError(f"{path}:{line}:{col}: profile: no such file "
                                    f"'{model.profile}'")
    profile = load_profile(profile_path)
    out = out_dir or Path("output") / safe_stem(path.stem)
    jobs = _expand(doc, model, profile, out, engine)
    if len(jobs) > MAX_TRACKS:
        raise InvalidInputError(f"{path}: the pack makes {len(jobs)} tracks; the most is "
                                f"{MAX_TRACKS}")
    return PackPlan(path, model, out, jobs)


def _expand(doc: Document, model: Pack, profile: Profile, out: Path, engine: str
            ) -> list[TrackJob]:
    path = doc.path
    rows: list[tuple[tuple[str | int, ...], PackTrack]] = []
    for i, t in enumerate(model.tracks):
        rows.append((("tracks", i), t))
    if model.matrix is not None:
        m = model.matrix
        for ref, name, minutes, bed, level in itertools.product(
            m.routines, m.names, m.minutes, m.beds, m.levels
        ):
            rows.append((("matrix",), PackTrack.model_validate(
                {"routine": ref, "name": name, "minutes": minutes, "bed": bed, "level": level})))
    jobs: list[TrackJob] = []
    seen: dict[str, str] = {}
    routines: dict[str, LoadedRoutine] = {}
    for n, (loc, track) in enumerate(rows, 1):
        line, col = doc.where(loc)
        where = f"{path}:{line}:{col}"
        routine_path = _routine_path(track.routine, path.parent, where)
        key = str(routine_path)
        if key not in routines:
            routines[key] = load_routine(routine_path, library_dirs())
        routine = routines[key]
        req = BuildRequest(routine=str(routine_path), out_dir=out, album=model.title,
                           track_number=n, engine=engine)
        for layer in (profile, model.defaults, track):  # later layers win
            req = apply_settings(req, layer, base=None if layer is profile else path.parent)
        if req.bed is not None and req.bed not in (*BEDS, "none") \
                and not looks_like_file(req.bed):
            raise InvalidInputError(f"{where}: bed: unknown bed '{req.bed}'"
                                    f"{suggest(req.bed, BEDS)}; use none, "
                                    + ", ".join(BEDS) + " or an audio file")
        try:
            check_request(req)
        except UsageError as exc:
            raise InvalidInputError(f"{where}: {exc.message.replace('--', '')}") from None
        values = {
            "n": n,
            "routine": routine.id,
            "name": req.name,
            "minutes": _fmt_number(req.minutes),
            "length": f"{_fmt_number(req.minutes)}min" if req.minutes is not None else "",
            "bed": Path(req.bed).stem if req.bed else "",
            "level": req.level or "",
            "voice": (req.voice or "").split("/")[-1],
            "title": routine.model.title,
        }
        template = track.file or model.output
        try:
            stem = render_name(template, values)
        except ValueError as exc:
            line, col = doc.where((*loc, "file") if track.file else ("output",))
            raise InvalidInputError(f"{path}:{line}:{col}: output: {exc}") from None
        if stem in seen:
            line, col = doc.where(("output",))
            raise InvalidInputError(
                f"{path}:{line}:{col}: output: tracks {seen[stem]} and {n} would both be named "
                f"'{stem}'; add fields such as {{name}} or {{length}} to the template"
            )
        seen[stem] = str(n)
        req = replace(req, track_name=stem)
        jobs.append(TrackJob(n, req, stem, routine_path, _input_hash(req, routine)))
    return jobs


def _routine_path(ref: str, base: Path, where: str) -> Path:
    local = base / ref
    if ref.endswith((".yaml", ".yml")) or os.sep in ref:
        if not local.is_file():
            raise InvalidInputError(f"{where}: routine: no such file '{ref}'")
        return local
    if (base / f"{ref}.yaml").is_file():
        return base / f"{ref}.yaml"
    try:
        return find_routine(ref)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: routine: {exc.message}") from None


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_hash(req: BuildRequest, routine: LoadedRoutine) -> str:
    """Everything that decides a track's bytes: settings, routine and exercise files, bed
    file, tool and engine versions."""
    from voiceguide.engines.espeak import _pkg_version

    h = hashlib.sha256()
    settings = {k: v for k, v in asdict(req).items()
                if k not in ("out_dir", "cache_dir", "use_cache", "routine", "plot")}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(json.dumps([__version__, req.engine, _pkg_version("pyttsx3"),
                         _pkg_version("espeakng-loader"), _pkg_version("lameenc")]).encode())
    h.update(routine.path.read_bytes())
    used = sorted({step.exercise for _, step in iter_steps(routine.model.steps, ("steps",))
                   if isinstance(step, ExerciseRef)})
    for ex_id in used:
        src = routine.library.source(ex_id)
        if src is not None and src.doc.path != routine.path:
            h.update(ex_id.encode() + b"\0" + src.doc.path.read_bytes())
    if req.bed and req.bed not in BEDS and req.bed != "none" and Path(req.bed).is_file():
        h.update(_file_digest(Path(req.bed)).encode())
    return h.hexdigest()


# ---------------------------------------------------------------- building


ProgressSink = Callable[[str, str, int, int], None]
"""``sink(track_stem, stage, done, total)``; stage 'done' when a track finishes."""

_worker_queue: Any = None


def _init_worker(queue: Any) -> None:
    global _worker_queue
    _worker_queue = queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides


_worker_engines: dict[str, Any] = {}


def _build_one(req: BuildRequest, stem: str) -> dict[str, Any]:
    """Build one track in a worker process, reusing the worker's speech engine."""
    from voiceguide.cache import PhraseCache, default_cache_dir
    from voiceguide.engines import get_engine

    def progress(stage: str, done: int, total: int) -> None:
        if _worker_queue is not None:
            _worker_queue.put((stem, stage, done, total))

    engine = _worker_engines.get(req.engine)
    if engine is None:
        import atexit

        engine = _worker_engines[req.engine] = get_engine(req.engine)
        atexit.register(engine.close)
    cache = PhraseCache(default_cache_dir())
    return _entry_of(req, stem, build_track(req, progress, engine=engine, cache=cache))


def _entry_of(req: BuildRequest, stem: str, result: BuildResult) -> dict[str, Any]:
    path = result.path
    sheet = json.loads(path.with_name(stem + ".cues.json").read_text())
    return {
        "file": path.name,
        "title": sheet["title"],
        "routine": sheet["routine"],
        "name": req.name,
        "minutes": req.minutes,
        "bed": Path(req.bed).name if req.bed else None,
        "voice": sheet["voice"],
        "rate": req.rate,
        "level": req.level,
        "duration": sheet["duration"],
        "bytes": path.stat().st_size,
        "sha256": _file_digest(path),
        "sidecars": [stem + ".cues.json", stem + ".vtt", stem + ".lrc"],
        "description": result.plan.routine.model.description.strip(),
        "synthesized": result.stats.synthesized,
        "cache_hits": result.stats.cache_hits,
    }


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of a previous run, or an empty one (unreadable counts as empty)."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
        if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION:
            return data
    except (OSError, ValueError):
        pass
    return {"tracks": []}


def _up_to_date(job: TrackJob, old: dict[str, Any] | None, out_dir: Path) -> bool:
    if old is None or old.get("input_hash") != job.input_hash:
        return False
    f = out_dir / str(old.get("file", ""))
    try:
        if f.stat().st_size != old.get("bytes"):
            return False
        if any(not (out_dir / s).is_file() for s in old.get("sidecars", [])):
            return False
        return _file_digest(f) == old.get("sha256")
    except OSError:
        return False


def _manifest(plan: PackPlan, entries: dict[int, dict[str, Any]]) -> dict[str, Any]:
    from voiceguide.engines.espeak import _pkg_version

    return {
        "format": "voiceguide-pack",
        "version": MANIFEST_VERSION,
        "title": plan.model.title,
        "author": plan.model.author,
        "description": plan.model.description.strip(),
        "generator": f"voiceguide {__version__}",
        "tools": {
            "voiceguide": __version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "pyttsx3": _pkg_version("pyttsx3"),
            "espeakng-loader": _pkg_version("espeakng-loader"),
            "lameenc": _pkg_version("lameenc"),
        },
        "tracks": [{"n": n, **entries[n]} for n in sorted(entries)],
    }


def _write_manifest(plan: PackPlan, entries: dict[int, dict[str, Any]]) -> None:
    text = json.dumps(_manifest(plan, entries), indent=1, ensure_ascii=False) + "\n"
    write_text(plan.out_dir / MANIFEST, text)


def _order(jobs: list[TrackJob]) -> list[TrackJob]:
    """Interleave routines so parallel workers start on different phrase sets."""
    by_routine: dict[str, list[TrackJob]] = {}
    for j in jobs:
        by_routine.setdefault(str(j.routine_path), []).append(j)
    out: list[TrackJob] = []
    for group in itertools.zip_longest(*by_routine.values()):
        out.extend(j for j in group if j is not None)
    return out


def build_pack(
    plan: PackPlan,
    jobs: int = 1,
    sink: ProgressSink | None = None,
    base_url: str | None = None,
    make_zip: bool = False,
) -> PackResult:
    """Build every out-of-date track of ``plan`` and write the pack's playlist, feed,
    web player (and zip). Safe to interrupt: the manifest is updated after each track."""
    if jobs < 1 or jobs > 32:
        raise UsageError(f"--jobs must be between 1 and 32 (got {jobs})")
    out_dir = plan.out_dir
    ensure_dir(out_dir)
    old = {t.get("input_hash"): t for t in read_manifest(out_dir).get("tracks", [])
           if isinstance(t, dict)}
    old_files = {str(t.get("file")) for t in old.values()}
    result = PackResult(out_dir)
    entries: dict[int, dict[str, Any]] = {}
    todo: list[TrackJob] = []
    for job in plan.jobs:
        prev = old.get(job.input_hash)
        if prev is not None and prev.get("file") == f"{job.stem}.{job.request.format}" \
                and _up_to_date(job, prev, out_dir):
            entries[job.n] = {k: v for k, v in prev.items() if k != "n"}
            result.skipped.append(job.stem)
        else:
            todo.append(job)
    total = len(plan.jobs)
    if sink:
        sink("", "pack", len(entries), total)

    def finished(job: TrackJob, entry: dict[str, Any]) -> None:
        result.synthesized += entry.pop("synthesized")
        result.cache_hits += entry.pop("cache_hits")
        entries[job.n] = {**entry, "input_hash": job.input_hash}
        result.built.append(job.stem)
        _write_manifest(plan, entries)
        if sink:
            sink(job.stem, "done", 1, 1)
            sink("", "pack", len(entries), total)

    if todo:
        if jobs == 1 or len(todo) == 1:
            _build_serial(todo, sink, finished)
        else:
            _build_parallel(_order(todo), jobs, sink, finished)
    _write_manifest(plan, entries)
    keep = {e["file"] for e in entries.values()} | {
        s for e in entries.values() for s in e.get("sidecars", [])
    }
    for name in sorted(old_files - keep):
        stale = out_dir / name
        if safe_stem(Path(name).stem) == Path(name).stem and stale.is_file():
            stem = stale.stem
            for p in (stale, *(out_dir / f"{stem}{s}" for s in (".cues.json", ".vtt", ".lrc",
                                                                 ".chapters.json"))):
                p.unlink(missing_ok=True)
            result.removed.append(name)
    from voiceguide.packfiles import write_pack_files

    result.files = write_pack_files(plan, [entries[n] for n in sorted(entries)], base_url)
    if make_zip:
        result.zip = write_zip(out_dir, safe_stem(plan.model.title) + ".zip")
    return result


def _build_serial(todo: list[TrackJob], sink: ProgressSink | None,
                  finished: Callable[[TrackJob, dict[str, Any]], None]) -> None:
    from voiceguide.cache import PhraseCache, default_cache_dir
    from voiceguide.engines import get_engine

    engine = get_engine(todo[0].request.engine)
    cache = PhraseCache(default_cache_dir())
    try:
        for job in todo:
            def progress(stage: str, done: int, total: int, stem: str = job.stem) -> None:
                if sink:
                    sink(stem, stage, done, total)

            r = build_track(job.request, progress, engine=engine, cache=cache)
            finished(job, _entry_of(job.request, job.stem, r))
    finally:
        engine.close()


def _build_parallel(todo: list[TrackJob], jobs: int, sink: ProgressSink | None,
                    finished: Callable[[TrackJob, dict[str, Any]], None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                stem, stage, done, total = queue.get(timeout=0.1)
            except Empty:
                continue
            except (EOFError, OSError):
                return
            if sink:
                sink(stem, stage, done, total)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                               initializer=_init_worker, initargs=(queue,))
    running: dict[Future[dict[str, Any]], TrackJob] = {}
    pending = iter(todo)
    try:
        for job in itertools.islice(pending, jobs):
            running[pool.submit(_build_one, job.request, job.stem)] = job
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    entry = fut.result()
                except VoiceguideError as exc:
                    raise type(exc)(f"track {job.n} ({job.stem}): {exc}") from None
                finished(job, entry)
                nxt = next(pending, None)
                if nxt is not None:
                    running[pool.submit(_build_one, nxt.request, nxt.stem)] = nxt
    except BaseException:
        for fut in running:
            fut.cancel()
        _kill_pool(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        thread.join(timeout=2)
        queue.close()


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    procs = getattr(pool, "_processes", None) or {}
    for p in list(procs.values()):
        with contextlib.suppress(Exception):  # best effort on the way out
            p.terminate()


def _zip_entries(out_dir: Path, zip_name: str) -> Iterator[Path]:
    for p in sorted(out_dir.iterdir()):
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".zip":
            yield p


def write_zip(out_dir: Path, zip_name: str) -> Path:
    """Zip the pack folder (byte-identical for identical files: fixed dates, sorted)."""
    path = out_dir / zip_name
    folder = safe_stem(out_dir.name)
    try:
        with atomic_write(path) as f, zipfile.ZipFile(f, "w") as z:
            for p in _zip_entries(out_dir, zip_name):
                info = zipfile.ZipInfo(f"{folder}/{p.name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                stored = p.suffix in (".mp3", ".png", ".zip")
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                with p.open("rb") as src, z.open(info, "w") as dst:
                    for block in iter(lambda s=src: s.read(1 << 20), b""):  # type: ignore[misc]
                        dst.write(block)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the zip ({exc.strerror})") from None
    return path
