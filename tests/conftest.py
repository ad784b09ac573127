"""Shared fixtures: every path (cache, output, routines) points at tmp_path."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest

ASSETS = Path(__file__).parent / "assets"
ROOT = Path(__file__).parent.parent
SR = 22050


LONG_MODULES = ("test_bench", "test_pack_dask", "test_piper", "test_delivery", "test_pack_runs",
                "test_narration", "test_library", "test_cli", "test_pack_uptodate",
                "test_serve", "test_hardening", "test_export", "test_robustness")
"""The modules that take longest (a minute or more of a worker's time), longest first: they
are started first, so that the suite does not end with one worker on a long module while
the others idle (a worker takes a module's tests whole)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long modules first (:data:`LONG_MODULES`); a module's tests keep their order."""
    def rank(item: pytest.Item) -> int:
        name = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder for the whole module (its tests run in order, in one worker)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's cache is its own, or, in a module marked ``shared_phrases`` (whose tests
    assert nothing of what the cache held), the module's: each phrase is synthesised once
    per module, and every build after the first also shows that a warm cache gives the
    bytes a cold one does."""
    shared = request.node.get_closest_marker("shared_phrases") is not None
    cache = request.getfixturevalue("_module_cache") if shared else tmp_path / "cache"
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def espeak() -> Iterator[Any]:
    from voiceguide.speech.engine import get_engine

    engine = get_engine("espeak")
    yield engine
    engine.close()


def decode(path: Path) -> np.ndarray:
    """Decode any audio file to float64 mono samples at 22050 Hz with ffmpeg."""
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le",
         "-ac", "1", "-ar", str(SR), "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float64) / 32768.0


def sheet_of(track: Path) -> dict[str, Any]:
    return json.loads(track.with_name(track.stem + ".cues.json").read_text())


FRAME_SAMPLES = 110
FRAME = FRAME_SAMPLES / SR  # exactly, or times drift


@dataclass
class Voice:
    """Frame-level voice activity of decoded audio."""

    active: np.ndarray  # bool per 5 ms frame

    @classmethod
    def detect(cls, y: np.ndarray, threshold_db: float = -50.0) -> Voice:
        n = FRAME_SAMPLES
        frames = y[: y.size // n * n].reshape(-1, n)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        return cls(20 * np.log10(rms + 1e-12) > threshold_db)

    def onset(self, a: float, b: float) -> float | None:
        """First voiced time in [a, b)."""
        i, j = int(a / FRAME), int(b / FRAME)
        hits = np.flatnonzero(self.active[max(i, 0) : j])
        return None if hits.size == 0 else (max(i, 0) + hits[0]) * FRAME

    def offset(self, a: float, b: float) -> float | None:
        """End of the last voiced frame in [a, b)."""
        i, j = int(a / FRAME), int(b / FRAME)
        hits = np.flatnonzero(self.active[max(i, 0) : j])
        return None if hits.size == 0 else (max(i, 0) + hits[-1] + 1) * FRAME

    def any(self, a: float, b: float) -> bool:
        return self.onset(a, b) is not None


def build(routine: Path | str, out_dir: Path, *, engine_obj: Any = None, cache: Any = True,
          stem: str | None = None, **settings: Any) -> Any:
    """Build a routine file with settings through the public API; the BuildResult."""
    import voiceguide as vg

    return vg.build_track(vg.load_routine(routine), vg.TrackSettings(**settings), out_dir,
                          stem=stem, engine=engine_obj, cache=cache)


def routine_using(folder: Path, exercise: str, text: str, name: str = "mine.yaml") -> Path:
    """A routine file in ``folder`` of one step, ``exercise``, written beside it as
    ``exercises/<exercise>.yaml`` holding ``text`` (a coach's own exercise)."""
    (folder / "exercises").mkdir(exist_ok=True)
    (folder / "exercises" / f"{exercise}.yaml").write_text(text)
    routine = folder / name
    routine.write_text(f"title: T\nsteps:\n  - exercise: {exercise}\n")
    return routine


@pytest.fixture
def serve_port(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Call it for a free local port for `voiceguide serve`, which from then on prints
    its addresses and stops where it would start serving (as on Ctrl-C)."""
    import socket

    from voiceguide.pack import serve as serve_module

    def stop(self: Any, *args: Any) -> None:
        raise KeyboardInterrupt

    def port() -> int:
        monkeypatch.setattr(serve_module.Server, "serve_forever", stop)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free: int = s.getsockname()[1]
        return free

    return port


def run_cli(argv: list[str]) -> int:
    """Run the CLI in-process; the exit code. The signal handlers it sets (SIGTERM as
    Ctrl-C; both ignored once interrupted) are put back for the test session."""
    import signal

    from voiceguide.cli import main

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return 0


def command_options(name: str) -> dict[str, tuple[str, bool]]:
    """The options of the typer command ``name``: option string -> (parameter, whether it
    is the negative form of a flag)."""
    import typer

    from voiceguide.cli.run import app

    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    return {opt: (param.name, opt in param.secondary_opts) for param in command.params
            if param.param_type_name == "option"
            for opt in [*param.opts, *param.secondary_opts]}


_PHONEMES = r"""
import ctypes, json, sys
import espeakng_loader as e
lib = ctypes.CDLL(e.get_library_path())
lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
lib.espeak_Initialize(2, 0, str(e.get_data_path()).encode(), 0)
lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                      ctypes.c_int]
voice, mode, texts = json.load(sys.stdin)
lib.espeak_SetVoiceByName(voice.encode())
out = []
for text in texts:
    buf = ctypes.create_string_buffer(text.encode())
    p = ctypes.c_void_p(ctypes.addressof(buf))
    said = []
    while p.value:
        r = lib.espeak_TextToPhonemes(ctypes.byref(p), 1, mode)
        if r:
            said.append(r.decode())
    out.append(" ".join(said))
json.dump(out, sys.stdout)
"""


def espeak_phonemes(texts: list[str], voice: str = "en-us", ipa: bool = False) -> list[str]:
    """espeak-ng's phonemes for each of ``texts`` in ``voice`` (its mnemonics, where a
    switch to another language's voice shows as ``(en)``; or IPA): what espeak, and Piper
    through it, make of them (in a process of its own: the library keeps its state)."""
    import sys

    done = subprocess.run([sys.executable, "-c", _PHONEMES],
                          input=json.dumps([voice, 2 if ipa else 0, texts]),
                          capture_output=True, text=True, check=True, timeout=120)
    said: list[str] = json.loads(done.stdout)
    return said
