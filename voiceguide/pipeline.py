"""``build_track()``: routine -> script -> measured timeline -> mix -> track + sidecars.

The CLI and packs call this; each stage lives in its own module and passes plain data.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import numpy as np

from voiceguide import __version__
from voiceguide.cache import PhraseCache, default_cache_dir
from voiceguide.engines import SpeechEngine, get_engine, resolve_voice
from voiceguide.errors import InvalidInputError, UsageError
from voiceguide.export import (
    FORMATS,
    TrackTags,
    cue_sheet,
    id3_tag,
    make_cover,
    write_mp3,
    write_sidecars,
    write_wav,
)
from voiceguide.mix import DEFAULT_LOUDNESS, Mixer, MixSettings, to_int16
from voiceguide.routine import Level, LoadedRoutine, load_routine
from voiceguide.script import Options, Script, expand, walk_speech
from voiceguide.sounds import BEDS, Audio, builtin_bed, chime, load_bed_file
from voiceguide.speech import SpeechBank, SpeechStats
from voiceguide.timeline import Fit, Timeline, fit_length, schedule
from voiceguide.yamlio import suggest

DEFAULT_RATE: Final = 150
"""Words per minute: calm and clear."""
MIN_RATE: Final = 80
MAX_RATE: Final = 300
ROUTINES_ENV: Final = "VOICEGUIDE_ROUTINES"
"""Environment variable naming an extra folder of routines."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


def routine_dirs() -> list[Path]:
    """Folders searched for routine names, in order."""
    dirs: list[Path] = []
    env = os.environ.get(ROUTINES_ENV)
    if env:
        dirs.append(Path(env))
    dirs.append(Path("routines"))
    here = Path(__file__).resolve().parent
    dirs.append(here / "_routines")  # installed wheel
    dirs.append(here.parent / "routines")  # source tree / editable install
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(not _same(d, o) for o in out):
            out.append(d)
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def library_dirs() -> list[Path]:
    """Exercise library folders (``exercises/`` in each routine folder)."""
    return [d / "exercises" for d in routine_dirs() if (d / "exercises").is_dir()]


def find_routine(ref: str) -> Path:
    """A routine file from a path or a routine name found in the routine folders."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or os.sep in ref or path.exists():
        if not path.exists():
            raise InvalidInputError(f"{path}: no such routine file")
        return path
    names: list[str] = []
    for d in routine_dirs():
        for ext in (".yaml", ".yml"):
            candidate = d / f"{ref}{ext}"
            if candidate.is_file():
                return candidate
        names.extend(p.stem for p in d.glob("*.yaml"))
    hint = suggest(ref, names)
    raise InvalidInputError(
        f"no routine named '{ref}'{hint}; 'voiceguide list' shows the routines"
    )


def list_routines() -> list[Path]:
    """Every routine file in the routine folders (first folder wins on a name clash)."""
    seen: dict[str, Path] = {}
    for d in routine_dirs():
        for p in sorted(d.glob("*.yaml")):
            seen.setdefault(p.stem, p)
    return [seen[k] for k in sorted(seen)]


def open_routine(ref: str) -> LoadedRoutine:
    """Find and load a routine by name or path."""
    return load_routine(find_routine(ref), library_dirs())


@dataclass(frozen=True)
class BuildRequest:
    """Everything that decides a track."""

    routine: str
    """Routine name or path."""
    out_dir: Path = Path("output")
    name: str = ""
    """Listener's name, for the templates."""
    voice: str | None = None
    rate: int = DEFAULT_RATE
    level: Level | None = None
    include_optional: bool = True
    minutes: float | None = None
    """Target length; None keeps the routine's own lengths."""
    bed: str | None = None
    """'none', a built-in bed name, or a file; None uses the routine's bed."""
    bed_volume: float | None = None
    """Bed level relative to the loudness target (dB)."""
    loudness: float | None = DEFAULT_LOUDNESS
    """LUFS target; None turns normalisation off."""
    format: Literal["mp3", "wav"] = "mp3"
    engine: str = "espeak"
    cache_dir: Path | None = None
    use_cache: bool = True
    track_name: str | None = None
    """Output file stem; default: the routine's name."""
    track_number: int | None = None
    album: str | None = None
    plot: bool = False


@dataclass
class Plan:
    """A routine laid out on its timeline (no audio yet)."""

    routine: LoadedRoutine
    script: Script
    timeline: Timeline
    fit: Fit | None
    bank: SpeechBank
    voice: str


@dataclass
class BuildResult:
    """What a build wrote."""

    path: Path
    duration: float
    size: int
    sidecars: list[Path]
    stats: SpeechStats
    timeline: Timeline
    plan: Plan
    loudness: float | None = None
    plot: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per stage: load, speech+schedule, loudness, mix, encode, sidecars."""


def check_request(req: BuildRequest) -> None:
    """Reject option values that make no sense, with a message naming the option."""
    if not MIN_RATE <= req.rate <= MAX_RATE:
        raise UsageError(f"--rate must be between {MIN_RATE} and {MAX_RATE} words per minute "
                         f"(got {req.rate})")
    if req.minutes is not None and not 0.5 <= req.minutes <= 180:
        raise UsageError(f"--minutes must be between 0.5 and 180 (got {req.minutes:g})")
    if req.loudness is not None and not -40 <= req.loudness <= -6:
        raise UsageError(f"--loudness must be between -40 and -6 LUFS (got {req.loudness:g})")
    if req.bed_volume is not None and not -60 <= req.bed_volume <= 0:
        raise UsageError(f"--bed-volume must be between -60 and 0 dB (got {req.bed_volume:g})")
    if req.format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)} (got {req.format})")
    if len(req.name) > 60:
        raise UsageError("--name is longer than 60 characters")
    if any(not ch.isprintable() for ch in req.name):
        raise UsageError("--name must not contain control characters")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(text: str) -> str:
    """A safe file name stem: ASCII letters, digits, '.', '-', '_' (accents dropped, other
    characters become '-'); no leading dot, no empty parts, so no path can come out."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = (part.strip("._") for part in _UNSAFE.sub("-", ascii_text).split("-"))
    stem = "-".join(part for part in parts if part)
    return re.sub(r"\.{2,}", ".", stem)[:100].strip("-._") or "track"


def make_plan(
    req: BuildRequest,
    engine: SpeechEngine,
    cache: PhraseCache | None,
    progress: Progress | None = None,
    routine: LoadedRoutine | None = None,
) -> Plan:
    """Load, expand, synthesise/measure and schedule (fitting ``req.minutes`` if given)."""
    routine = routine or open_routine(req.routine)
    voice = resolve_voice(engine, req.voice)
    bank = SpeechBank(engine, voice, req.rate, cache)
    options = Options(
        name=req.name,
        level=req.level,
        include_optional=req.include_optional,
        minutes=int(round(req.minutes)) if req.minutes is not None else None,
    )
    script = expand(routine, options)
    bank.prefetch(walk_speech(script.root),
                  (lambda d, t: progress("speech", d, t)) if progress else None)
    chime_len: Callable[[str, int], int] = lambda name, room: room  # noqa: E731
    fit: Fit | None = None
    if req.minutes is not None:
        fit = fit_length(lambda values: expand(routine, options, values), bank.measure,
                         engine.sample_rate, req.minutes * 60, chime_len)
        script, timeline = fit.script, fit.timeline
    else:
        timeline = schedule(script, bank.measure, engine.sample_rate, chime_len)
        designed = routine.model.length
        if designed is not None and script.elastics:
            # keep the track inside the routine's designed length range
            low, high = designed.min * 60, designed.max * 60
            if not low <= timeline.duration <= high:
                goal = min(max(timeline.duration, low), high)
                fit = fit_length(lambda values: expand(routine, options, values), bank.measure,
                                 engine.sample_rate, goal, chime_len)
                script, timeline = fit.script, fit.timeline
        minutes = max(1, int(round(timeline.duration / 60)))
        options = Options(options.name, options.level, options.include_optional, minutes)
        # the narration may say the length ("about 12 minutes"): render it once more
        script2 = expand(routine, options, fit.values if fit else {})
        if walk_speech(script2.root) != walk_speech(script.root):
            script = script2
            timeline = schedule(script, bank.measure, engine.sample_rate, chime_len)
    return Plan(routine, script, timeline, fit, bank, voice)


def resolve_bed(choice: str | None, routine: LoadedRoutine, sample_rate: int) -> Audio | None:
    """The bed loop for ``choice`` ('none', a built-in name, a file) or the routine's bed."""
    name = choice if choice is not None else routine.model.bed
    if name is None or name == "none":
        return None
    if name in BEDS:
        return builtin_bed(name, sample_rate)
    path = Path(name)
    if choice is None and not path.is_absolute():
        path = routine.path.parent / path
    if path.suffix.lower() not in (".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a", ".opus",
                                   ".aac") and not path.exists():
        raise UsageError(f"unknown bed '{name}'{suggest(name, BEDS)}; use none, "
                         + ", ".join(BEDS) + " or an audio file")
    return load_bed_file(path, sample_rate)


def build_track(
    req: BuildRequest,
    progress: Progress | None = None,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None = None,
) -> BuildResult:
    """Build one track and its sidecars into ``req.out_dir``."""
    check_request(req)
    own_engine = engine is None
    engine = engine or get_engine(req.engine)
    try:
        if cache is None and req.use_cache:
            cache = PhraseCache(req.cache_dir or default_cache_dir())
        t0 = time.perf_counter()
        routine = open_routine(req.routine)
        bed = resolve_bed(req.bed, routine, engine.sample_rate)
        t1 = time.perf_counter()
        plan = make_plan(req, engine, cache, progress, routine)
        t2 = time.perf_counter()
        result = render_plan(req, plan, bed, progress)
        result.timings = {"load": t1 - t0, "speech+schedule": t2 - t1, **result.timings}
        return result
    finally:
        if own_engine:
            engine.close()


def render_plan(
    req: BuildRequest, plan: Plan, bed: Audio | None, progress: Progress | None = None
) -> BuildResult:
    """Mix, encode and write a planned track."""
    tl = plan.timeline
    sr = tl.sample_rate
    routine = plan.routine
    clips = {(c.text, c.speed): plan.bank.clip(c.text, c.speed) for c in tl.speech_cues()}
    chimes = {
        (c.text, c.end - c.start): chime(c.text, (c.end - c.start) / sr, sr)
        for c in tl.cues
        if c.kind == "chime"
    }
    settings = MixSettings(
        loudness=req.loudness,
        bed_db=req.bed_volume if req.bed_volume is not None else MixSettings().bed_db,
    )
    t0 = time.perf_counter()
    mixer = Mixer(tl, clips, chimes, settings, bed)
    if progress:
        progress("loudness", 0, 1)
    loudness = mixer.normalise()
    if progress:
        progress("loudness", 1, 1)
    t_loud = time.perf_counter() - t0
    t_mix = 0.0
    stem = safe_stem(req.track_name or routine.id)
    path = req.out_dir / f"{stem}.{req.format}"
    title = routine.model.title + (f" for {req.name}" if req.name else "")
    tags = TrackTags(
        title=title,
        artist=routine.model.author,
        album=req.album or "voiceguide sessions",
        comment=routine.model.description.strip(),
        track=req.track_number,
        cover_png=make_cover(routine.model.title, routine.id),
    )
    total_chunks = max(1, -(-tl.total // int(10.0 * sr)))

    def chunks() -> Iterator[np.ndarray]:
        nonlocal t_mix
        it = mixer.chunks()
        i = 0
        while True:
            t = time.perf_counter()
            chunk = next(it, None)
            if chunk is None:
                break
            pcm = to_int16(chunk)
            t_mix += time.perf_counter() - t
            i += 1
            if progress:
                progress("encode", i, total_chunks)
            yield pcm

    t0 = time.perf_counter()
    if req.format == "mp3":
        size = write_mp3(path, chunks(), sr, id3_tag(tags, tl))
    else:
        size = write_wav(path, chunks(), sr)
    sheet = cue_sheet(
        tl,
        {
            "title": title,
            "routine": routine.id,
            "artist": routine.model.author,
            "voice": plan.voice,
            "rate": req.rate,
            "generator": f"voiceguide {__version__}",
        },
    )
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    sidecars = write_sidecars(path, sheet)
    plot_path: Path | None = None
    if req.plot:
        from voiceguide.plot import plot_timeline

        plot_path = plot_timeline(tl, path, mixer, title)
        sidecars.append(plot_path)
    timings = {"loudness": t_loud, "mix": t_mix, "encode+write": t_write - t_mix,
               "sidecars+plot": time.perf_counter() - t0}
    return BuildResult(path, tl.duration, size, sidecars, plan.bank.stats, tl, plan, loudness,
                       plot_path, timings)

