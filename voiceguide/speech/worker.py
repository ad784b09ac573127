"""Speech engines in worker processes: the client that starts, asks and restarts a
worker, and the loop a worker module runs.

An engine's native code runs in its own process (``python -m <worker module>``), so
that a crash, an ``exit()`` in a C library or a hang cannot take the build down. The
client (:class:`WorkerClient`) starts the worker on first use, sends one JSON request a
line on its stdin, reads one JSON answer a line back, and kills and restarts it when it
hangs or dies: each phrase gets one retry in a fresh worker before the build fails with
a message naming the fix. Audio comes back as a WAV file in a private temporary folder.

The worker side (:func:`serve`) loads the engine once, then speaks every request in a
forked copy of the freshly loaded process, so a phrase's samples never depend on what
was spoken before it (espeak-ng carries its pitch flutter on; a Piper model's noise
generator advances with every phrase). Both sides use the standard library only, so a
worker module imports its engine and nothing heavy.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from voiceguide.errors import EngineError

FORK: Final = hasattr(os, "fork")
"""Each request is served in a forked copy of the loaded worker (see :func:`serve`)."""


class _Process:
    """One running worker: its pipes, its captured stderr and its hello message."""

    def __init__(self, module: str, args: Sequence[str], start_timeout: float) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        env = dict(os.environ)
        env.pop("PYTHONSTARTUP", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            # its own process group (same session): killing the group also ends a
            # phrase's fork that hangs
            process_group=0 if hasattr(os, "killpg") else None,
        )
        self.buffer = b""
        self.sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            self.hello = self.read(start_timeout)
        except BaseException:
            self.kill()
            raise

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if not self.sel.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError(self.stderr_tail())
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    def request(self, obj: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()
        return self.read(timeout)

    def kill(self) -> None:
        if hasattr(os, "killpg"):
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        self.stderr.close()


@dataclass(frozen=True)
class Spoken:
    """One phrase as a worker wrote it."""

    frames: bytes
    """Little-endian int16 mono samples."""
    sample_rate: int


TMP_PREFIX: Final = "voiceguide-speech-"
"""Start of a client's temporary folder's name: ``voiceguide-speech-<label>-<pid>-...``."""
ALIVE: Final = ".alive"
"""File in a client's folder that its process holds locked (``flock``) while it lives."""
SETTLE: Final = 60.0
"""Seconds a folder is left alone after it was last changed, whatever its lock says (its
owner may be between making it and locking it)."""


class SpeechFolder:
    """A private temporary folder for one client, held (its :data:`ALIVE` file locked)
    until :meth:`remove`, or the process's end, whichever comes first. Making one first
    removes the folders of this user's processes that ended without removing theirs (a
    pack's workers die with the pack): a folder whose lock nobody holds, left alone for
    :data:`SETTLE` seconds. A lock, not a pid, tells: a pid means nothing in another pid
    namespace or on another machine sharing the folder. POSIX only (``fcntl``):
    elsewhere folders are removed at exit and never swept."""

    def __init__(self, label: str) -> None:
        try:
            import fcntl
        except ImportError:
            fcntl = None  # type: ignore[assignment]
        root = Path(tempfile.gettempdir())
        if fcntl is not None:
            _sweep(root, fcntl)
        self.path = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{label}-{os.getpid()}-"))
        held: int | None = None
        if fcntl is not None:
            held = os.open(self.path / ALIVE, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.remove = weakref.finalize(self, _remove, self.path, held)
        """Remove the folder and let go of its lock (once; also at the process's end)."""


def _remove(path: Path, held: int | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if held is not None:
        with contextlib.suppress(OSError):
            os.close(held)


def _sweep(root: Path, fcntl: Any) -> None:
    """Remove the folders in ``root`` of this user's clients that are gone."""
    now = time.time()
    with contextlib.suppress(OSError):
        for old in root.glob(TMP_PREFIX + "*"):
            with contextlib.suppress(OSError, ValueError, OverflowError):
                st = old.lstat()
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() \
                        or now - st.st_mtime < SETTLE:
                    continue
                probe = os.open(old / ALIVE, os.O_RDONLY | os.O_NOFOLLOW)
                try:  # taken: nobody holds it, the client is gone (else BlockingIOError)
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    shutil.rmtree(old, ignore_errors=True)
                finally:
                    os.close(probe)


class WorkerClient:
    """One engine worker process, started on first use and restarted when it fails.

    ``label`` names the engine in messages ("the piper speech engine ..."), ``fix`` is
    what a user does about a worker that cannot start or speak.
    """

    def __init__(self, label: str, module: str, args: Sequence[str], fix: str,
                 start_timeout: float) -> None:
        self.label = label
        self.module = module
        self.args = tuple(args)
        self.fix = fix
        self.start_timeout = start_timeout
        self.restarts = 0
        """Phrases that needed a fresh worker."""
        self._proc: _Process | None = None
        self._folder: SpeechFolder | None = None
        self._count = 0
        self._lock = threading.RLock()
        """One phrase at a time: the worker has one pipe (an engine shared by threads)."""

    def hello(self) -> dict[str, Any]:
        """What the worker said once it had loaded its engine (voices, sample rate)."""
        with self._lock:
            return self._ensure().hello

    def _ensure(self) -> _Process:
        if self._proc is None or self._proc.proc.poll() is not None:
            if self._proc is not None:
                self._proc.kill()
                self._proc = None
            if self._folder is None:  # removed at exit too, where an engine is never closed
                self._folder = SpeechFolder(self.label)
            try:
                proc = _Process(self.module, self.args, self.start_timeout)
            except (TimeoutError, EOFError, OSError, ValueError) as exc:
                detail = str(exc) or type(exc).__name__
                raise EngineError(
                    f"the {self.label} speech engine could not start ({detail}); {self.fix}"
                ) from None
            if not proc.hello.get("ready"):
                proc.kill()
                raise EngineError(
                    f"the {self.label} speech engine could not start "
                    f"({proc.hello.get('error', 'no answer')}); {self.fix}"
                )
            self._proc = proc
        return self._proc

    def speak(self, request: dict[str, Any], text: str, timeout: float) -> Spoken:
        """Send ``request`` (the worker adds the WAV ``path``) and read the phrase back;
        a hang or crash is retried once in a fresh worker. Threads sharing the engine take
        turns."""
        with self._lock:
            return self._speak(request, text, timeout)

    def _speak(self, request: dict[str, Any], text: str, timeout: float) -> Spoken:
        last = ""
        for attempt in range(2):
            proc = self._ensure()
            assert self._folder is not None
            self._count += 1
            path = self._folder.path / f"p{self._count}.wav"
            try:
                answer = proc.request({**request, "path": str(path)}, timeout)
            except TimeoutError:
                last = f"no answer within {timeout:.0f} s"
            except (EOFError, BrokenPipeError, OSError) as exc:
                last = f"the engine process died ({exc or 'no message'})"
            else:
                if answer.get("ok"):
                    try:
                        with wave.open(str(path), "rb") as w:
                            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                                raise EngineError(
                                    f"the {self.label} engine wrote {w.getnchannels()} "
                                    f"channel(s) of {8 * w.getsampwidth()}-bit audio; "
                                    "expected 16-bit mono"
                                )
                            return Spoken(w.readframes(w.getnframes()), w.getframerate())
                    finally:
                        path.unlink(missing_ok=True)
                last = str(answer.get("error"))
            path.unlink(missing_ok=True)
            self.restarts += 1 if attempt == 0 else 0
            self._kill()
        raise EngineError(
            f"the {self.label} engine failed to speak \"{text[:60]}\" twice ({last}); "
            f"{self.fix}"
        )

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    def close(self) -> None:
        """Stop the worker and remove its temporary folder."""
        with self._lock:
            self._kill()
            if self._folder is not None:
                self._folder.remove()
                self._folder = None


# -- the worker side -----------------------------------------------------------------

def _speak_fresh(speak: Callable[[dict[str, Any]], None], req: dict[str, Any]) -> None:
    """Serve ``req`` in a forked copy of this process: every phrase starts from the state
    the engine had right after loading, whatever was spoken before."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            speak(req)
            code = 0
        except BaseException as exc:  # the parent reports it from the exit status
            os.write(2, f"{type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the engine failed to speak the phrase (see its error output)")


def serve(load: Callable[[], dict[str, Any]],
          speak: Callable[[dict[str, Any]], None]) -> None:
    """Run a worker: ``load()`` the engine (its return value is the hello message, e.g.
    the voices), then ``speak(request)`` for every request line until stdin closes. The
    real stdout goes to /dev/null (engines print); answers go out on a duplicate."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        hello = load()
    except Exception as exc:  # the caller turns this into a message naming the fix
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    send({"ready": True, **hello})
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if FORK:
                _speak_fresh(speak, req)
            else:  # pragma: no cover - platforms without fork: one long-lived engine
                speak(req)
            send({"ok": True})
        except Exception as exc:
            send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
