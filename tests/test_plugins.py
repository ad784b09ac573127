"""Installed plugins as an outside developer writes them: a plugin that is broken is left
out with a warning naming it, and the built-ins keep working; what a plugin engine
gives back is checked; its own errors are named as its own; its version decides
whether a track is up to date."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import voiceguide as vg
from voiceguide.plugins import hookimpl, plugin_manager

HUM = '''
import os
import numpy as np
from voiceguide.plugins import hookimpl

class Hum:
    name = "hum"
    default_voice = "hum/one"
    version = "1"

    def sample_rate(self, voice):
        return 16000

    def identity(self, voice):
        return voice

    def voices(self):
        from voiceguide import VoiceInfo
        return [VoiceInfo("hum/one", "Hum", ("en",), sample_rate=16000)]

    def synthesize(self, text, voice, rate):
        n = 4000 * len(text.split())
        return (3000 * np.sin(np.arange(n) * 0.06)).astype(np.int16)

    def close(self):
        pass

@hookimpl
def register_engines(register):
    register(Hum)
'''


def install(site: Path, dist: str, version: str, module: str, code: str) -> None:
    """Install a one-module plugin distribution into ``site`` (a folder on PYTHONPATH),
    as pip would lay it out: the module and its dist-info with the entry point."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(code)
    for old in site.glob(f"{dist.replace('-', '_')}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[voiceguide]\n{module} = {module}\n")


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def test_a_plugin_that_fails_to_load_is_named_and_left_out(tmp_path: Path) -> None:
    site = tmp_path / "site"
    imported = tmp_path / "imported"
    install(site, "vg-broken", "0.1.0", "brokenvg",
            f"open({str(imported)!r}, 'a').write('x')\n"
            "raise RuntimeError('brokenvg could not read its config')\n")
    helped = cli(site, "build", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Traceback" not in helped.stderr and "--format" in helped.stdout
    said = ["Warning: plugin 'brokenvg' (vg-broken 0.1.0) could not be loaded "
            "(RuntimeError: brokenvg could not read its config) and is left out; "
            "pip uninstall vg-broken, or set VOICEGUIDE_NO_PLUGINS=1"]
    listed = cli(site, "voices")
    assert listed.returncode == 0 and listed.stderr.splitlines() == said, listed.stderr
    # what needs only the built-ins never imports a plugin (one that loads a neural
    # network takes seconds), so it neither waits for one nor hears of a broken one
    imported.unlink()
    shown = cli(site, "show", "morning-hips")
    assert shown.returncode == 0 and "Morning hips" in shown.stdout, shown.stderr
    routine = tmp_path / "r.yaml"
    routine.write_text("title: R\nsteps:\n  - say: One two three.\n")
    build = ["build", str(routine), "--engine", "test", "--out", str(tmp_path / "out")]
    assert cli(site, *build).returncode == 0
    again = cli(site, *build)
    assert "up to date" in again.stdout
    pack = tmp_path / "pack.yaml"  # its feed once listed every format for a MIME type
    pack.write_text("title: P\ndefaults: {engine: test}\ntracks:\n  - {routine: r.yaml}\n")
    packed = cli(site, "pack", str(pack), "--out", str(tmp_path / "packed"))
    assert packed.returncode == 0 and "plugin" not in packed.stderr, packed.stderr
    assert shown.stderr == again.stderr == "" and not imported.exists()
    # asking for what it would have given: said why it is not there
    asked = cli(site, "build", str(routine), "--engine", "brokenvg")
    assert asked.returncode == 2 and asked.stderr.splitlines()[0] == said[0], asked.stderr
    assert "unknown speech engine 'brokenvg'" in asked.stderr


def test_a_plugin_engines_version_decides_whether_a_track_is_up_to_date(
        tmp_path: Path) -> None:
    site = tmp_path / "site"
    routine = tmp_path / "hum.yaml"
    routine.write_text("title: Hum\nsteps:\n  - say: One two three.\n")
    args = ["build", str(routine), "--engine", "hum", "--format", "wav",
            "--out", str(tmp_path / "out")]
    install(site, "vg-hum", "0.1.0", "humvg", HUM)
    first = cli(site, *args)
    assert first.returncode == 0 and "Wrote" in first.stdout, first.stderr
    assert "up to date" in cli(site, *args).stdout
    install(site, "vg-hum", "0.2.0", "humvg", HUM)  # the distribution's new release
    # made again, not taken from the phrase cache: a release may change the sound under
    # one engine version (a plugin review: 0 synthesised, 34 from cache)
    assert "Wrote" in (again := cli(site, *args).stdout) and "1 synthesised" in again, again
    assert "up to date" in cli(site, *args).stdout
    install(site, "vg-hum", "0.2.0", "humvg", HUM.replace('version = "1"', 'version = "2"'))
    assert "Wrote" in cli(site, *args).stdout  # the engine's own version


class Engine:
    """A plugin engine whose output and failures the tests choose."""

    name = "plug"
    default_voice = "plug/one"
    version = "1"
    out: Any = None
    rate = 16000

    def sample_rate(self, voice: str) -> int:
        return Engine.rate

    def identity(self, voice: str) -> str:
        return voice

    def voices(self) -> list[vg.VoiceInfo]:
        return [vg.VoiceInfo("plug/one", "Plug", ("en",), sample_rate=16000)]

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        if isinstance(Engine.out, BaseException):
            raise Engine.out
        return Engine.out

    def close(self) -> None:
        pass


class Lacking:
    name = "lacking"

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        return None


class Imposter:
    """Takes the built-in engine's name."""

    name = "espeak"
    default_voice, version = "x", "1"
    sample_rate = identity = voices = synthesize = close = Engine.close


class Raising(type):
    def __getattr__(cls, name: str) -> Any:
        raise RuntimeError("boom " + name)


class Hostile(metaclass=Raising):
    """Every attribute asked of it raises (found by an attack)."""


class Plugin:
    @hookimpl
    def register_engines(self, register: Any) -> None:
        register(Engine)
        register(Lacking)
        register(Imposter)
        register(Hostile)
        register(type("Loud", (Engine,), {"name": "espeak\x1b[2J" + "x" * 100}))
        for i in range(150):
            register(type(f"Many{i}", (Engine,), {"name": f"many{i}"}))

    @hookimpl
    def register_formats(self, register: Any) -> None:
        register("not a format")

    @hookimpl
    def register_runners(self, register: Any) -> None:
        raise SystemExit("license file missing")  # a sys.exit() in a plugin's hook


@pytest.fixture
def plugin(caplog: pytest.LogCaptureFixture) -> Iterator[Plugin]:
    p = Plugin()
    plugin_manager().register(p, "plug-plugin")
    caplog.set_level(logging.WARNING, "voiceguide.plugins")
    yield p
    plugin_manager().unregister(p)


def test_what_a_plugin_registers_wrongly_is_left_out_with_a_warning(
        plugin: Plugin, caplog: pytest.LogCaptureFixture) -> None:
    from voiceguide.speech.espeak import EspeakEngine

    engines, formats, runners = vg.engines(), vg.formats(), vg.runners()
    assert "plug" in engines and "lacking" not in engines
    assert engines["espeak"] is EspeakEngine  # the built-in keeps its name
    assert sorted(formats) == ["m4a", "m4b", "mp3", "opus", "wav"]
    assert sorted(runners) == ["dask", "local"]
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "Lacking lacks default_voice, version, sample_rate, identity, voices, close" in said
    assert "'espeak' is already the name of a built-in one" in said
    assert "registered str 'not a format' through register_formats, which is left out: " \
           "str 'not a format' lacks suffix, mime, chapters, write" in said
    assert "the register_runners hook of plugin 'plug-plugin' failed (SystemExit: license " \
           "file missing)" in said
    assert "registered Hostile through register_engines, which is left out: RuntimeError: " \
           "boom name" in said
    assert "registered Loud through register_engines, which is left out: its name must " \
           "be" in said
    assert "registered 155 items through register_engines; only the first 100" in said
    assert sum(n.startswith("many") for n in engines) == 95  # the first 100, less 5


@pytest.mark.parametrize(("out", "said"), [
    (np.zeros(8000, dtype=np.float32), "gave float32 samples of shape (8000,); synthesize() "
                                       "must return mono int16 samples"),
    (np.zeros((8000, 2), dtype=np.int16), "gave int16 samples of shape (8000, 2)"),
    (np.zeros(0, dtype=np.int16), "gave no samples"),
    # said where the phrase is written (it named no place: an attack with espeak)
    # and, from a plugin, that its engine may have failed (a plugin review: an all-zero
    # engine's bug was put to the routine's author alone)
    (np.zeros(8000, dtype=np.int16), "<routine>:1:1: steps[0].say: the plug engine gave "
                                     "only silence for 'One two three.'; write it in words "
                                     "the voice can say (if it says other words as badly, "
                                     "the engine from plugin 'plug-plugin' failed"),
    (RuntimeError("vocoder exploded"), "the plug engine from plugin 'plug-plugin' failed to "
                                       "say 'One two three.' (RuntimeError: vocoder exploded)"),
    (SystemExit(0), "the plug engine from plugin 'plug-plugin' failed to say 'One two "
                    "three.' (SystemExit: 0)"),
])
def test_what_a_plugin_engine_gives_back_is_checked_before_it_is_kept(
        plugin: Plugin, tmp_path: Path, out: Any, said: str) -> None:
    Engine.out = out
    routine = vg.load_routine({"title": "Plug", "steps": [{"say": "One two three."}]})
    with pytest.raises(vg.EngineError) as caught:
        vg.build_track(routine, {"engine": "plug", "format": "wav"}, tmp_path)
    assert said in str(caught.value)
    assert caught.value.exit_code == 6
    assert vg.PhraseCache(tmp_path / "cache").info().entries == 0
    assert not list(tmp_path.glob("*.wav"))


def test_a_good_plugin_engine_builds_and_its_clips_are_kept(
        plugin: Plugin, tmp_path: Path) -> None:
    Engine.out = (3000 * np.sin(np.arange(8000) * 0.06)).astype(np.int16)
    routine = vg.load_routine({"title": "Plug", "steps": [{"say": "One two three."}]})
    result = vg.build_track(routine, {"engine": "plug", "format": "wav"}, tmp_path)
    assert result.path.exists() and result.timeline.sample_rate == 16000
    assert vg.PhraseCache(tmp_path / "cache").info().entries > 0


def test_a_long_but_plausible_clip_is_kept_and_found_again(plugin: Plugin,
                                                           tmp_path: Path) -> None:
    """A chanted 'Om.' of 6 s was over the cache's plausibility bound: made again and
    written again at every build, never found (the diff review)."""
    Engine.out = (3000 * np.sin(np.arange(6 * 16000) * 0.06)).astype(np.int16)
    routine = vg.load_routine({"title": "Om", "steps": [{"say": "Om."}]})
    first = vg.build_track(routine, {"engine": "plug", "format": "wav"}, tmp_path / "a")
    again = vg.build_track(routine, {"engine": "plug", "format": "wav"}, tmp_path / "b")
    assert first.stats.synthesized == 1 and again.stats.synthesized == 0


def test_a_voice_at_a_rate_no_format_takes_is_refused_before_any_work(
        plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Engine, "rate", 20000)
    routine = vg.load_routine({"title": "Plug", "steps": [{"say": "One two three."}]})
    with pytest.raises(vg.EngineError, match="speaks at 20000 Hz; an engine's voices must "
                                             "use one of 8000, 11025"):
        vg.build_track(routine, {"engine": "plug"}, tmp_path)


def test_the_readme_plugin_is_a_working_engine_as_written(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### Writing a plugin"):]
    code = re.search(r"```python\n# (\w+)\.py\n(.*?)```", section, re.S)
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    assert code and toml
    project = tomllib.loads(toml.group(1))["project"]
    (entry, module), = project["entry-points"]["voiceguide"].items()
    assert module == code.group(1)
    site = tmp_path / "site"
    install(site, project["name"], project["version"], module, code.group(2))
    routine = tmp_path / "r.yaml"
    routine.write_text("title: Beep\nsteps:\n  - say: One two three four.\n")
    built = cli(site, "build", str(routine), "--engine", entry, "--format", "wav",
                "--out", str(tmp_path / "out"))
    assert built.returncode == 0 and "Warning" not in built.stderr, built.stderr
    assert (tmp_path / "out" / "r.wav").stat().st_size > 22050


def test_everything_a_plugin_is_told_to_import_is_there() -> None:
    import voiceguide.extend as extend

    for name in extend.__all__:
        assert getattr(extend, name) is not None, name


class Queue:
    """A plugin runner that takes settings of its own and more workers than 32."""

    name = "queue"
    keep_going = False
    max_workers = 1000
    made: ClassVar[list[tuple[int, dict[str, str]]]] = []

    def __init__(self, workers: int, options: Any) -> None:
        Queue.made.append((workers, dict(options)))

    def run(self, jobs: Any, events: Any) -> Any:
        from voiceguide.pack.runners import LocalRunner

        return LocalRunner(1, {}).run(jobs, events)


class QueuePlugin:
    @hookimpl
    def register_runners(self, register: Any) -> None:
        register(Queue)


def test_a_plugin_runner_gets_its_own_settings_and_its_own_bound_on_jobs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    p = QueuePlugin()
    plugin_manager().register(p, "queue-plugin")
    try:
        pack = tmp_path / "p.yaml"
        pack.write_text("title: P\ndefaults: {engine: test}\ntracks:\n"
                        "  - {routine: morning-hips}\n")
        argv = ["pack", str(pack), "--out", str(tmp_path / "out"), "--runner", "queue",
                "--jobs", "64", "--runner-option", "queue=fast", "--runner-option", "x=a=b"]
        assert run_cli(argv) == 0, capsys.readouterr().err
        assert Queue.made == [(64, {"queue": "fast", "x": "a=b"})]
        assert run_cli([*argv, "--runner-option", "nokey"]) == 2
        assert "--runner-option 'nokey': write KEY=VALUE" in capsys.readouterr().err
        assert run_cli(["pack", str(pack), "--jobs", "64"]) == 2  # the local runner: 32
    finally:
        plugin_manager().unregister(p)


class Careless:
    """A plugin runner that builds every track but the first, or raises."""

    name = "careless"
    keep_going = False
    fails = False

    def __init__(self, workers: int, options: Any) -> None:
        pass

    def run(self, jobs: Any, events: Any) -> Any:
        from voiceguide.pack.runners import LocalRunner

        if Careless.fails:
            raise RuntimeError("scheduler gone")
        return LocalRunner(1, {}).run(jobs[1:], events)


class CarelessPlugin:
    @hookimpl
    def register_runners(self, register: Any) -> None:
        register(Careless)


def test_a_runner_that_leaves_out_a_track_or_fails_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plugin review: a runner that never reported a track exited 0, the track missing
    from feed and playlist without a word; a runner's RuntimeError was voiceguide's
    "internal error ... report it". The track left out is a failed track, and the
    exception names the plugin."""
    from tests.conftest import run_cli

    p = CarelessPlugin()
    plugin_manager().register(p, "careless-plugin")
    try:
        pack = tmp_path / "p.yaml"
        pack.write_text("title: P\ndefaults: {engine: test, minutes: 4}\ntracks:\n"
                        "  - {routine: morning-hips, name: Ana}\n"
                        "  - {routine: morning-hips, name: Ben}\n")
        argv = ["pack", str(pack), "--out", str(tmp_path / "out"), "--runner", "careless"]
        assert run_cli(argv) == 1
        err = capsys.readouterr().err
        assert "1 of 2 tracks failed" in err and ("the careless runner from plugin "
                                                  "'careless-plugin' returned without "
                                                  "building this track") in err, err
        assert "internal error" not in err
        Careless.fails = True
        assert run_cli(argv) == 1  # Ana is still to build
        err = capsys.readouterr().err
        assert err.startswith("Error: the careless runner from plugin 'careless-plugin' "
                              "failed (RuntimeError: scheduler gone); report it to its "
                              "author"), err
    finally:
        Careless.fails = False
        plugin_manager().unregister(p)


def test_a_format_that_writes_nothing_is_an_error_not_a_track(tmp_path: Path) -> None:
    """A plugin's writer that wrote nothing gave 'Wrote ... (0 kB)', exit 0, and a cue
    sheet vouching for the empty file, up to date from then on (found by an attack)."""
    from voiceguide.extend import Format

    class Nothing:
        @hookimpl
        def register_formats(self, register: Any) -> None:
            register(Format("nope", ".nope", "audio/x-nope", False, lambda *a: None))

    p = Nothing()
    plugin_manager().register(p, "nothing-plugin")
    try:
        routine = vg.load_routine({"title": "T", "steps": [{"say": "One two three."}]})
        with pytest.raises(vg.OutputError, match="the nope format wrote nothing"):
            vg.build_track(routine, {"engine": "test", "format": "nope"}, tmp_path / "out")
        assert not (tmp_path / "out").exists()  # no track, no cue sheet, no empty folder
    finally:
        plugin_manager().unregister(p)



def _first_chunk(f: Any, chunks: Any, sample_rate: int, tags: Any, timeline: Any) -> None:
    import wave

    with wave.open(f, "wb") as w:  # the first chunk, then nothing more
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(next(iter(chunks)).tobytes())


def _garbage(f: Any, *args: Any) -> None:
    f.write(b"not a flac file")


def _bug(f: Any, *args: Any) -> None:
    raise ValueError("flac writer bug")


@pytest.mark.parametrize(("writer", "lossy", "split", "said"), [
    (_first_chunk, False, False, r"wrote \d\.\d\d s of audio for a track of 1\d\d\.\d\d s"),
    (_first_chunk, False, True, r"wrote \d+\.\d\d s of audio for a track of \d+\.\d\d s"),
    (_bug, False, False, r"failed to write the track \(ValueError: flac writer bug\)"),
    # a lossy one is first written for the excerpt its loudness is tried on (a review)
    (_bug, True, False, r"failed to write the track \(ValueError: flac writer bug\)"),
    (_garbage, True, False, r"wrote a file that cannot be played: ffmpeg could not decode"),
])
def test_a_plugin_format_that_writes_a_bad_file_is_named_not_a_track(
        tmp_path: Path, writer: Any, lossy: bool, split: bool, said: str) -> None:
    """A plugin review: a file of the first 10 s of a 4:47 track was "Wrote ..." and "up
    to date" after; a writer's exception was "internal error ... report it" to
    voiceguide; a lossy format's garbage too. Each is now an error naming the plugin,
    and nothing is left. (A lossless format ffmpeg cannot read is warned of: raw
    samples are a format, tests/test_architecture.py.)"""
    from voiceguide.extend import Format

    class Bad:
        @hookimpl
        def register_formats(self, register: Any) -> None:
            register(Format("badflac", ".flac", "audio/flac", True, writer, lossy=lossy))

    p = Bad()
    plugin_manager().register(p, "bad-plugin")
    try:
        routine = vg.load_routine({"title": "T", "steps": [
            {"section": "One", "steps": [{"say": "One two three."}, {"pause": 120}]},
            {"section": "Two", "steps": [{"say": "Four."}, {"pause": 20}]}]})
        with pytest.raises(vg.OutputError, match=r"the badflac format from .*bad-plugin.* "
                           + said + ".*; report it to") as caught:
            vg.build_track(routine, {"engine": "test", "format": "badflac"}, tmp_path / "out",
                           split=split)
        assert caught.value.exit_code == 9
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    finally:
        plugin_manager().unregister(p)


def test_a_lossless_plugin_format_ffmpeg_cannot_read_is_warned_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A plugin review: a lossless writer's garbage was "Wrote ...", without a word. Raw
    samples are a format too, so it is built, with a warning naming the plugin."""
    from voiceguide.extend import Format

    class Garbage:
        @hookimpl
        def register_formats(self, register: Any) -> None:
            register(Format("garbage", ".gbg", "audio/x-gbg", False, _garbage))

    p = Garbage()
    plugin_manager().register(p, "garbage-plugin")
    caplog.set_level(logging.WARNING, "voiceguide")
    try:
        routine = vg.load_routine({"title": "T", "steps": [{"say": "One two three."}]})
        vg.build_track(routine, {"engine": "test", "format": "garbage"}, tmp_path / "out")
        assert "the garbage format from plugin 'garbage-plugin' wrote a file ffmpeg cannot " \
               "read, so its length went unchecked" in caplog.text, caplog.text
    finally:
        plugin_manager().unregister(p)


def _foreground() -> None:
    # a process the suite starts from a worker inherits SIGINT ignored (POSIX): a Ctrl-C
    # reaches an app run in a terminal
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stopped(proc: subprocess.Popen[str], started: Path, sig: int) -> tuple[str, str]:
    """Send ``sig`` to ``proc`` once its engine has begun to hang (``started`` exists);
    what it printed, once it ended (within 20 s)."""
    import time

    deadline = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=20)
    finally:
        proc.kill()


def test_a_plugin_engine_that_hangs_does_not_keep_the_build_from_stopping(
        tmp_path: Path) -> None:
    """A plugin review: an engine whose synthesize never returned ignored SIGTERM and the
    first Ctrl-C (the speech threads were waited for), and the second left the process
    waiting for them at exit: only kill -9 ended it. A stop now ends it at once, as any
    stop does: one line, exit 130, no track."""
    import signal

    site = tmp_path / "site"
    started = tmp_path / "started"
    install(site, "voiceguide-stuck", "1.0", "vg_stuck", HUM.replace(
        "def synthesize(self, text, voice, rate):",
        "def synthesize(self, text, voice, rate):\n"
        f"        open({str(started)!r}, 'a').close()\n"
        "        import time; time.sleep(3600)").replace('"hum', '"stuck'))
    routine = tmp_path / "r.yaml"
    routine.write_text("title: R\nsteps:\n" + "".join(
        f"  - say: Phrase number {n}.\n" for n in range(40)))
    env = {**os.environ, "PYTHONPATH": str(site), "VOICEGUIDE_SPEECH_WORKERS": "2",
           "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", str(routine),
                             "--engine", "stuck", "--out", str(tmp_path / "out")],
                            stderr=subprocess.PIPE, text=True, env=env)
    _, err = _stopped(proc, started, signal.SIGTERM)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Error: interrupted; no partial files were left"
    assert not list((tmp_path / "out").glob("*.mp3"))
    # an app of the library that catches the Ctrl-C ends too (a review: Python waited for
    # the speech threads at its exit, where the command line had ended itself)
    started.unlink()
    app = ("import voiceguide as vg\ntry:\n    vg.build_track(vg.load_routine("
           f"{str(routine)!r}), {{'engine': 'stuck'}}, {str(tmp_path / 'app')!r})\n"
           "except KeyboardInterrupt:\n    print('stopped')\n")
    proc = subprocess.Popen([sys.executable, "-c", app], stdout=subprocess.PIPE, text=True,
                            env=env, preexec_fn=_foreground)
    out, _ = _stopped(proc, started, signal.SIGINT)
    assert proc.returncode == 0 and out == "stopped\n", out


class Unstartable(Engine):
    name = "unstartable"

    def __init__(self) -> None:
        raise RuntimeError("init boom")


class Unlisting(Engine):
    name = "unlisting"

    def voices(self) -> list[vg.VoiceInfo]:
        raise RuntimeError("voices boom")


class BrokenEngines:
    @hookimpl
    def register_engines(self, register: Any) -> None:
        register(Unstartable)
        register(Unlisting)


def test_an_engine_that_cannot_start_or_list_leaves_the_others_listed() -> None:
    """A plugin review: one installed engine whose __init__ raised made `voiceguide
    voices` fail (exit 6) and list nothing, and one whose voices() raised was
    voiceguide's "internal error". Each is a note naming its plugin; the others are
    listed."""
    p = BrokenEngines()
    plugin_manager().register(p, "broken-engines")
    try:
        found, notes = vg.find_voices()
        assert {ev.engine for ev in found} >= {"espeak"}
        assert any(n.startswith("unstartable: ") and "init boom" in n for n in notes), notes
        assert any(n.startswith("unlisting: ") and "plugin 'broken-engines'" in n
                   and "voices boom" in n for n in notes), notes
        with pytest.raises(vg.EngineError, match="voices boom"):
            vg.find_voices("unlisting")
    finally:
        plugin_manager().unregister(p)


def test_a_format_with_a_taken_or_malformed_suffix_is_left_out(
        caplog: pytest.LogCaptureFixture) -> None:
    """A plugin review: a format with the suffix '.mp3' replaced a real MP3 track with its
    own 1-byte file without a word, and one with 'flac2' (no dot) wrote
    'morning-hipsflac2flac2'. Each is left out with a warning naming it."""
    from voiceguide.extend import Format

    class Suffixes:
        @hookimpl(trylast=True)  # listed before the built-ins by pluggy (a review)
        def register_formats(self, register: Any) -> None:
            register(Format("mp3x", ".mp3", "audio/mpeg", False, lambda *a: None))
            register(Format("flac2", "flac2", "audio/flac", False, lambda *a: None))
            register(Format("flac3", ".flac", "audio/flac", False, lambda *a: None))

    p = Suffixes()
    plugin_manager().register(p, "suffix-plugin")
    caplog.set_level(logging.WARNING, "voiceguide.plugins")
    try:
        known = vg.formats()
        assert "mp3x" not in known and "flac2" not in known and "flac3" in known
        assert known["mp3"].suffix == ".mp3"
        said = caplog.text
        assert "'.mp3' is already the suffix of the mp3 format" in said, said
        assert "its suffix must be a dot and 1-10 lower-case letters or digits ('.flac'), " \
               "not 'flac2'" in said, said
    finally:
        plugin_manager().unregister(p)


class Mislabelled(Engine):
    """Says it speaks at 16 kHz and gives its words at twice that length."""

    name = "mislabelled"

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        n = int(2 * 16000 * 60 / rate * len(text.split()))
        return (3000 * np.sin(np.arange(n) * 0.06)).astype(np.int16)


class MislabelledPlugin:
    @hookimpl
    def register_engines(self, register: Any) -> None:
        register(Mislabelled)


def test_a_voice_heard_far_off_the_rate_asked_is_warned_of(tmp_path: Path) -> None:
    """A plugin review: an engine whose samples were twice as long as its sample rate
    said was heard at 75 words per minute for --rate 140, and nothing said so. The
    built-in engines keep within 0.9-1.35 of the rate asked at every rate."""
    p = MislabelledPlugin()
    plugin_manager().register(p, "mislabelled-plugin")
    try:
        steps = [{"say": "Breathe in slowly and let the hips soften a little more."},
                 {"pause": 3}] * 5
        routine = vg.load_routine({"title": "Slow", "steps": steps})
        result = vg.build_track(routine, {"engine": "mislabelled", "format": "wav"},
                                tmp_path / "out", cache=False)
        heard = [w for w in result.plan.warnings if "words per minute at a rate of 140" in w]
        assert len(heard) == 1 and heard[0].startswith("the voice is heard at 70 "), heard
        assert "the mislabelled engine may not keep to the rate" in heard[0]
        fine = vg.build_track(routine, {"engine": "test", "format": "wav"}, tmp_path / "ok",
                              cache=False)
        assert not [w for w in fine.plan.warnings if "heard at" in w]
    finally:
        plugin_manager().unregister(p)
