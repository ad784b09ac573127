"""Looking at routines without building audio: length estimates, outlines with measured
timing, and the narration as text for proof-reading."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voiceguide.build import plan_track
from voiceguide.errors import UsageError, VoiceguideError
from voiceguide.lengths import silences, span_text
from voiceguide.limits import render_budget
from voiceguide.mix.sounds import pick_bed
from voiceguide.results import TrackPlan
from voiceguide.routine.catalogue import load_routine
from voiceguide.routine.load import Routine
from voiceguide.script.expand import expand
from voiceguide.script.items import estimate_speech_seconds
from voiceguide.settings import TrackSettings, settings_of
from voiceguide.timeline import Interval, Timeline, schedule

ESTIMATE_RATE = 150
ESTIMATE_SR = 1000


def estimate(text: str, speed: float) -> int:
    """Rough length of ``text`` in milliseconds (a ``measure`` for quick layouts)."""
    return int(estimate_speech_seconds(text, int(ESTIMATE_RATE * speed)) * ESTIMATE_SR)


def estimate_minutes(routine: Routine | str | Path | Mapping[str, Any]
                     ) -> tuple[Routine, float]:
    """Load a routine (as :func:`~voiceguide.load_routine` takes it) and estimate its
    length from word counts (no engine): where it falls outside the routine's designed
    range, a build fits it to the nearest end (see :func:`~voiceguide.fitted.fit_routine`),
    and so does the estimate."""
    routine = load_routine(routine)
    script = expand(routine, TrackSettings())
    minutes = schedule(script, estimate, ESTIMATE_SR).duration / 60
    designed = routine.spec.length
    if designed is not None and script.elastics:
        minutes = min(max(minutes, designed.min), designed.max)
    return routine, minutes


def _marker(iv: Interval) -> str:
    """``[hold 30 s]``, ``[breath in 4 s]``, ``[transition: move to standing 10 s]``."""
    secs = f" {round(iv.seconds, 1):g} s" if iv.seconds is not None else ""
    if iv.kind == "phase":  # labelled "phase 1" unless the routine names its phases
        return f"[{'' if iv.label.startswith('phase') else 'phase '}{iv.label}{secs}]"
    if iv.kind in ("breath", "chime") or iv.label in (iv.kind, "lead-in", "ending"):
        return f"[{iv.label}{secs}]"
    return f"[{iv.kind}: {iv.label}{secs}]"


def _fmt(seconds: float) -> str:
    tenths = int(round(max(0.0, seconds) * 10))
    return f"{tenths // 600}:{tenths % 600 / 10:04.1f}"


@render_budget()  # the plan and the range it says (see Fit.can_last): one budget
def outline(ref: str | Path | Mapping[str, Any] | Routine,
            minutes: float | TrackSettings | Mapping[str, Any] | None = None,
            level: str | None = None, engine: str = "espeak", *,
            settings: TrackSettings | Mapping[str, Any] | None = None,
            warnings: list[str] | None = None) -> list[str]:
    """The outline of a routine with measured (and fitted) timing, for ``settings`` (by
    default: ``minutes``, ``level`` and ``engine``, the others at their defaults; settings
    may also come second, as :func:`script_text` and :func:`~voiceguide.plan_track` take
    them). The warnings a build of it would give are appended to ``warnings`` if given."""
    if isinstance(minutes, (TrackSettings, Mapping)) and settings is None:
        # outline(ref, {"minutes": 7}) said "'minutes': Input should be a valid number"
        settings, minutes = minutes, None
    # checked as an app's values are: a UsageError names a bad one
    beside = [n for n, v, unset in (("minutes", minutes, None), ("level", level, None),
                                     ("engine", engine, "espeak")) if v != unset]
    if settings is not None and beside:
        raise UsageError(f"{' and '.join(beside)} given beside settings: give "
                         f"{'it' if len(beside) == 1 else 'them'} in settings, or leave "
                         "settings out")
    settings = settings_of(settings) if settings is not None else TrackSettings.from_options(
        {"minutes": minutes, "level": level, "engine": engine})
    minutes, level = settings.minutes, settings.level
    plan = _planned(ref, settings, warnings)
    tl = plan.timeline
    model = plan.routine.spec
    lines = [f"{model.title}  ({plan.routine.id}, {level or model.level}, "
             f"{model.language}, voice {plan.voice})"]
    if model.length:
        lines.append(f"designed for {model.length.min:g}-{model.length.max:g} min")
    lines.append(f"length: {_fmt(tl.duration)}" + (
        # the range an error for a length out of reach gives (a new user read 4:06 to
        # 8:46 here and 4:05 to 8:48 in the error)
        f" (target {_fmt(minutes * 60)}; it can last {span_text(*plan.fit.can_last)})"
        if plan.fit and minutes else ""))
    if plan.fit and plan.fit.values:
        lines.append("fitted: " + ", ".join(
            f"{e.label} {plan.fit.values.get(k, e.default):g}"
            for k, e in sorted(plan.script.elastics.items())))
    lines.append("")
    lines.extend(_chapter_lines(tl))
    return lines


def _no_bed(settings: TrackSettings) -> TrackSettings:
    """``settings`` without a bed: it plays no part in the text, and is not decoded (a
    bed file is checked apart, as a build checks it before it is read)."""
    return settings.model_copy(update={"bed": "none"})


def _planned(ref: str | Path | Mapping[str, Any] | Routine, settings: TrackSettings,
             warnings: list[str] | None) -> TrackPlan:
    """The plan of ``ref`` for ``settings``, laid out without a bed; the warnings a build
    would give added to ``warnings`` if given (but the silence one where the build has a
    bed: the plan had none)."""
    if warnings is not None and not isinstance(warnings, list):
        raise UsageError(f"warnings= takes a list to add them to (got {type(warnings).__name__})")
    plan = plan_track(load_routine(ref), _no_bed(settings))
    if warnings is not None and settings.bed is not None:  # checked as a build checks it
        try:  # (not decoded); it plays no part in the text, so a warning, not a stop
            pick_bed(settings.bed, None, None)
        except VoiceguideError as exc:
            warnings.append(f"a build would stop: {exc}")
    if warnings is not None:
        bed = settings.bed if settings.bed is not None else plan.routine.spec.bed
        quiet = [] if bed in (None, "none") else silences(plan.timeline)
        warnings.extend(w for w in plan.warnings if w not in quiet)
    return plan


def _chapter_lines(tl: Timeline) -> list[str]:
    sr = tl.sample_rate
    lines: list[str] = []
    for ch in tl.chapters:
        lines.append(f"{_fmt(ch.start / sr)}  {ch.title}  ({_fmt((ch.end - ch.start) / sr)})")
        inside = [i for i in tl.intervals if ch.start <= i.start < ch.end and i.kind != "speech"]
        k = 0
        while k < len(inside):
            i = inside[k]
            if i.kind in ("breath", "phase"):
                run, rests = [i], set()
                while k + 1 < len(inside):
                    if inside[k + 1].kind == i.kind:
                        k += 1
                        run.append(inside[k])
                    elif (inside[k + 1].label == "rest between repetitions"
                          and k + 2 < len(inside) and inside[k + 2].kind == i.kind):
                        # one repeat, its rests between (a new user read 'once' four times)
                        rests.add(_secs(inside[k + 1], sr))
                        k += 1
                    else:
                        break
                between = f", {rests.pop()} rest between" if len(rests) == 1 else ""
                lines.append(f"    {_fmt(i.start / sr)}  {_run_text(run, sr)}{between}")
            elif i.label not in ("lead-in", "ending") and _secs(i, sr) != "0 s":
                lines.append(f"    {_fmt(i.start / sr)}  {i.kind} {_secs(i, sr)}")
            k += 1
    return lines


def _secs(iv: Interval, sr: int) -> str:
    """An interval's length to a tenth of a second: ``4.2 s``."""
    length = iv.seconds if iv.seconds is not None else (iv.end - iv.start) / sr
    return f"{round(length, 1):g} s"


def _run_text(run: list[Interval], sr: int) -> str:
    """A run of breaths or phases: ``breathe in 4 s, out 6 s; 5 times``, or
    ``reps of 5 s + 6 s; once``."""
    period = max(1, _period(run))
    cycles = len(run) // period
    times = "once" if cycles == 1 else f"{cycles} times"
    if run[0].kind == "breath":
        each = (f"{r.label.removeprefix('breath ')} {_secs(r, sr)}" for r in run[:period])
        return "breathe " + ", ".join(each) + f"; {times}"
    return "reps of " + " + ".join(_secs(r, sr) for r in run[:period]) + f"; {times}"


def _period(run: list[Any]) -> int:
    """Intervals in one cycle of ``run``: a repetition's phases (out, in, out, in was
    counted twice as often by its labels: a coach's review), or a breath's."""
    if run[0].rep is not None:
        return sum(r.rep == run[0].rep for r in run)
    labels = [r.label for r in run]
    for p in range(1, len(labels) + 1):
        if all(labels[j] == labels[j % p] for j in range(len(labels))):
            return p
    return len(labels)


def script_text(ref: str | Path | Mapping[str, Any] | Routine,
                settings: TrackSettings | Mapping[str, Any] | None = None, *,
                warnings: list[str] | None = None) -> list[str]:
    """What will play, as text: the plan fitted for ``settings`` (e.g. its ``minutes``),
    every sentence, pause, hold, breath phase, move and chime with its time and length,
    and the total, which is the built track's length. The warnings a build of it would
    give are appended to ``warnings`` if given."""
    plan = _planned(ref, settings_of(settings), warnings)
    tl = plan.timeline
    sr = tl.sample_rate
    spec = plan.routine.spec
    head = f"# {spec.title}: {_fmt(tl.duration)}"
    if spec.length is not None:
        head += f" (designed for {spec.length.min:g}-{spec.length.max:g} min)"
    lines = [head, f"# {tl.heard_rate():.0f} words per minute as heard", ""]
    # a chapter's heading goes before the first event at or after its start (a chapter
    # may start where a gap does, which is not listed)
    chapters = sorted((c.start, c.title) for c in tl.chapters)
    events: list[tuple[int, int, str]] = [
        (iv.start, 0, _marker(iv)) for iv in tl.intervals if iv.kind not in ("speech", "gap")
    ]
    for cue in tl.cues:
        if cue.kind == "speech":
            extra = f"  (x{cue.speed:.2f} to fit)" if cue.speed > 1.0 else ""
            events.append((cue.start, 1, cue.text + extra))
    last = -1
    for start, order, text in sorted(events, key=lambda e: (e[0], e[1])):
        while chapters and chapters[0][0] <= start:  # one blank line before a heading
            lines += [*([""] if lines[-1] else []), f"## {chapters.pop(0)[1]}"]
        if order == 1 and start == last and lines[-1].endswith("]"):
            lines[-1] += f" {text}"  # the cue a breath or phase opens with
        else:
            lines.append(f"{_fmt(start / sr):>9}  {text}")
        last = start
    for _, title in chapters:  # a chapter with nothing listed after its start
        lines += ["", f"## {title}"]
    lines += ["", f"Total {_fmt(tl.duration)}"]
    return lines
