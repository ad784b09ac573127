"""Interruptions, concurrency, unknown voices and fuzzed routines (issue 7)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ASSETS, ROOT, build, run_cli
from voiceguide import PhraseCache
from voiceguide.errors import ExitCode, VoiceguideError

LONG = ROOT / "routines" / "five-somatic-hip-exercises.yaml"


def _foreground() -> None:
    # Ctrl-C reaches a command run in a terminal; a job a script starts in the background
    # inherits SIGINT ignored (POSIX), and so would these builds when the suite runs so
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "voiceguide", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_foreground)


def writing_into(pid: int, folder: Path) -> bool:
    """True while process ``pid`` holds a file open in ``folder`` (the track being written)."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(str(folder) + "/"):
                return True
    except OSError:
        pass
    return False


def wait_until_writing(proc: subprocess.Popen[bytes], folder: Path, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the build ended before it was interrupted: {proc.stderr.read()!r}")
        if writing_into(proc.pid, folder):
            return
        time.sleep(0.005)
    pytest.fail("the build never started writing")


def wait_for_our_handlers(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until the command's own Ctrl-C and SIGTERM handlers are set (CPython catches
    no SIGTERM: its bit in SigCgt is ours). A signal before then lands in CPython's own
    start-up (importing runpy, site), which no code of ours runs in: a loaded machine took
    longer than a fixed 0.15 s to get there, and a fresh clone's CI saw runpy's traceback."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the command ended before it was interrupted: {proc.stderr.read()!r}")
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            status = ""
        caught = next((int(line.split()[1], 16) for line in status.splitlines()
                       if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)
    pytest.fail("the command never set its signal handlers")


def check_cache(root: Path) -> int:
    """Every entry is a complete WAV, the kept voice list is complete JSON, and nothing
    else lies around (no temporary file); the entry count."""
    voices = list((root / "phrases" / "voices").glob("*.json"))
    for p in voices:
        assert json.loads(p.read_text())[0]["id"]
    stray = [p for p in root.rglob("*") if p.is_file() and p.suffix not in (".wav", ".lock")
             and p not in voices]
    assert not stray, stray
    entries = list((root / "phrases").glob("*/*.wav"))
    for p in entries:
        with wave.open(str(p)) as w:
            assert w.getnframes() > 0 and w.getframerate() == 22050
            assert len(w.readframes(w.getnframes())) == 2 * w.getnframes()
    return len(entries)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_build_keeps_the_previous_track(sig: signal.Signals, tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    out = tmp_path / "out"
    first = spawn(["build", str(LONG), "--out", str(out)], env)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # the same track again, for someone else; interrupted while the MP3 is being written
    proc = spawn(["build", str(LONG), "--out", str(out), "--name", "Ana"], env)
    wait_until_writing(proc, out)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == ExitCode.INTERRUPTED, err
        assert err.strip().splitlines()[-1] == "Error: interrupted; no partial files were left"
        assert "Traceback" not in err
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # byte-identical, and no temporary or partial file
    assert check_cache(tmp_path / "cache") > 30


def test_interrupted_pack_resumes(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "pack"
    journal = out / ".voiceguide-journal.jsonl"  # one line per finished track
    args = ["pack", str(ASSETS / "pack" / "pack.yaml"), "--out", str(out), "--engine", "test"]
    proc = spawn(args, env)
    end = time.monotonic() + 120
    done = 0
    while time.monotonic() < end and proc.poll() is None:
        try:
            done = journal.read_text().count("\n")
        except OSError:
            done = 0
        if done >= 2:
            break
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    done = journal.read_text().count("\n")  # whole lines only: each is one write
    assert 2 <= done < 12
    finish = spawn(args, env)
    stdout, stderr = finish.communicate(timeout=300)
    assert finish.returncode == 0, stderr
    assert re.search(rf"{12 - done} built( \([^)]*\))?, {done} unchanged", stdout.decode())
    assert not journal.exists()  # folded into pack.json
    import json

    assert len(json.loads((out / "pack.json").read_text())["tracks"]) == 12


def test_two_builds_at_once_share_the_cache(tmp_path: Path, env: dict[str, str]) -> None:
    a = spawn(["build", "bedtime-hips", "--out", str(tmp_path / "a")], env)
    b = spawn(["build", "unlock-tight-hips", "--out", str(tmp_path / "b")], env)
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    entries = check_cache(tmp_path / "cache")
    # consistent: building both again synthesises nothing
    for routine, sub in (("bedtime-hips", "a"), ("unlock-tight-hips", "b")):
        again = spawn(["build", routine, "--out", str(tmp_path / sub), "--force"], env)
        stdout, _ = again.communicate(timeout=300)
        assert b"0 synthesised" in stdout
    assert check_cache(tmp_path / "cache") == entries


def test_two_units_named_at_once_leave_one_units_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: two builds to one track name at once (4 runs out of 4) left the track
    and cue sheet of one and the subtitles of the other, each saying "Wrote": their
    files were named in turns. A unit's files are named while the folder is held, and
    a file left as it was is compared then; here B starts naming first, and slower."""
    import threading

    from voiceguide.io import atomic

    commit = atomic._Pending.commit
    pace = {"A": 0.05, "B": 0.12}

    def slow(self: Any) -> None:
        commit(self)
        time.sleep(pace[threading.current_thread().name])

    monkeypatch.setattr(atomic._Pending, "commit", slow)
    names = ("same.mp3", "same.vtt", "same.cues.json")

    def build(who: str) -> None:
        with atomic.atomic_unit():
            for name in names:
                atomic.write_bytes(tmp_path / name, f"{who} {name}".encode())

    threads = [threading.Thread(target=build, args=(w,), name=w) for w in "BA"]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join()
    written = {(tmp_path / n).read_text().split()[0] for n in names}
    assert len(written) == 1, written


def test_a_unit_stopped_while_another_holds_its_folder_leaves_nothing(tmp_path: Path) -> None:
    """A review: a Ctrl-C while a build waited for the folder another build held left its
    temporary files there, where a system has no unnamed files (macOS, Windows: here
    made so by taking O_TMPFILE away)."""
    import fcntl

    app = ("import os, sys\ndel os.O_TMPFILE\nfrom pathlib import Path\n"
           "from voiceguide.io.atomic import atomic_unit, write_bytes\n"
           "out = Path(sys.argv[1])\nwith atomic_unit():\n"
           "    write_bytes(out / 't.mp3', b'track')\n"
           "    write_bytes(out / 't.cues.json', b'{}')\n"
           "    (out / 'written').touch()\n")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another build naming its files
        proc = subprocess.Popen([sys.executable, "-c", app, str(tmp_path)],
                                stderr=subprocess.PIPE, text=True, preexec_fn=_foreground)
        deadline = time.monotonic() + 60
        while not (tmp_path / "written").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # waiting for the folder now
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        os.close(fd)
    assert proc.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["written"]


def test_unknown_voice_is_detected_with_suggestions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["build", str(ASSETS / "pack" / "reach.yaml"), "--voice", "en-uss",
                    "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == ExitCode.VOICE
    assert err.startswith("Error: unknown voice 'en-uss' for the espeak engine (did you mean")
    assert "en-us" in err and "voiceguide voices" in err
    assert not any(tmp_path.glob("*.mp3"))


def test_names_never_escape_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    code = run_cli(["build", str(ASSETS / "pack" / "reach.yaml"), "--engine", "test",
                    "--out", str(out), "--track-name", "../../../etc/passwd\x07"])
    assert code == 2 and not out.exists()  # refused: a file's name, not a path
    code = run_cli(["build", str(ASSETS / "pack" / "reach.yaml"), "--engine", "test",
                    "--out", str(out), "--track-name", "~etc passwd\x07"])
    assert code == 0
    assert [p.name for p in out.glob("*.mp3")] == ["etc-passwd.mp3"]
    pack = tmp_path / "p.yaml"
    pack.write_text("title: T\noutput: '../{name}/../../x-{n}'\ntracks:\n"
                    "  - {routine: reach.yaml, name: '/etc/x'}\n")
    shutil.copy(ASSETS / "pack" / "reach.yaml", tmp_path)
    assert run_cli(["pack", str(pack), "--engine", "test", "--out", str(out)]) == 0
    assert (out / "etc-x-x-1.mp3").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "deep", "p.yaml",
                                                             "reach.yaml"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]


# ----------------------------------------------------------------- fuzzing

KEYS = ["say", "pause", "rest", "hold", "breathe", "repeat", "sides", "chime", "section",
        "exercise", "seconds", "min", "max", "in", "out", "cycles", "count", "phases", "steps",
        "switch", "release", "cues", "halfway", "remaining", "title", "params", "level",
        "optional", "breath", "each", "first", "countdown", "tempo", "min_cycles"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
        ["left", "beginner", "bowl", "$reps", "{{ name }}", "{{ side }} {{ rep }}",
         "{{ ''.__class__ }}", "{% for i in range(99999999) %}x{% endfor %}", "{{ x",
         "Breathe in.", "side-bend", ""]),
    st.text(max_size=12),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
                      max_leaves=12)
nice_steps = st.one_of(
    st.builds(lambda t: {"say": t}, st.sampled_from(
        ["Hello {{ name }}.", "Rest.", "Go on.", "{{ ''.__class__.__mro__ }}",
         "{{ range(10**9) | list }}", "{% include '/etc/passwd' %}", "{{ nope }}",
         "{{ 'x' * 10**8 }}", "Lie down, {{ name | upper }}."])),
    st.builds(lambda s: {"pause": s}, st.floats(0.1, 20)),
    st.builds(lambda s, lo: {"hold": {"seconds": s, "min": min(s, lo), "max": s + lo,
                                      "say": "Hold.", "release": "Release."}},
              st.floats(1, 60), st.floats(1, 30)),
    st.builds(lambda c: {"breathe": {"in": 4, "out": 6, "cycles": c}}, st.integers(1, 4)),
    st.builds(lambda c: {"exercise": "side-bend", "params": {"reps": c}}, st.integers(-2, 8)),
)
docs = st.fixed_dictionaries(
    {"title": st.one_of(st.just("Fuzz"), scalars),
     "steps": st.lists(st.one_of(nice_steps, st.dictionaries(st.sampled_from(KEYS), values,
                                                             min_size=1, max_size=2), values),
                       max_size=5)},
    optional={"length": values, "bed": values, "params": values, "phrases": values,
              "level": values, "exercises": values},
)


valid_docs = st.fixed_dictionaries(
    {"title": st.just("Fuzz"), "steps": st.lists(nice_steps, min_size=1, max_size=5)})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(docs, valid_docs), minutes=st.one_of(st.none(), st.floats(0.5, 3)))
def test_fuzzed_routines_only_raise_documented_errors(
    tmp_path: Path, doc: dict[str, object], minutes: float | None
) -> None:
    from voiceguide.speech.testtone import ToneEngine

    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        result = build(path, tmp_path / "out", engine_obj=ToneEngine(), cache=False,
                       minutes=minutes, format="wav", engine="test")
    except VoiceguideError as exc:
        assert str(exc).strip(), "an error needs a message"
        # a routine can only be wrong as input, as a template or as a schedule
        assert exc.exit_code in (ExitCode.INVALID_INPUT, ExitCode.TEMPLATE,
                                 ExitCode.SCHEDULE), (exc.exit_code, str(exc))
        return
    assert result.path.is_file() and result.duration > 0


def test_cache_survives_a_damaged_entry(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path / "c")
    import numpy as np

    cache.put("ab" * 32, np.arange(1000, dtype=np.int16), 22050)
    path = next((tmp_path / "c" / "phrases").glob("*/*.wav"))
    path.write_bytes(path.read_bytes()[:500])  # truncated by some outside accident
    assert cache.get("ab" * 32, 22050) is None  # a miss, not a crash


@pytest.mark.parametrize(("files", "membership", "cpus"), [
    # cgroup v2: a pod limited to 1.5 CPUs gets 2 encoder threads, "max" is no limit
    ({"kubepods/pod1/cpu.max": "150000 100000\n"}, "0::/kubepods/pod1\n", 2),
    ({"kubepods/pod1/cpu.max": "max 100000\n"}, "0::/kubepods/pod1\n", None),
    ({"cpu.max": "100000 100000\n"}, "0::/\n", 1),
    # cgroup v1: the cpu controller's CFS quota (-1: none)
    ({"cpu,cpuacct/cpu.cfs_quota_us": "200000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
     "4:cpu,cpuacct:/\n", 2),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", None),
    # a group with no limit of its own inside one that has a limit
    ({"kubepods/pod1/app/cpu.max": "max 100000\n", "kubepods/pod1/cpu.max": "200000 100000\n"},
     "0::/kubepods/pod1/app\n", 2),
    # damaged or missing: no limit read, nothing raised
    ({"kubepods/pod1/cpu.max": "lots 0\n"}, "0::/kubepods/pod1\n", None),
    ({"kubepods/pod1/cpu.max": "\u00b2 1\n"}, "0::/kubepods/pod1\n", None),
    ({}, "", None),
])
def test_a_containers_cpu_quota_bounds_the_threads(tmp_path: Path, files: dict[str, str],
                                                   membership: str, cpus: int | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A container limited to fewer CPUs than its host shows starts no more encoder
    threads and speech workers than its quota lets run."""
    from voiceguide.export.segmented import ENV_THREADS, encode_threads
    from voiceguide.io import machine

    monkeypatch.delenv(ENV_THREADS, raising=False)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "membership").write_text(membership)
    found = machine.cgroup_cpus(tmp_path, tmp_path / "membership")
    assert found == cpus
    monkeypatch.setattr(machine, "_own_cgroup_cpus", lambda: found)
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda _: set(range(64)),
                        raising=False)
    assert encode_threads() == (cpus or 64)


@pytest.mark.parametrize(("mounts", "env", "in_memory"), [
    ("/dev/vda / ext4 rw 0 0\ntmpfs /x/tmp tmpfs rw 0 0\n", {}, True),
    ("/dev/vda / ext4 rw 0 0\n", {}, False),
    # the deepest mount holding the folder decides
    ("tmpfs /x tmpfs rw 0 0\n/dev/vdb /x/tmp ext4 rw 0 0\n", {}, False),
    ("/dev/vdb /x ext4 rw 0 0\nramfs /x/tmp ramfs rw 0 0\n", {}, True),
    # a temporary folder somebody chose is kept
    ("tmpfs /x/tmp tmpfs rw 0 0\n", {"TMPDIR": "/x/tmp"}, False),
    ("not a mounts table", {}, False),
])
def test_scratch_stays_out_of_a_temp_folder_held_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: str, env: dict[str, str],
        in_memory: bool) -> None:
    import tempfile

    from voiceguide.io import machine

    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(tempfile, "tempdir", "/x/tmp")
    (tmp_path / "mounts").write_text(mounts)
    assert machine.temp_in_memory(tmp_path / "mounts") is in_memory


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_builds_scratch_files_go_beside_the_track_when_tmp_is_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool) -> None:
    """Where /tmp is a tmpfs (Debian 13, Fedora), the mix kept for a re-encode and the
    encoded segments would be memory that no RSS figure shows: they go to the output
    folder instead (as files with no name, gone when closed)."""
    import tempfile

    import voiceguide as vg
    from voiceguide.io import machine

    made: list[str | None] = []
    real = tempfile.TemporaryFile

    def recording(*args: object, dir: str | Path | None = None, **kw: object) -> object:
        if sys._getframe(1).f_code.co_name == "scratch_file":  # not ffmpeg's stderr
            made.append(None if dir is None else str(dir))
        return real(*args, dir=dir, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(machine, "temp_in_memory", lambda: in_memory)
    monkeypatch.setattr(machine.tempfile, "TemporaryFile", recording)
    out = tmp_path / "out"
    routine = {"title": "Scratch", "steps": [{"say": "Hello."}, {"pause": {"seconds": 30}},
                                              {"say": "Back."}]}
    vg.build_track(vg.load_routine(routine), vg.TrackSettings(engine="test"), out)
    assert len(made) >= 2  # the mix kept for a second encode, the encoded segments
    assert made == [str(out) if in_memory else None] * len(made)
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".lrc", ".mp3", ".vtt"]


def test_ctrl_c_at_any_moment_says_one_line_and_no_traceback(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    """Ctrl-C during the first imports printed a 30-line traceback, SIGTERM then exited
    143 without a word, and a second Ctrl-C while the first was being reported printed a
    traceback too (found by a robustness attack)."""
    out = tmp_path / "out"
    # from the moment the command's handlers are set: during its first imports (the CLI
    # framework, the models, the audio stack), then while it writes
    for delay, signals in ((0.0, [signal.SIGINT]), (0.1, [signal.SIGTERM]),
                           (0.25, [signal.SIGINT]), (None, [signal.SIGINT, signal.SIGINT])):
        proc = spawn(["build", "morning-hips", "--minutes", "5", "--out", str(out), "--force"],
                     env)
        if delay is None:
            wait_until_writing(proc, out)
        else:
            wait_for_our_handlers(proc)
            time.sleep(delay)
        for s in signals:
            proc.send_signal(s)
            time.sleep(0.02)
        code = proc.wait(timeout=60)
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in err, (delay, err)
        assert code == ExitCode.INTERRUPTED, (delay, code, err)
        assert err.strip().splitlines() == \
            ["Error: interrupted; no partial files were left"], (delay, err)
        assert not [p for p in out.iterdir() if p.name.startswith(".")] if out.exists() else True


def test_ctrl_c_inside_a_finaliser_still_stops_the_run(env: dict[str, str]) -> None:
    """Python cannot raise out of a ``__del__`` (or a weakref callback): a Ctrl-C that
    lands in one was printed as "Exception ignored" with a traceback, and the build went
    on and exited 0 (1 of 25 Ctrl-Cs at random moments, found by a robustness attack)."""
    code = ("import os, signal, sys, time\n"
            "from voiceguide.cli import catch_stops\n"
            "catch_stops()\n"
            "class Held:\n"
            "    def __del__(self):\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "        time.sleep(1)  # the handler runs here, inside the finaliser\n"
            "try:\n"
            "    Held()\n"
            "    time.sleep(3)\n"
            "    print('went on')\n"
            "except KeyboardInterrupt:\n"
            "    print('stopped')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert proc.stdout.strip() == "stopped", proc
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc
