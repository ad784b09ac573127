"""Pack runners: what builds a pack's jobs, and the registry that names them.

A runner takes the jobs that need building and reports each one as it finishes. The
built-in ``local`` runner builds in this process (one worker) or on a pool of worker
processes that share the phrase cache (its per-phrase locks make every distinct phrase
synthesised once). Runners are registered through the ``register_runners`` plugin hook
(:mod:`voiceguide.plugins`), the built-in one the same way as an installed plugin.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from queue import Empty
from typing import TYPE_CHECKING, Any, Protocol

from voiceguide.errors import UsageError, VoiceguideError, suggest
from voiceguide.plugins import Register, collect, hookimpl
from voiceguide.speech.engine import get_engine

if TYPE_CHECKING:  # a plugin module stays light: the build stack loads when a pack runs
    from voiceguide.pack.jobs import Outcome, TrackJob
    from voiceguide.speech.engine import SpeechEngine

ProgressSink = Callable[[str, str, int, int], None]
"""``sink(track_stem, stage, done, total)``; stage 'done' when a track finishes."""
Finished = Callable[["TrackJob", "Outcome"], None]
"""Called in the calling process as each job finishes."""
MAX_WORKERS = 32


class Runner(Protocol):
    """Builds jobs and reports each finished one."""

    def run(self, jobs: Sequence[TrackJob], finished: Finished,
            sink: ProgressSink | None) -> None:
        """Build every job; call ``finished`` for each, in the calling process."""
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
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--jobs must be between 1 and {MAX_WORKERS} (got {workers})")
    known = runners()
    if name not in known:
        raise UsageError(f"unknown runner '{name}'{suggest(name, known)}; use one of "
                         + ", ".join(known))
    return known[name](workers, options or {})


def _order(jobs: Sequence[TrackJob]) -> list[TrackJob]:
    """Interleave routines so parallel workers start on different phrase sets."""
    by_routine: dict[str, list[TrackJob]] = {}
    for j in jobs:
        by_routine.setdefault(str(j.routine_path), []).append(j)
    out: list[TrackJob] = []
    for group in itertools.zip_longest(*by_routine.values()):
        out.extend(j for j in group if j is not None)
    return out


class LocalRunner:
    """This machine: in this process, or on a pool of worker processes."""

    name = "local"

    def __init__(self, workers: int, options: Mapping[str, str]) -> None:
        if options:
            raise UsageError("the local runner takes no options (got "
                             + ", ".join(options) + ")")
        self.workers = workers

    def run(self, jobs: Sequence[TrackJob], finished: Finished,
            sink: ProgressSink | None) -> None:
        """Build ``jobs`` serially or on ``workers`` processes."""
        if not jobs:
            return
        if self.workers == 1 or len(jobs) == 1:
            _serial(jobs, finished, sink)
        else:
            _parallel(_order(jobs), self.workers, finished, sink)


def _serial(jobs: Sequence[TrackJob], finished: Finished, sink: ProgressSink | None) -> None:
    from voiceguide.pack.jobs import build_job
    from voiceguide.speech.cache import PhraseCache

    engine = get_engine(jobs[0].settings.engine)
    cache = PhraseCache()
    try:
        for job in jobs:
            def progress(stage: str, done: int, total: int, stem: str = job.stem) -> None:
                if sink:
                    sink(stem, stage, done, total)

            finished(job, build_job(job, engine, cache, progress))
    finally:
        engine.close()


_worker_queue: Any = None
_worker_engines: dict[str, SpeechEngine] = {}


def _init_worker(queue: Any) -> None:
    global _worker_queue
    _worker_queue = queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides


def _build_in_worker(job: TrackJob) -> Outcome:
    """Build one job in a worker process, reusing the worker's speech engine."""
    from voiceguide.pack.jobs import build_job
    from voiceguide.speech.cache import PhraseCache

    def progress(stage: str, done: int, total: int) -> None:
        if _worker_queue is not None:
            _worker_queue.put((job.stem, stage, done, total))

    engine = _worker_engines.get(job.settings.engine)
    if engine is None:
        import atexit

        engine = _worker_engines[job.settings.engine] = get_engine(job.settings.engine)
        atexit.register(engine.close)
    return build_job(job, engine, PhraseCache(), progress)


def _parallel(todo: list[TrackJob], workers: int, finished: Finished,
              sink: ProgressSink | None) -> None:
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
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                               initializer=_init_worker, initargs=(queue,))
    running: dict[Future[Outcome], TrackJob] = {}
    pending = iter(todo)
    try:
        for job in itertools.islice(pending, workers):
            running[pool.submit(_build_in_worker, job)] = job
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    outcome = fut.result()
                except VoiceguideError as exc:
                    raise type(exc)(f"track {job.n} ({job.stem}): {exc}") from None
                finished(job, outcome)
                nxt = next(pending, None)
                if nxt is not None:
                    running[pool.submit(_build_in_worker, nxt)] = nxt
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


@hookimpl
def register_runners(register: Register) -> None:
    """The local runner (the default)."""
    register(LocalRunner)
