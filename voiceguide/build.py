"""Build a track: plan (routine -> script -> measured, fitted timeline), render (mix,
encode), result. :func:`plan_track` does everything that needs the speech engine and
decides every cue time; :func:`render_track` mixes and encodes a plan to a path, to
bytes or to a stream; :func:`build_track` does both and writes the cue sheets beside
the track. Each stage lives in its own module and hands plain data to the next."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO, cast, overload

from voiceguide.deliver import Chunks, Progress, deliver
from voiceguide.errors import (
    OutputError,
    PhraseTooLong,
    UsageError,
    callable_or_none,
    with_methods,
    yes_or_no,
)
from voiceguide.export.cover import make_cover
from voiceguide.export.formats import (
    Format,
    TrackTags,
    check_suffix,
    check_tags,
    get_format,
    name_without_suffix,
)
from voiceguide.export.sidecars import (
    cue_sheet,
    described_parts,
    described_whole,
    listed_parts,
    retire_before,
    warn_if_replacing,
    write_sidecars,
    written_digest,
)
from voiceguide.export.split import parts, playlist, write_parts
from voiceguide.fitted import fit_routine
from voiceguide.io.atomic import (
    atomic_unit,
    atomic_write,
    sweep_temporaries,
    unit_digest,
    write_text,
)
from voiceguide.io.machine import release_memory, scratch_beside
from voiceguide.io.paths import (
    file_name_only,
    named_part,
    output_folder,
    path_arg,
    safe_stem,
    unrooted,
)
from voiceguide.languages import ENGLISH, or_english, track_title
from voiceguide.lengths import check_chapters, crowded, rate_warnings, silences
from voiceguide.limits import render_budget
from voiceguide.mix.mixer import Mixer, mixer_for
from voiceguide.mix.sounds import bed_ahead, pick_bed
from voiceguide.results import BuildResult, Rendered, TrackPlan
from voiceguide.routine.catalogue import load_routine
from voiceguide.routine.lexicon import track_lexicon
from voiceguide.routine.load import Routine
from voiceguide.script.expand import check_templates, expand, spoken_minutes
from voiceguide.script.items import speech_places
from voiceguide.script.levels import same_at_every_level
from voiceguide.settings import DEFAULT_RATE, TrackSettings, settings_of
from voiceguide.speech.bank import Phrases, SpeechBank, speech_workers
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import SilentPhrase, SpeechEngine, get_engine, running_engine_is
from voiceguide.speech.voices import track_voice
from voiceguide.verify import Files
from voiceguide.version import __version__

DEFAULT_ALBUM = ENGLISH.album  # an English track's album tag built on its own (see Language)


@render_budget()  # one for every expansion of this plan (see TOTAL_RENDER_SECONDS)
def plan_track(
    routine: Routine | str | Path | Mapping[str, Any],
    settings: TrackSettings | Mapping[str, Any] | None = None,
    *,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | bool = True,
    progress: Progress | None = None,
    phrases: Phrases | None = None,
) -> TrackPlan:
    """Lay ``routine`` out for ``settings``: synthesise and measure every phrase (or take it
    from the phrase cache), then fit and schedule every cue to the sample.

    ``engine``: a running engine to use (else one is started for ``settings.engine`` and
    stopped again); ``cache``: True for the user's phrase cache, False for none;
    ``phrases``: take every phrase from there instead (no engine is started). A routine
    may be given as ``load_routine`` takes it, settings as a dict (``from_options``).
    """
    callable_or_none(progress=progress)  # before any work: "x" failed after the speech
    with_methods("phrases", phrases, ("measure", "clip", "prefetch"), "a SpeechBank")
    routine, settings, said = load_routine(routine), settings_of(settings), list[str]()
    running_engine_is(engine, settings.engine)
    own, own_bank = engine is None and phrases is None, None  # own_bank: a SpeechBank made here
    slow = settings.rate if settings.rate < DEFAULT_RATE else None  # a faster one: a fix too
    engine = engine or (None if phrases is not None else get_engine(settings.engine))
    try:
        t0 = time.perf_counter()
        spec = routine.spec
        if phrases is not None:  # its voice chosen, and warned of, where it was made
            bank, said = phrases, list(getattr(phrases, "voice_warnings", []))
        else:
            assert engine is not None
            voice, store, said = track_voice(engine, settings.voice, spec.language, cache)
            bank = own_bank = SpeechBank(engine, voice, settings.rate, store, speech_workers())
        bank.lexicon = track_lexicon(spec.lexicon, spec.language)  # phrases made elsewhere too
        folder = routine.path.parent if routine.path is not None else None
        bed_choice = pick_bed(settings.bed, spec.bed, folder, routine.at("bed"))  # not decoded
        bed_loop = bed_ahead(bed_choice, bank.sample_rate)  # a built-in one made meanwhile
        t1 = time.perf_counter()
        spoken = spoken_minutes(settings.minutes) if settings.minutes is not None else None
        script = expand(routine, settings, minutes=spoken)  # says where what is unset
        check_templates(routine)  # and in the branches this render did not take
        said = [*said, *same_at_every_level(routine, settings, spoken, script)]
        places = speech_places(script.root)
        try:
            bank.prefetch(places, (lambda d, t: progress("speech", d, t)) if progress else None)
        except SilentPhrase as exc:  # said where it is written
            raise exc.at(places, bank.lexicon.spoken) from None
        try:
            fitted = fit_routine(routine, settings, bank.measure, bank.sample_rate,
                                 lambda name, room: room, script)  # a chime rings through its room
        except PhraseTooLong as exc:
            raise PhraseTooLong(exc.problem, slow, exc.slot) if slow else exc from None
        check_chapters(fitted.timeline, routine.doc.path)
        if own_bank is not None:  # not a pack's phrases: they serve other tracks too
            own_bank.keep_only((c.text, c.speed) for c in fitted.timeline.speech_cues())
        bed = bed_loop(fitted.timeline.duration)  # a bed file: as far as the track plays
        release_memory()  # what reading the phrases and making the bed dropped
        t2 = time.perf_counter()
    finally:
        if own and engine is not None:
            engine.close()
    warnings = [*said, *fitted.script.warnings, *fitted.warnings,
                *fitted.timeline.speed_warnings(slow),
                *(silences(fitted.timeline) if not bed_choice else []), *crowded(fitted.timeline),
                *rate_warnings(fitted.timeline, settings.rate,
                               getattr(engine, "name", settings.engine))]
    return TrackPlan(routine, settings, fitted.script, fitted.timeline, fitted.fit, bank,
                     bank.voice, bed, {"load": t1 - t0, "speech+schedule": t2 - t1}, warnings,
                     fitted.notes)


def track_tags(plan: TrackPlan, album: str | None = None, track_number: int | None = None,
               artist: str | None = None, title: str | None = None) -> TrackTags:
    """The tags of a planned track (title: ``title``, else the routine's with the
    listener's name; artist: ``artist`` or the routine's author, album...), those given
    checked (:func:`~voiceguide.export.formats.check_tags`)."""
    if not isinstance(plan, TrackPlan):  # track_tags("x"): said, not an AttributeError
        raise UsageError(f"track_tags takes what plan_track returns, not {type(plan).__name__}")
    check_tags(track_number, title=title, artist=artist, album=album)
    spec = plan.routine.spec
    return TrackTags(
        title=title or track_title(spec.language, spec.title, plan.settings.name),
        artist=artist or spec.author,
        album=album or or_english(spec.language).album,
        comment=spec.description.strip(),
        genre=or_english(spec.language).genre,
        track=track_number,
        cover_png=make_cover(spec.title, plan.routine.id),
        language=spec.language,
    )


def _mixer(plan: TrackPlan) -> Mixer:
    return mixer_for(plan.timeline, plan.bank.clip, plan.settings, plan.bed,
                     plan.routine.spec.room_tone)


@overload
def render_track(plan: TrackPlan, dest: None = None, *, tags: TrackTags | None = None,
                 progress: Progress | None = None) -> bytes: ...


@overload
def render_track(plan: TrackPlan, dest: Path | str | IO[bytes], *,
                 tags: TrackTags | None = None, progress: Progress | None = None
                 ) -> Rendered: ...


def render_track(plan: TrackPlan, dest: Path | str | IO[bytes] | None = None, *,
                 tags: TrackTags | None = None, progress: Progress | None = None
                 ) -> bytes | Rendered:
    """Mix and encode ``plan`` in the format of its settings: to ``dest`` (a path, written
    atomically, or any binary stream), or, without ``dest``, return the file's bytes."""
    if not isinstance(plan, TrackPlan):
        raise UsageError(f"render_track takes a TrackPlan (plan_track's), not "
                         f"{type(plan).__name__}")
    callable_or_none(progress=progress)
    if tags is not None and not isinstance(tags, TrackTags):
        raise UsageError(f"tags is a TrackTags (track_tags(plan, ...) makes one), not "
                         f"{type(tags).__name__}")
    if dest is None:
        buf = io.BytesIO()
        _render(plan, buf, None, tags, progress)
        return buf.getvalue()
    if isinstance(dest, str | Path):
        path = path_arg(dest, "dest", "file")  # a NUL in it: a UsageError
        check_suffix(path, get_format(plan.settings.format))
        with atomic_write(path) as f:
            return _render(plan, f, path, tags, progress)
    if isinstance(dest, io.TextIOBase) or not callable(getattr(dest, "write", None)):
        raise UsageError("render_track writes bytes: give a path or a binary stream "
                         "(open(..., 'wb'), io.BytesIO), not a text one")
    if getattr(dest, "closed", False) is True:
        raise UsageError("render_track was given a stream that is closed")
    try:
        if all(callable(f) and f() for f in (getattr(dest, "seekable", None),
                                             getattr(dest, "readable", None))):
            return _render(plan, cast(BinaryIO, dest), None, tags, progress)
        # the encoder seeks back to finish its header, and the result is decoded to check it
        with tempfile.TemporaryFile() as spool:
            rendered = _render(plan, spool, None, tags, progress)
            spool.seek(0)
            shutil.copyfileobj(spool, dest)
            return rendered
    except OSError as exc:  # the caller's stream (a full disk, a closed pipe)
        raise OutputError(f"cannot write the track to {getattr(dest, 'name', 'the stream')}:"
                          f" {exc.strerror or exc}") from None


def _sheet(plan: TrackPlan, tags: TrackTags) -> dict[str, Any]:
    return cue_sheet(plan.timeline, _header(plan, tags))


def _header(plan: TrackPlan, tags: TrackTags) -> dict[str, Any]:
    """What a cue sheet says of the track beside its timeline."""
    return {
        "title": tags.title,
        "routine": plan.routine.id,
        "artist": tags.artist,
        "voice": plan.voice,
        "rate": plan.settings.rate,
        "language": plan.routine.spec.language,
        "generator": f"voiceguide {__version__}",
        **plan.settings.recorded(plan.routine.spec.level, plan.routine.spec.bed),
    }


def _render(plan: TrackPlan, f: BinaryIO, path: Path | None, tags: TrackTags | None,
            progress: Progress | None) -> Rendered:
    fmt = get_format(plan.settings.format)
    tags = tags or track_tags(plan)
    start = f.tell()

    def write(stream: Chunks) -> Files:
        f.seek(start)
        f.truncate()
        fmt.write_checked(f, stream, plan.timeline.sample_rate, tags, plan.timeline)
        return [(f, start)]

    with scratch_beside(path.parent) if path is not None else contextlib.nullcontext():
        mastering, timings = deliver(_mixer(plan), fmt, write, progress, plan.warnings)
    return Rendered(path, f.tell() - start, fmt, tags, _sheet(plan, tags), mastering.loudness,
                    mastering.mixer, timings)


def render_split(plan: TrackPlan, out_dir: Path, stem: str, *, tags: TrackTags | None = None,
                 progress: Progress | None = None) -> Rendered:
    """Mix ``plan`` once and write one file per chapter into ``out_dir``
    (``<stem>-<nn>-<chapter>``, tagged with the chapter as title, the track as album and
    track numbers) plus ``<stem>.m3u8``; the cue sheet lists the parts."""
    fmt = get_format(plan.settings.format)
    tags = tags or track_tags(plan)
    sr = plan.timeline.sample_rate
    pieces = parts(plan.timeline)
    made: list[tuple[Path, BinaryIO | Path]] = []  # each part, read from its file until
    # the unit names it (a dip's encode writes them again)

    def write(stream: Chunks) -> Files:
        made[:] = write_parts(fmt, stream, out_dir, stem, pieces, tags, sr)
        return [(src, 0) for _, src in made]

    with scratch_beside(out_dir):
        mastering, timings = deliver(_mixer(plan), fmt, write, progress, plan.warnings)
    written = [path for path, _ in made]
    listing = out_dir / f"{stem}.m3u8"
    write_text(listing, playlist(tags.title, [(p.name, (part.end - part.start) / sr, part.title)
                                              for p, part in zip(written, pieces, strict=True)]))
    sheet = {**_sheet(plan, tags), "parts": listed_parts(written, pieces, sr),
             "playlist_sha256": written_digest(listing)}  # what an up-to-date build reads
    size = sum(part["bytes"] or 0 for part in sheet["parts"])
    return Rendered(listing, size, fmt, tags, sheet, mastering.loudness, mastering.mixer,
                    timings, written)


def build_track(
    routine: Routine | str | Path | Mapping[str, Any],
    settings: TrackSettings | Mapping[str, Any] | None = None,
    out_dir: Path | str = Path("output"),
    *,
    stem: str | None = None,
    album: str | None = None,
    track_number: int | None = None,
    artist: str | None = None,
    split: bool = False,
    plot: bool = False,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | bool = True,
    progress: Progress | None = None,
    phrases: Phrases | None = None,
    input_hash: str | None = None,
    title: str | None = None,
) -> BuildResult:
    """Build one track and its sidecars into ``out_dir`` (file name: ``stem``, else the
    routine's id; ``album``, ``track_number``, ``artist``, ``title``: tags). ``split``: a
    file per chapter and a playlist (``path``). Track and sidecars are one unit: a
    failure before they are named leaves the old files; the cue sheet, named last,
    records the others' digests (a build stopped between renames is not up to date).
    ``input_hash`` (see ``track_request``) goes in the cue sheet: an unchanged build is
    skipped. Returns a :class:`BuildResult` (``path``, ``duration``, ``sheet``,
    ``warnings``); raises a :class:`VoiceguideError` (its kind and ``exit_code``)."""
    out_dir = output_folder(out_dir, "stem")  # a str is taken too; not "x.mp3" (a folder)
    yes_or_no(split=split, plot=plot)
    if input_hash is not None and not (isinstance(input_hash, str) and len(input_hash) <= 128
                                       and input_hash.isascii() and input_hash.isalnum()):
        raise UsageError("input_hash is the text track_request(...).input_hash gives (a hex "
                         f"digest), not {type(input_hash).__name__} {str(input_hash)[:40]!r}")
    if stem is not None and not isinstance(stem, str | bytes | os.PathLike):  # stem=5
        raise UsageError(f"stem is a file's name (text) or None, not {type(stem).__name__}")
    given = None if stem is None else stem if isinstance(stem, str) else os.fsdecode(stem)
    if given is not None and not given.strip():  # an app's bug: one file for all
        raise UsageError("stem is empty: give the track's file name, or leave stem out for "
                         "the routine's id")
    file_name_only(given, "stem", "out_dir")
    if given is not None and "." in given:  # stem="evening.mp3": said before any work
        given = name_without_suffix(given, get_format(settings_of(settings).format), "stem",
                                    split)
    plan = plan_track(routine, settings, engine=engine, cache=cache, progress=progress,
                      phrases=phrases)
    fmt = get_format(plan.settings.format)
    name = safe_stem(named_part(given) if given else plan.routine.id)  # 李雷: a hash
    tags = track_tags(plan, album, track_number, artist, title)
    path = out_dir / f"{name}{fmt.suffix}"  # with split, it names the sidecars
    made = list(itertools.takewhile(lambda p: not p.exists(), (out_dir, *out_dir.parents)))
    try:
        return _build(plan, fmt, out_dir, name, path, tags, split, plot, progress, input_hash)
    except BaseException:  # a failure, or a Ctrl-C: no empty folder of ours left behind
        for folder in made:  # the deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _build(plan: TrackPlan, fmt: Format, out_dir: Path, name: str, path: Path,
           tags: TrackTags, split: bool, plot: bool, progress: Progress | None,
           input_hash: str | None) -> BuildResult:
    sweep_temporaries(out_dir)  # what a run killed mid-rename left, long ago
    warn_if_replacing(path, _header(plan, tags), plan.settings.model_fields_set)

    def tidy() -> Callable[[], None]:  # what the build before left, as the folder is now
        before, whole = described_parts(path), described_whole(path)
        return lambda: retire_before(path, name, before, whole,
                                     rendered.parts if split else None)

    # a split build's parts too: a Ctrl-C left 7 of its 13 parts and no playlist, under
    # "no partial files were left" (an attack); each is read back from its own file
    with atomic_unit(tidy):
        if split:
            rendered = render_split(plan, out_dir, name, tags=tags, progress=progress)
        else:
            rendered = render_track(plan, path, tags=tags, progress=progress)
            rendered.sheet["file"] = path.name
            rendered.sheet["bytes"] = rendered.size  # a cut-short file is not up to date,
            rendered.sheet["sha256"] = unit_digest(path)  # nor another build's track
        if input_hash is not None:
            rendered.sheet["input_hash"] = input_hash
        folders = [f.parent for f in plan.routine.library.folders]  # its own folder first
        # said again when up to date; named from those folders, not the coach's home folder
        rendered.sheet["warnings"] = [unrooted(w, folders) for w in plan.warnings]
        t0 = time.perf_counter()
        plot_path: Path | None = None
        if plot:
            from voiceguide.export.plot import plot_timeline

            plot_path = plot_timeline(plan.timeline, path, rendered.mixer.chunks(), tags.title)
        # the cue sheet is written last: the unit names it once the rest is in place
        sidecars = write_sidecars(path, rendered.sheet) + ([plot_path] if plot_path else [])
    timings = {**plan.timings, **rendered.timings, "sidecars+plot": time.perf_counter() - t0}
    return BuildResult(rendered.path or path, plan.duration, rendered.size, sidecars,
                       plan.bank.stats, plan.timeline, plan, rendered.sheet,
                       rendered.loudness, plot_path, timings, rendered.parts)
