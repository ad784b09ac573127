"""Build a track: plan (routine -> script -> measured, fitted timeline) -> render (mix ->
encode) -> result.

:func:`plan_track` does everything that needs the speech engine and decides every cue
time; :func:`render_track` mixes and encodes a plan to a path, to bytes or to a stream;
:func:`build_track` does both and writes the cue sheets beside the track. Each stage
lives in its own module and hands plain data to the next.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, overload

from voiceguide.audio import Audio, to_int16
from voiceguide.export.cover import make_cover
from voiceguide.export.formats import Format, TrackTags, get_format
from voiceguide.export.sidecars import cue_sheet, write_sidecars
from voiceguide.fit import Fit, fit_routine
from voiceguide.io.atomic import atomic_write
from voiceguide.io.paths import safe_stem
from voiceguide.mix.mixer import CHUNK_SECONDS, Mixer
from voiceguide.mix.sounds import bed_audio, chime, pick_bed
from voiceguide.routine.load import Routine
from voiceguide.script.expand import expand
from voiceguide.script.items import Script, walk_speech
from voiceguide.settings import TrackSettings
from voiceguide.speech.bank import SpeechBank, SpeechStats
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import SpeechEngine, get_engine, resolve_voice
from voiceguide.timeline import GENTLE_SPEED, Timeline
from voiceguide.version import __version__

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages: speech, loudness, encode."""
DEFAULT_ALBUM = "voiceguide sessions"
"""Album tag of a track built on its own."""


@dataclass
class TrackPlan:
    """A routine laid out on its timeline for one listener (no audio mixed yet)."""

    routine: Routine
    settings: TrackSettings
    """The settings the plan was made for."""
    script: Script
    timeline: Timeline
    """Every cue at an exact sample."""
    fit: Fit | None
    """How elastic parts were set to reach a length (None: the routine's own lengths)."""
    bank: SpeechBank
    """The measured phrase clips, in memory."""
    voice: str
    """The voice id used."""
    bed: Audio | None
    """The bed loop (None: no bed)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent: load, speech+schedule."""
    warnings: list[str] = field(default_factory=list)
    """What the listener should know: a length that could not be met exactly, a length
    outside the routine's design, phrases hurried to fit."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.timeline.duration


@dataclass
class Rendered:
    """What rendering wrote."""

    path: Path | None
    """The track file (None when rendered to a stream)."""
    size: int
    """Bytes written."""
    format: Format
    tags: TrackTags
    sheet: dict[str, Any]
    """The cue sheet (the ``.cues.json`` data)."""
    loudness: float | None
    """Integrated loudness the mix was set to (None: not normalised)."""
    mixer: Mixer
    """The mixer at the rendered levels (to draw the waveform without mixing again)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent: loudness, mix, encode+write."""


@dataclass
class BuildResult:
    """What a build wrote."""

    path: Path
    duration: float
    size: int
    sidecars: list[Path]
    stats: SpeechStats
    timeline: Timeline
    plan: TrackPlan
    sheet: dict[str, Any]
    """The cue sheet written beside the track."""
    loudness: float | None = None
    plot: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per stage: load, speech+schedule, loudness, mix, encode+write,
    sidecars+plot."""


def _cache_of(cache: PhraseCache | bool) -> PhraseCache | None:
    if cache is True:
        return PhraseCache()
    if cache is False:
        return None
    return cache


def plan_track(
    routine: Routine,
    settings: TrackSettings | None = None,
    *,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | bool = True,
    progress: Progress | None = None,
) -> TrackPlan:
    """Lay ``routine`` out for ``settings``: synthesise and measure every phrase (or take it
    from the phrase cache), then fit and schedule every cue to the sample.

    ``engine``: a running engine to use (else one is started for ``settings.engine`` and
    stopped again); ``cache``: True for the user's phrase cache, False for none.
    """
    settings = settings or TrackSettings()
    own = engine is None
    engine = engine or get_engine(settings.engine)
    try:
        t0 = time.perf_counter()
        voice = resolve_voice(engine, settings.voice)
        bank = SpeechBank(engine, voice, settings.rate, _cache_of(cache))
        spec = routine.spec
        folder = routine.path.parent if routine.path is not None else None
        bed_choice = pick_bed(settings.bed, spec.bed, folder)  # checked, not decoded yet
        t1 = time.perf_counter()
        spoken = int(round(settings.minutes)) if settings.minutes is not None else None
        script = expand(routine, settings, minutes=spoken)
        bank.prefetch(walk_speech(script.root),
                      (lambda d, t: progress("speech", d, t)) if progress else None)
        fitted = fit_routine(routine, settings, bank.measure, bank.sample_rate,
                             _chime_length, script)
        # decoded only as far as the track plays: a long bed file costs no more
        bed = bed_audio(bed_choice, bank.sample_rate, fitted.timeline.duration)
        t2 = time.perf_counter()
    finally:
        if own:
            engine.close()
    warnings = [*fitted.warnings, *_speed_warnings(fitted.timeline)]
    return TrackPlan(routine, settings, fitted.script, fitted.timeline, fitted.fit, bank,
                     voice, bed, {"load": t1 - t0, "speech+schedule": t2 - t1}, warnings)


def _speed_warnings(timeline: Timeline) -> list[str]:
    """A phrase sped up beyond :data:`GENTLE_SPEED` to fit its slot is hurried: say so."""
    worst: dict[tuple[str, str], list[float]] = {}
    for c in timeline.sped_up():
        if c.speed > GENTLE_SPEED + 1e-9:
            worst.setdefault((c.where, c.text), []).append(c.speed)
    return [f"{where}: \"{text}\" is spoken up to {max(speeds):.2f}x faster to fit its slot"
            + (f" ({len(speeds)} times)" if len(speeds) > 1 else "")
            + "; use fewer words or a longer phase" for (where, text), speeds in worst.items()]


def _chime_length(name: str, room: int) -> int:
    """A chime rings through the room it is given."""
    return room


def track_tags(plan: TrackPlan, album: str | None = None,
               track_number: int | None = None) -> TrackTags:
    """The tags of a planned track (title with the listener's name, author, album...)."""
    spec = plan.routine.spec
    name = plan.settings.name
    return TrackTags(
        title=spec.title + (f" for {name}" if name else ""),
        artist=spec.author,
        album=album or DEFAULT_ALBUM,
        comment=spec.description.strip(),
        track=track_number,
        cover_png=make_cover(spec.title, plan.routine.id),
    )


def _mixer(plan: TrackPlan) -> Mixer:
    tl = plan.timeline
    sr = tl.sample_rate
    clips = {(c.text, c.speed): plan.bank.clip(c.text, c.speed) for c in tl.speech_cues()}
    chimes = {
        (c.text, c.end - c.start): chime(c.text, (c.end - c.start) / sr, sr)
        for c in tl.cues
        if c.kind == "chime"
    }
    return Mixer(tl, clips, chimes, plan.settings, plan.bed, plan.routine.spec.room_tone)


@overload
def render_track(plan: TrackPlan, dest: None = None, *, tags: TrackTags | None = None,
                 progress: Progress | None = None) -> bytes: ...


@overload
def render_track(plan: TrackPlan, dest: Path | str | BinaryIO, *,
                 tags: TrackTags | None = None, progress: Progress | None = None
                 ) -> Rendered: ...


def render_track(plan: TrackPlan, dest: Path | str | BinaryIO | None = None, *,
                 tags: TrackTags | None = None, progress: Progress | None = None
                 ) -> bytes | Rendered:
    """Mix and encode ``plan`` in the format of its settings: to ``dest`` (a path, written
    atomically, or a binary stream), or, without ``dest``, return the file's bytes."""
    if dest is None:
        buf = io.BytesIO()
        _render(plan, buf, None, tags, progress)
        return buf.getvalue()
    if isinstance(dest, str | Path):
        path = Path(dest)
        with atomic_write(path) as f:
            return _render(plan, f, path, tags, progress)
    if dest.seekable():
        return _render(plan, dest, None, tags, progress)
    with tempfile.TemporaryFile() as spool:  # the encoder seeks back to finish its header
        rendered = _render(plan, spool, None, tags, progress)
        spool.seek(0)
        shutil.copyfileobj(spool, dest)
        return rendered


def _render(plan: TrackPlan, f: BinaryIO, path: Path | None, tags: TrackTags | None,
            progress: Progress | None) -> Rendered:
    tl = plan.timeline
    sr = tl.sample_rate
    fmt = get_format(plan.settings.format)
    tags = tags or track_tags(plan)
    t0 = time.perf_counter()
    mixer = _mixer(plan)
    if progress:
        progress("loudness", 0, 1)
    loudness = mixer.normalise()
    if progress:
        progress("loudness", 1, 1)
    t_loud = time.perf_counter() - t0
    t_mix = 0.0
    total_chunks = max(1, -(-tl.total // int(CHUNK_SECONDS * sr)))

    def chunks() -> Iterator[Any]:
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
    start = f.tell()
    fmt.write(f, chunks(), sr, tags, tl)
    size = f.tell() - start
    spec = plan.routine.spec
    sheet = cue_sheet(
        tl,
        {
            "title": tags.title,
            "routine": plan.routine.id,
            "artist": spec.author,
            "voice": plan.voice,
            "rate": plan.settings.rate,
            "generator": f"voiceguide {__version__}",
        },
    )
    t_write = time.perf_counter() - t0
    timings = {"loudness": t_loud, "mix": t_mix, "encode+write": t_write - t_mix}
    return Rendered(path, size, fmt, tags, sheet, loudness, mixer, timings)


def build_track(
    routine: Routine,
    settings: TrackSettings | None = None,
    out_dir: Path = Path("output"),
    *,
    stem: str | None = None,
    album: str | None = None,
    track_number: int | None = None,
    plot: bool = False,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | bool = True,
    progress: Progress | None = None,
) -> BuildResult:
    """Build one track and its sidecars into ``out_dir`` (file name: ``stem``, else the
    routine's id; ``album`` and ``track_number`` go into the tags)."""
    plan = plan_track(routine, settings, engine=engine, cache=cache, progress=progress)
    fmt = get_format(plan.settings.format)
    path = out_dir / f"{safe_stem(stem or routine.id)}{fmt.suffix}"
    tags = track_tags(plan, album, track_number)
    rendered = render_track(plan, path, tags=tags, progress=progress)
    t0 = time.perf_counter()
    sidecars = write_sidecars(path, rendered.sheet)
    plot_path: Path | None = None
    if plot:
        from voiceguide.export.plot import plot_timeline

        plot_path = plot_timeline(plan.timeline, path, rendered.mixer.chunks(), tags.title)
        sidecars.append(plot_path)
    timings = {**plan.timings, **rendered.timings, "sidecars+plot": time.perf_counter() - t0}
    return BuildResult(path, plan.duration, rendered.size, sidecars, plan.bank.stats,
                       plan.timeline, plan, rendered.sheet, rendered.loudness, plot_path,
                       timings)
