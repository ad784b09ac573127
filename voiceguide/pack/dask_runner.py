"""The ``dask`` runner: a pack as a task graph on a Dask cluster (``voiceguide[dask]``).

``--runner dask --scheduler tcp://host:8786`` (or ``$DASK_SCHEDULER_ADDRESS``) uses a
running cluster; ``--runner dask`` alone starts a ``LocalCluster`` of ``--jobs``
single-threaded worker processes.

The graph: every track is first tried with no phrases, which costs a routine load and
one expansion and tells the client the phrases the track speaks. The client then
submits one synthesis task per distinct phrase of the whole pack, named by the phrase's
cache key (``vg-phrase-<key>``): the scheduler runs each name once, so no phrase is
synthesised twice whatever the number of machines, and no shared filesystem is needed.
Phrases shared by more tracks run first. Then one render task per track depends on the
clips of its phrases (they travel through Dask; they are small); when fitting a length
asks for a phrase nobody has made yet (a sped-up variant, a narration that tells the
length), the task returns the missing names instead of rendering, and the client makes
them and submits the track again. Tracks are prioritised longest first. Each worker
keeps its engine warm and its own phrase cache for reruns. A worker that dies has its
tasks run again elsewhere by the scheduler; a track that fails is reported and the
others go on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from voiceguide.errors import (
    OutputError,
    UsageError,
    VoiceguideError,
    cli_messages,
    cli_messages_on,
    option,
)
from voiceguide.pack.dask_connect import (
    check_reachable,
    check_workers,
    connect,
    other_version,
    worker_name,
    workers_watched,
)
from voiceguide.pack.jobs import Outcome, TrackJob, build_job
from voiceguide.pack.phrases import MissingPhrases, PhraseRef, clip_bank, synthesize
from voiceguide.pack.runners import RunEvents, RunStats, in_track
from voiceguide.pack.workers import ctrl_c_held
from voiceguide.plugins import Register, hookimpl
from voiceguide.version import __version__

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.speech.engine import SpeechEngine

SCHEDULER_ENV: Final = "DASK_SCHEDULER_ADDRESS"
INSTALL: Final = "pip install 'voiceguide[dask]'"
PHRASE_PRIORITY: Final = 1_000_000
"""Synthesis runs before rendering (shared phrases first)."""


@dataclass(frozen=True)
class Missing:
    """A track's plan asked for phrases it was not given."""

    refs: frozenset[PhraseRef]


# ------------------------------------------------------------------ on the workers

_local = threading.local()


def _engine(name: str) -> SpeechEngine:
    """This worker thread's warm engine (engines are not shared between threads)."""
    from voiceguide.speech.engine import get_engine

    engines: dict[str, SpeechEngine] = getattr(_local, "engines", None) or {}
    _local.engines = engines
    if name not in engines:
        engines[name] = get_engine(name)
    return engines[name]


def _voice(engine: SpeechEngine, voice: str | None, language: str) -> tuple[str, list[str]]:
    """The voice a track is spoken in and what choosing it warns of (a voice of another
    language than the routine's), as a local build's :func:`track_voice` says them."""
    from voiceguide.speech.voices import track_voice

    voices: dict[tuple[str, str | None, str], tuple[str, list[str]]] = \
        getattr(_local, "voices", None) or {}
    _local.voices = voices
    if (engine.name, voice, language) not in voices:
        found, _, said = track_voice(engine, voice, language, False)
        voices[(engine.name, voice, language)] = (found, said)
    return voices[(engine.name, voice, language)]


def synthesize_task(ref: PhraseRef) -> tuple[PCM, bool]:
    """Dask task: one phrase's clip, and whether this worker's engine spoke it."""
    return synthesize(_engine(ref.engine), ref)


def synthesized_flag(clip: tuple[PCM, bool]) -> bool:
    """Dask task: whether a synthesis task spoke its phrase (a tiny result)."""
    return clip[1]


def render_task(job: TrackJob, clips: Mapping[str, tuple[PCM, bool]],
                version: str, flags: bool = False) -> Outcome | Missing:
    """Dask task: build one track from the given clips and write it to its destination;
    or name the phrases its plan needs and was not given. A worker of another voiceguide
    ``version`` than the client's refuses (one that joined after the check). ``flags``:
    its errors name options as the command line does (the client's
    :func:`~voiceguide.errors.cli_messages`)."""
    if version != __version__:
        raise UsageError(other_version(worker_name(), __version__, version))
    with cli_messages(flags):
        engine = _engine(job.settings.engine)
        voice, said = _voice(engine, job.settings.voice, job.language)
        bank = clip_bank(engine, voice, job.settings.rate, {k: v[0] for k, v in clips.items()})
        bank.voice_warnings = said  # the cue sheet a local build writes (a review)
        try:
            return build_job(job, None, False, None, phrases=bank)
        except MissingPhrases as exc:
            return Missing(exc.refs)


# ------------------------------------------------------------------ on the client


def _needs_distributed() -> None:
    if importlib.util.find_spec("distributed") is None:
        raise UsageError(f"{option('runner', 'dask')} needs the distributed package; {INSTALL}")


class DaskRunner:
    """Build a pack as a Dask task graph (see the module documentation)."""

    name = "dask"
    keep_going = True

    def __init__(self, workers: int, options: Mapping[str, str]) -> None:
        unknown = set(options) - {"scheduler"}
        if unknown:
            raise UsageError(f"the dask runner takes {option('scheduler')} only (got "
                             + ", ".join(sorted(unknown)) + ")")
        self.address = options.get("scheduler") or os.environ.get(SCHEDULER_ENV) or None
        self.workers = workers

    def ready(self) -> None:
        """Refuse at once a run that cannot start: no distributed package, or a scheduler
        address that is malformed, refused or of an unknown host."""
        _needs_distributed()
        if self.address:
            check_reachable(self.address)

    @contextmanager
    def client(self, events: RunEvents) -> Iterator[Any]:
        """A client of the cluster (a LocalCluster started for the run if no address)."""
        _needs_distributed()
        from distributed import Client, LocalCluster

        if self.address:
            client = connect(Client, self.address)
            # a scheduler lost mid-run is said in one line (DaskRunner.run), not also in
            # the client's log of its reconnecting
            said = logging.getLogger("distributed.client")
            level = said.level
            said.setLevel(logging.CRITICAL)
            try:
                with client, workers_watched(client, self.address):
                    check_workers(client, self.address)
                    self._tell(client, events, dashboard=False)
                    yield client
            finally:
                said.setLevel(level)
            return
        # a free port: the scheduler serves HTTP even without bokeh's dashboard, and
        # Dask's own 8787 is taken by any other cluster here ("Port 8787 is already in use");
        # on this machine only (an attack read its logs, task names and live call stacks
        # from the network while a pack ran: ":0" is every address)
        dashboard = importlib.util.find_spec("bokeh") is not None
        with contextlib.ExitStack() as stack:
            with ctrl_c_held():  # its event loop's thread, and the workers it spawns
                # what it logs is its own housekeeping (a worker slow to stop; on Ctrl-C,
                # cancelled tasks and lost connections): the run says what went wrong
                cluster = stack.enter_context(LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    silence_logs=logging.CRITICAL))
            # a Ctrl-C held back while it started comes here: the stack closes it
            client = stack.enter_context(Client(cluster))
            self._tell(client, events, dashboard)
            yield client

    def _tell(self, client: Any, events: RunEvents, dashboard: bool = True) -> None:
        if events.notice:
            workers = len(client.scheduler_info().get("workers", {}))
            where = self.address or "a local cluster"
            events.notice(f"Dask: {where}, {workers} workers"
                          + (f"; dashboard {client.dashboard_link}" if dashboard else ""))

    def run(self, jobs: Sequence[TrackJob], events: RunEvents) -> RunStats:
        """Build ``jobs`` on the cluster."""
        if not jobs:
            return RunStats()
        with self.client(events) as client:
            try:
                return _Graph(client, jobs, events).run()
            except VoiceguideError:
                raise
            except Exception as exc:
                if client.status == "running":
                    raise
                raise OutputError(
                    f"lost the Dask scheduler ({self.address or 'the local cluster'}) in "
                    f"the middle of the pack ({type(exc).__name__}); the tracks finished "
                    "before are kept: start the scheduler again and run the pack again "
                    "to build the rest") from None


class _Graph:
    """The client's side of one pack run."""

    def __init__(self, client: Any, jobs: Sequence[TrackJob], events: RunEvents) -> None:
        self.client = client
        self.jobs = list(jobs)
        self.events = events
        self.phrases: dict[str, Any] = {}
        """Synthesis futures by phrase key (held until the pack is done)."""
        self.needs: dict[int, set[PhraseRef]] = {j.n: set() for j in jobs}
        self.tries: dict[int, int] = {j.n: 0 for j in jobs}
        # longest first: the first job in the list gets the highest priority
        self.priority = {j.n: len(jobs) - i for i, j in enumerate(jobs)}

    def submit_track(self, job: TrackJob) -> Any:
        self.tries[job.n] += 1
        clips = {r.key: self.phrases[r.key] for r in self.needs[job.n]}
        return self.client.submit(render_task, job, clips, __version__, cli_messages_on(),
                                  pure=False,
                                  key=f"vg-track-{job.n}-{job.input_hash[:12]}-"
                                      f"{self.tries[job.n]}",
                                  priority=self.priority[job.n])

    def submit_phrases(self, refs: Sequence[PhraseRef], shared: Mapping[str, int]) -> None:
        for ref in refs:
            if ref.key not in self.phrases:
                self.phrases[ref.key] = self.client.submit(
                    synthesize_task, ref, key=f"vg-phrase-{ref.key}", pure=False,
                    priority=PHRASE_PRIORITY + shared.get(ref.key, 1))

    def run(self) -> RunStats:
        from distributed import as_completed

        by_key: dict[Any, TrackJob] = {}
        first = [self.submit_track(j) for j in self.jobs]
        by_key.update({f.key: j for f, j in zip(first, self.jobs, strict=True)})
        # first pass: every track names the phrases it speaks; shared ones run first
        again: list[TrackJob] = []
        pending = as_completed(first)
        for fut in pending:
            job = by_key.pop(fut.key)
            got = self.result(fut, job)
            if isinstance(got, Missing):
                self.needs[job.n] |= got.refs
                again.append(job)
            elif got is not None:
                self.events.finished(job, got)
        shared: dict[str, int] = {}
        for job in again:
            for ref in self.needs[job.n]:
                shared[ref.key] = shared.get(ref.key, 0) + 1
        wanted = sorted({r for j in again for r in self.needs[j.n]},
                        key=lambda r: (-shared[r.key], r.key))
        self.submit_phrases(wanted, shared)
        queue = as_completed()
        for job in again:
            fut = self.submit_track(job)
            by_key[fut.key] = job
            queue.add(fut)
        for fut in queue:
            job = by_key.pop(fut.key)
            got = self.result(fut, job)
            if isinstance(got, Missing):
                new = got.refs - self.needs[job.n]
                if not new:
                    self.fail(job, VoiceguideError("the plan asked for phrases it was given"))
                    continue
                self.needs[job.n] |= new
                self.submit_phrases(sorted(new, key=lambda r: r.key), {})
                nxt = self.submit_track(job)
                by_key[nxt.key] = job
                queue.add(nxt)
            elif got is not None:
                self.events.finished(job, got)
        return self.stats()

    def result(self, fut: Any, job: TrackJob) -> Outcome | Missing | None:
        """The task's result, or None after reporting its failure."""
        try:
            got: Outcome | Missing = fut.result()
            return got
        except VoiceguideError as exc:
            self.fail(job, exc)
        except Exception as exc:  # a worker lost, or a bug in a task
            if self.client.status != "running":
                raise  # the scheduler is gone: no track fails of it (see DaskRunner.run)
            from distributed import KilledWorker

            if isinstance(exc, KilledWorker):
                self.fail(job, VoiceguideError(
                    "the workers running it died repeatedly (out of memory?); give the "
                    "workers more memory"))
            else:
                self.fail(job, VoiceguideError(
                    f"internal error on a worker ({type(exc).__name__}: {exc}); report it"))
        finally:
            fut.release()
        return None

    def fail(self, job: TrackJob, exc: VoiceguideError) -> None:
        named = in_track(job, exc)
        self.events.failed(job, named)
        if not self.events.keep_going:
            self.client.cancel(list(self.phrases.values()))
            raise named

    def stats(self) -> RunStats:
        """How many phrases the workers synthesised (each synthesis task says; one that
        failed was reported with its track, and is not counted)."""
        futures = list(self.phrases.values())
        flags = self.client.gather([self.client.submit(synthesized_flag, f, pure=False)
                                    for f in futures], errors="skip") if futures else []
        spoken = sum(1 for f in flags if f)
        return RunStats(spoken, len(flags) - spoken, {
            "synthesis_tasks": len(futures),
            "render_tasks": sum(self.tries.values()),
        })


@hookimpl
def register_runners(register: Register) -> None:
    """The Dask runner (needs ``voiceguide[dask]`` when used)."""
    register(DaskRunner)
