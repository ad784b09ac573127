"""A pool of warm worker processes for the local runner.

Each worker is started once (spawned, so nothing of the parent's state leaks in), keeps
its speech engine loaded, and talks to the parent over one pipe: a job goes in,
progress and then the outcome (or the error) come back. The parent knows which track
each worker holds, so a worker that dies (the kernel's out-of-memory killer sends
SIGKILL) is reported with the track it was building, and is replaced.

Workers never outlive the parent: on Linux they ask the kernel for SIGKILL when the
parent dies (``PR_SET_PDEATHSIG``); elsewhere a watchdog thread checks the parent's
pid. Their speech-engine helpers read requests from a pipe and stop when it closes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Final

from voiceguide.errors import VoiceguideError, cli_messages, cli_messages_on
from voiceguide.pack.jobs import Outcome, TrackJob

PARENT_CHECK_SECONDS: Final = 1.0
"""How often a worker's watchdog looks for its parent (where prctl is not available)."""


class WorkerLost(VoiceguideError):
    """The process building a track died (killed, or out of memory)."""


class WorkerFailed(VoiceguideError):
    """A track failed with an unexpected error in a worker (a bug)."""


def bug(exc: Exception) -> WorkerFailed:
    """A track's unexpected error, as a runner reports it when it goes on with the others
    (one line; ``--debug --jobs 1`` shows where it happened)."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return WorkerFailed(f"internal error ({detail}); rerun as 'voiceguide --debug pack ... "
                        "--jobs 1' and report it")


def die_with_parent(parent: int) -> None:
    """Make this process exit when ``parent`` dies: the kernel's parent-death signal on
    Linux, and a watchdog thread everywhere (it also covers a parent that died first)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(PARENT_CHECK_SECONDS)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="voiceguide-parent-watch", daemon=True).start()


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C back in this thread for the duration, for the processes and threads
    started meanwhile to inherit: a Ctrl-C in the terminal reaches every process of its
    group, and a worker that got it printed Python's traceback (of its start-up, or of
    the work it was doing). Such workers leave the stop to the parent, which gets its
    own Ctrl-C when the duration ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker

    # started first (once a process; a Dask cluster's spawns need it too): starting it,
    # multiprocessing unblocks Ctrl-C in the thread that spawns
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


Build = Callable[[TrackJob, Callable[[str, int, int], None]], Outcome]
"""How a worker builds a job: ``build(job, progress)``."""


def _worker_main(conn: Connection, parent: int, build: Build,
                 cleanup: Callable[[], None] | None, flags: bool = False) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if hasattr(signal, "pthread_sigmask"):  # held since the spawn (ctrl_c_held)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        with cli_messages(flags):  # options named as where the pack was asked for
            _serve(conn, build)
    finally:
        if cleanup is not None:
            cleanup()


def _serve(conn: Connection, build: Build) -> None:
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return

        def progress(stage: str, done: int, total: int, stem: str = job.stem) -> None:
            conn.send(("progress", stem, stage, done, total))

        try:
            outcome = build(job, progress)
        except VoiceguideError as exc:
            conn.send(("error", exc))
        except MemoryError:
            conn.send(("error", WorkerLost(f"{job.where}: out of memory")))
        except Exception as exc:  # a bug: send what the parent can show
            conn.send(("error", bug(exc)))
        else:
            conn.send(("done", outcome))


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    job: TrackJob | None = None


Event = tuple[str, TrackJob, Any]
"""``("done", job, outcome)``, ``("error", job, exception)`` or
``("progress", job, (stage, done, total))``."""


class WorkerPool:
    """``size`` warm worker processes running ``build``; use as a context manager."""

    def __init__(self, size: int, build: Build,
                 cleanup: Callable[[], None] | None = None) -> None:
        self.size = size
        self.build = build
        self.cleanup = cleanup
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        for _ in range(self.size):
            self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(graceful=exc[0] is None)

    def _start(self) -> _Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main,
                                 args=(theirs, os.getpid(), self.build, self.cleanup,
                                       cli_messages_on()),
                                 name="voiceguide-pack-worker", daemon=True)
        with ctrl_c_held():
            proc.start()
        theirs.close()
        w = _Worker(proc, ours)
        self._workers.append(w)
        return w

    def run(self, jobs: Sequence[TrackJob]) -> Iterator[Event]:
        """Build ``jobs`` in order on the free workers; yields events as they happen.

        A free worker takes the first pending job whose routine no other worker is
        building (else the first pending job): two workers on the same routine would
        wait on each other's phrases in a cold cache."""
        pending = list(jobs)
        while pending or any(w.job is not None for w in self._workers):
            for w in self._workers:
                if w.job is None and pending:
                    taken = {o.job.routine_path for o in self._workers if o.job is not None}
                    pick = next((j for j in pending if j.routine_path not in taken), pending[0])
                    pending.remove(pick)
                    w.job = pick
                    with contextlib.suppress(OSError):  # if it died, its sentinel says so
                        w.conn.send(w.job)
            busy = [w for w in self._workers if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for w in busy:
                if w.job is None:
                    continue
                if w.conn in ready:
                    try:
                        while w.conn.poll():
                            msg = w.conn.recv()
                            ev = self._event(w, msg)
                            if ev is not None:
                                yield ev
                            if w.job is None:
                                break
                        continue
                    except (EOFError, OSError):
                        pass  # died mid-message: handled as a death
                if w.job is not None and (w.proc.sentinel in ready or not w.proc.is_alive()):
                    w.proc.join(timeout=5)
                    if w.proc.is_alive():
                        continue
                    job, w.job = w.job, None
                    yield ("error", job, WorkerLost(_death(job, w.proc.exitcode)))
                    self._replace(w)

    def _event(self, w: _Worker, msg: tuple[Any, ...]) -> Event | None:
        job = w.job
        assert job is not None
        if msg[0] == "progress":
            return ("progress", job, msg[2:])
        w.job = None
        return (msg[0], job, msg[1])

    def _replace(self, dead: _Worker) -> None:
        with contextlib.suppress(OSError):
            dead.conn.close()
        self._workers.remove(dead)
        self._start()

    def close(self, graceful: bool = True) -> None:
        """Stop every worker: ask idle ones to exit, kill the rest."""
        for w in self._workers:
            if graceful and w.job is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        deadline = time.monotonic() + (5.0 if graceful else 0.0)
        for w in self._workers:
            if graceful and w.job is None:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
            w.proc.join()
            with contextlib.suppress(OSError):
                w.conn.close()
        self._workers.clear()


def _death(job: TrackJob, exitcode: int | None) -> str:
    where = job.where
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = (": probably out of memory (the kernel's OOM killer sends SIGKILL); try "
                "fewer --jobs or free some memory") if -exitcode == signal.SIGKILL else ""
        return f"{where}: the worker process building it was killed by {name}{hint}"
    return f"{where}: the worker process building it exited unexpectedly (code {exitcode})"
