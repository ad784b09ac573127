"""The pyttsx3 + espeak-ng engine, driven in a worker process.

espeak-ng comes from the ``espeakng-loader`` wheel, so no system package is needed.
The worker (:mod:`voiceguide.engines.espeak_worker`) is started on first use, answers
one phrase at a time, and is killed and restarted when it hangs or dies; each phrase
gets one retry in a fresh worker before the build fails with a clear message.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from voiceguide.errors import EngineError
from voiceguide.plugins import Register, hookimpl, package_version
from voiceguide.speech.engine import VoiceInfo

if TYPE_CHECKING:
    from voiceguide.audio import PCM

START_TIMEOUT: Final = 30.0
"""Seconds the worker may take to load espeak."""
PHRASE_TIMEOUT: Final = 20.0
"""Base seconds one phrase may take (plus 50 ms per character)."""
HEARD_PER_NATIVE: Final = 1.175
"""Words per minute as heard (voice trimmed of its edges) per unit of espeak-ng's rate
parameter, measured over the library's 164 distinct phrases: 1.165 at 100, 1.171 at 120,
1.184 at 140, 1.185 at 160."""
RATE_MAP: Final = "heard-1"
"""Names the rate mapping in the engine version (so the phrase cache keeps clips made
with another mapping apart)."""
FIX_HINT: Final = (
    "reinstall the speech stack with 'pip install --force-reinstall pyttsx3 espeakng-loader'"
)


def native_rate(rate: int) -> int:
    """espeak-ng's rate parameter for ``rate`` words per minute as heard."""
    return max(40, int(round(rate / HEARD_PER_NATIVE)))


class _Worker:
    def __init__(self, tmpdir: Path) -> None:
        self.tmpdir = tmpdir
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        env = dict(os.environ)
        env.pop("PYTHONSTARTUP", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide.speech.espeak_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )
        self.buffer = b""
        self.sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        hello = self.read(START_TIMEOUT)
        if not hello.get("ready"):
            self.kill()
            raise EngineError(
                f"the espeak speech engine could not start ({hello.get('error', 'no answer')});"
                f" {FIX_HINT}"
            )
        self.voices: list[dict[str, Any]] = hello["voices"]

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def read(self, timeout: float) -> dict[str, Any]:
        import time

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
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        self.stderr.close()


class EspeakEngine:
    """pyttsx3 driving libespeak-ng from the espeakng-loader wheel, in a worker process."""

    name = "espeak"
    default_voice = "gmw/en-us"
    packages = ("pyttsx3", "espeakng-loader")
    """PyPI packages whose versions decide the sound."""
    SAMPLE_RATE: Final = 22050
    """What espeak-ng writes, for every voice."""

    def __init__(self) -> None:
        self._worker: _Worker | None = None
        self._tmpdir: Path | None = None
        self._count = 0
        self.restarts = 0

    @property
    def version(self) -> str:
        """pyttsx3 and espeak-ng (espeakng-loader) versions."""
        return "+".join(f"{p}-{package_version(p)}" for p in self.packages) + f"+{RATE_MAP}"

    def sample_rate(self, voice: str) -> int:
        """22050 Hz: espeak-ng's rate for every voice."""
        return self.SAMPLE_RATE

    def identity(self, voice: str) -> str:
        """The voice id (espeak voices are part of the versioned data)."""
        return voice

    def _ensure(self) -> _Worker:
        if self._worker is None or self._worker.proc.poll() is not None:
            if self._worker is not None:
                self._worker.kill()
            if self._tmpdir is None:
                self._tmpdir = Path(tempfile.mkdtemp(prefix="voiceguide-espeak-"))
            try:
                self._worker = _Worker(self._tmpdir)
            except (TimeoutError, EOFError, OSError, ValueError) as exc:
                detail = str(exc) or type(exc).__name__
                raise EngineError(
                    f"the espeak speech engine could not start ({detail}); {FIX_HINT}"
                ) from None
        return self._worker

    def voices(self) -> list[VoiceInfo]:
        """Every espeak-ng voice (about 140)."""
        return [
            VoiceInfo(v["id"], v["name"], tuple(v.get("languages", [])), v.get("gender"))
            for v in self._ensure().voices
        ]

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """Speak one phrase at ``rate`` words per minute as heard; a hang or crash is
        retried once in a fresh worker."""
        import numpy as np

        timeout = PHRASE_TIMEOUT + 0.05 * len(text)
        last = ""
        for attempt in range(2):
            worker = self._ensure()
            self._count += 1
            path = worker.tmpdir / f"p{self._count}.wav"
            try:
                answer = worker.request(
                    {"text": text, "voice": voice, "rate": native_rate(rate), "path": str(path)},
                    timeout,
                )
            except TimeoutError:
                last = f"no answer within {timeout:.0f} s"
            except (EOFError, BrokenPipeError, OSError) as exc:
                last = f"the engine process died ({exc or 'no message'})"
            else:
                if answer.get("ok"):
                    try:
                        with wave.open(str(path), "rb") as w:
                            frames = w.readframes(w.getnframes())
                            if w.getframerate() != self.SAMPLE_RATE or w.getsampwidth() != 2:
                                raise EngineError(
                                    f"the espeak engine wrote {w.getframerate()} Hz audio; "
                                    f"expected {self.SAMPLE_RATE} Hz"
                                )
                    finally:
                        path.unlink(missing_ok=True)
                    return np.frombuffer(frames, dtype="<i2").astype(np.int16)
                last = str(answer.get("error"))
            path.unlink(missing_ok=True)
            self.restarts += 1 if attempt == 0 else 0
            if self._worker is not None:
                self._worker.kill()
                self._worker = None
        raise EngineError(
            f"the espeak engine failed to speak \"{text[:60]}\" twice ({last}); {FIX_HINT}"
        )

    def close(self) -> None:
        """Stop the worker and remove its temporary folder."""
        if self._worker is not None:
            self._worker.kill()
            self._worker = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


@hookimpl
def register_engines(register: Register) -> None:
    """The default engine."""
    register(EspeakEngine)
