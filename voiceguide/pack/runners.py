"""Pack runners: what builds a pack's jobs, and the registry that names them.

A runner takes the jobs that need building and reports each one as it finishes or
fails, in the calling process. The built-in ``local`` runner builds in this process (one
worker) or on a pool of warm worker processes (:mod:`voiceguide.pack.workers`) that
share the phrase cache, whose per-phrase locks make every distinct phrase synthesised
once. Other runners (``dask``: :mod:`voiceguide.pack.dask_runner`) are registered
through the ``register_runners`` plugin hook (:mod:`voiceguide.plugins`), the built-in
ones the same way as an installed plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, Protocol

from voiceguide.errors import UsageError, VoiceguideError, option, suggest, with_message
from voiceguide.pack.jobs import Outcome, TrackJob, build_job
from voiceguide.plugins import Register, collect, hookimpl, lookup, origin_of

if TYPE_CHECKING:
    from voiceguide.speech.engine import SpeechEngine

ProgressSink = Callable[[str, str, int, int], None]
"""``sink(track_stem, stage, done, total)``; stage 'done' when a track finishes."""
MAX_WORKERS: Final = 32


@dataclass
class RunEvents:
    """How a runner reports back (always in the calling process)."""

    finished: Callable[[TrackJob, Outcome], None]
    """A track was built and its files are in place."""
    failed: Callable[[TrackJob, VoiceguideError], None]
    """A track failed; with ``keep_going`` the runner goes on with the others."""
    progress: ProgressSink | None = None
    notice: Callable[[str], None] | None = None
    """Something to tell the person (e.g. the dashboard link)."""
    keep_going: bool = False


@dataclass
class RunStats:
    """Phrase work a runner did outside the tracks' own builds."""

    synthesized: int = 0
    cache_hits: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    """Runner-specific counts (e.g. synthesis tasks)."""


class Runner(Protocol):
    """Builds jobs and reports each finished or failed one. A runner may also have a
    ``ready()`` method that raises a :class:`~voiceguide.errors.UsageError` where it cannot
    run (a cluster it cannot reach): a pack asks it before making a new folder (a run
    that fails at once then leaves none behind holding the pack's lock)."""

    keep_going: bool
    """Whether a failure lets the other tracks go on unless told otherwise."""

    def run(self, jobs: Sequence[TrackJob], events: RunEvents) -> RunStats:
        """Build every job (in the order given: longest first); report through
        ``events``. Without ``events.keep_going`` the first failure is raised."""
        ...


class RunnerClass(Protocol):
    """A registered runner: ``Runner(workers, options)``."""

    name: str

    def __call__(self, workers: int, options: Mapping[str, str]) -> Runner: ...


def runners() -> dict[str, RunnerClass]:
    """Every registered runner class by name."""
    found: list[RunnerClass] = collect("register_runners")
    return {cls.name: cls for cls in sorted(found, key=lambda c: c.name)}


def get_runner(name: str, workers: int, options: Mapping[str, str] | None = None) -> Runner:
    """A runner called ``name`` with ``workers`` parallel workers."""
    if not isinstance(name, str):  # an app's None: not an AttributeError from deep inside
        raise UsageError(f"runner is a name such as 'local' (got {type(name).__name__})")
    cls: RunnerClass | None = lookup("register_runners", name)
    if cls is None:
        known = runners()
        raise UsageError(f"unknown runner '{name}'{suggest(name, known)}; use one of "
                         + ", ".join(known))
    most = getattr(cls, "max_workers", MAX_WORKERS)  # a cluster's may be more
    if not 1 <= workers <= most:
        raise UsageError(f"{option('jobs')} must be between 1 and {most} (got {workers})")
    return cls(workers, options or {})


def longest_first(jobs: Sequence[TrackJob]) -> list[TrackJob]:
    """The order to build in: longest tracks first (the last to finish are short), ties
    in pack order."""
    return sorted(jobs, key=lambda j: (-j.minutes, j.n))


def run_all(executor: Runner, jobs: Sequence[TrackJob], events: RunEvents) -> RunStats:
    """``executor.run`` on ``jobs``, longest first, checked: a track it returned without
    reporting is a failure of that track, and an outside runner's own exception is its
    failure, naming its plugin (a plugin review: a runner that skipped a track exited 0,
    the track missing from the feed; a runner's RuntimeError was voiceguide's "internal
    error")."""
    told: set[int] = set()

    def finished(job: TrackJob, outcome: Outcome) -> None:
        told.add(job.n)
        events.finished(job, outcome)

    def failed(job: TrackJob, error: VoiceguideError) -> None:
        told.add(job.n)
        events.failed(job, error)

    origin = origin_of(type(executor))
    who = f"the {getattr(executor, 'name', type(executor).__name__)} runner" + (
        f" from {origin}" if origin is not None else "")
    fix = "report it to " + (origin.distribution or "its author" if origin is not None
                             else "voiceguide")
    try:
        stats = executor.run(longest_first(jobs), replace(events, finished=finished,
                                                          failed=failed))
    except VoiceguideError:
        raise
    except Exception as exc:
        if origin is None:
            raise
        raise VoiceguideError(f"{who} failed ({type(exc).__name__}: {str(exc)[:200]}); "
                              f"{fix}") from exc
    for job in jobs:
        if job.n not in told:
            events.failed(job, in_track(job, VoiceguideError(
                f"{who} returned without building this track or saying why; {fix}")))
    return stats if isinstance(stats, RunStats) else RunStats()


def in_track(job: TrackJob, exc: VoiceguideError) -> VoiceguideError:
    """``exc`` with the track it happened in named (same class, same exit code)."""
    where = job.where
    if str(exc).startswith(where):
        return exc
    return with_message(exc, f"{where}: {exc}")


class LocalRunner:
    """This machine: in this process, or on a pool of warm worker processes."""

    name = "local"
    keep_going = False

    def __init__(self, workers: int, options: Mapping[str, str]) -> None:
        if options:
            if "scheduler" in options:
                raise UsageError(f"{option('scheduler')}: the local runner takes no "
                                 f"scheduler; give {option('runner', 'dask')} with it")
            raise UsageError("the local runner takes no options (got "
                             + ", ".join(options) + ")")
        self.workers = workers

    def run(self, jobs: Sequence[TrackJob], events: RunEvents) -> RunStats:
        """Build ``jobs`` serially or on ``workers`` processes."""
        if not jobs:
            return RunStats()
        if self.workers == 1 or len(jobs) == 1:
            _serial(jobs, events)
        else:
            _parallel(jobs, min(self.workers, len(jobs)), events)
        return RunStats()


def _fail(job: TrackJob, exc: VoiceguideError, events: RunEvents) -> None:
    named = in_track(job, exc)
    events.failed(job, named)
    if not events.keep_going:
        raise named


def _serial(jobs: Sequence[TrackJob], events: RunEvents) -> None:
    from voiceguide.speech.cache import PhraseCache

    cache = PhraseCache(warn=False)  # the pack said it (see PhraseCache.unwritable)
    try:
        for job in jobs:
            def progress(stage: str, done: int, total: int, stem: str = job.stem) -> None:
                if events.progress:
                    events.progress(stem, stage, done, total)

            try:
                outcome = build_job(job, _engine(job.settings.engine), cache, progress)
            except VoiceguideError as exc:
                _fail(job, exc, events)
                continue
            except Exception as exc:
                if not events.keep_going:
                    raise  # a bug: the whole traceback with --debug
                from voiceguide.pack.workers import bug

                _fail(job, bug(exc), events)  # as a worker process reports it
                continue
            events.finished(job, outcome)
    finally:
        _close_engines()


_engines: dict[str, SpeechEngine] = {}
"""Engines kept warm in this process (a worker's, or the serial runner's)."""


def _engine(name: str) -> SpeechEngine:
    from voiceguide.speech.engine import get_engine

    engine = _engines.get(name)
    if engine is None:
        engine = _engines[name] = get_engine(name)
    return engine


def _close_engines() -> None:
    while _engines:
        _engines.popitem()[1].close()


def _build_in_worker(job: TrackJob, progress: Callable[[str, int, int], None]) -> Outcome:
    """Build one job in a worker process with the worker's warm engine."""
    from voiceguide.speech.cache import PhraseCache

    return build_job(job, _engine(job.settings.engine), PhraseCache(warn=False), progress)


def _parallel(jobs: Sequence[TrackJob], workers: int, events: RunEvents) -> None:
    from voiceguide.pack.workers import WorkerPool

    with WorkerPool(workers, _build_in_worker, _close_engines) as pool:
        for kind, job, data in pool.run(jobs):
            if kind == "progress":
                if events.progress:
                    events.progress(job.stem, *data)
            elif kind == "done":
                events.finished(job, data)
            else:
                _fail(job, data, events)


@hookimpl
def register_runners(register: Register) -> None:
    """The local runner (the default)."""
    register(LocalRunner)
