"""Untrusted input is bounded before work is spent on it (issue 12): template bombs,
oversized routines, special files, long beds, a damaged or stuck phrase cache, terminal
escapes. Memory is measured in a child process with wait4 (peak RSS, ru_maxrss)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, run_cli
from voiceguide.errors import ExitCode, TemplateError
from voiceguide.io.bounded import JSON_DEPTH, parse_json

RSS_LIMIT_MB = 500
"""Peak memory a refused input may cost, the interpreter and numpy included."""
FAIL_FAST_S = 10
"""A refused input fails well within this (the interpreter starts in about a second)."""
SHORT = {"title": "Short", "steps": [{"say": "Hello there."}, {"pause": 2},
                                     {"say": "And goodbye."}]}


@dataclass
class Measured:
    code: int
    seconds: float
    peak_mb: float
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error:")]


_LAUNCH = """
import json, os, subprocess, sys, time
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                        stderr=open(sys.argv[1], "wb"))
start, timeout = time.monotonic(), float(os.environ["MEASURE_TIMEOUT"])
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - start > timeout:
        proc.kill()
        pid, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.02)
print(json.dumps([os.waitstatus_to_exitcode(status), time.monotonic() - start,
                  usage.ru_maxrss / 1024]))
"""


def measured(args: list[str], tmp_path: Path, timeout: float = 120,
             env: dict[str, str] | None = None) -> Measured:
    """Run ``voiceguide ARGS`` in a child; its exit code, wall time and peak RSS (wait4).

    The child is started by a small launcher process: a child forked straight from this
    (large) test process would report this process's size as its peak."""
    err_path = tmp_path / f"stderr-{time.monotonic_ns()}"
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), "MEASURE_TIMEOUT": str(timeout),
                 **(env or {})}
    out = subprocess.run([sys.executable, "-c", _LAUNCH, str(err_path), sys.executable, "-m",
                          "voiceguide", *args], env=child_env, capture_output=True,
                         check=True, text=True)
    code, seconds, peak_mb = json.loads(out.stdout)
    return Measured(code, seconds, peak_mb, err_path.read_text(errors="replace"))


def write_routine(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


BOMBS = {
    "join": "{% set a = 'x' * 5000 %}{% set b = [a] * 1000 %}{% set c = b | join %}"
            "{{ ([c] * 1000) | join }}",
    "concat": "{% set a = 'x' * 5000 %}" + "{% set a = a ~ a %}" * 30 + "{{ a }}",
    "plus": "{% set a = 'x' * 5000 %}" + "{% set a = a + a %}" * 30 + "{{ a }}",
    "percent": "{{ '%0999999999d' % 1 }}",
    # str.format made its 3 GB before the sandbox measured the result (an attack)
    "format-width": "{{ '{:>2999999999}'.format(1) }}",
    "format-nested": "{{ '{0:{1}}'.format(1, 999999999) }}",
    "format-map": "{{ '{n:>999999999}'.format_map({'n': 1}) }}",
    "list": "{% set l = [1] * 1000 %}" + "{% set l = l + l %}" * 30 + "{{ l | length }}",
    "nested-loops": "{% for a in 'x' * 9000 %}{% for b in 'x' * 9000 %}{{ b }}{% endfor %}"
                    "{% endfor %}",
    "block": "{% set x %}{% for i in range(1000) %}{{ 'y' * 9000 }}{% endfor %}{% endset %}"
             "{{ x | length }}",
    "power": "{{ (10 ** 64) ** 64 ** 64 }}",
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_template_bomb_fails_fast_in_little_memory(name: str, tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "bomb.yaml", {
        "title": "Bomb", "steps": [{"say": "Welcome."}, {"say": BOMBS[name]}]})
    run = measured(["build", str(routine), "--engine", "test", "--out", str(tmp_path / "o")],
                   tmp_path)
    assert run.code == ExitCode.TEMPLATE, run.stderr
    assert len(run.errors) == 1, run.stderr
    assert f"{routine}:4:" in run.errors[0] and "steps[1].say" in run.errors[0]
    assert "refused by the sandbox" in run.errors[0]
    assert run.seconds < FAIL_FAST_S and run.peak_mb < RSS_LIMIT_MB, run
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_the_time_limit_holds_in_a_worker_thread_despite_a_gc_callback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguide.script import sandbox
    from voiceguide.script.templates import Narrator

    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.05)
    slow = ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(30) }}")
    caught: list[BaseException] = []

    def swallow(phase: str, info: dict[str, Any]) -> None:
        with contextlib.suppress(BaseException):  # what a careless callback does
            time.sleep(0)

    def work() -> None:
        try:
            Narrator({}).render(slow, {}, "k", lambda: "here")
        except TemplateError as exc:
            caught.append(exc)

    gc.callbacks.append(swallow)
    threshold = gc.get_threshold()
    gc.set_threshold(5)
    try:
        worker = threading.Thread(target=work)
        start = time.monotonic()
        worker.start()
        worker.join(30)
        elapsed = time.monotonic() - start
    finally:
        gc.callbacks.remove(swallow)
        gc.set_threshold(*threshold)
    assert caught and "took longer than 0.05 s" in str(caught[0])
    assert elapsed < 5  # stopped by the limit, not by the operation count


def test_the_time_limit_counts_a_renders_own_work_not_its_wait_for_other_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An app team's review: a routine that rendered alone failed with three builds in
    threads side by side, its wall-clock budget spent waiting for the others. Twelve
    threads each render a template that takes a fifth of the limit alone; together they
    take longer than the limit by the clock, and every one renders."""
    from voiceguide.script import sandbox
    from voiceguide.script.templates import Narrator

    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.5)
    busy = ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(13) }}")
    failed: list[BaseException] = []
    walls: list[float] = []
    together = threading.Barrier(12)

    def work() -> None:
        together.wait(60)
        start = time.monotonic()
        try:
            Narrator({}).render(busy, {}, "k", lambda: "here")
        except TemplateError as exc:
            failed.append(exc)
        walls.append(time.monotonic() - start)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert max(walls) > 0.5, walls  # the clock ran past the limit while they waited
    assert failed == []


def test_a_routine_that_expands_too_far_fails_before_any_synthesis(tmp_path: Path) -> None:
    steps = [{"say": "Line " + "".join(chr(97 + int(d)) for d in str(i)) + "."}  # 1.2 s
             for i in range(5001)]  # each, not the 4 s of "Line number four thousand ..."
    routine = write_routine(tmp_path / "long.yaml", {"title": "Long", "steps": steps})
    cache = tmp_path / "cache"
    run = measured(["build", str(routine), "--engine", "test", "--out", str(tmp_path / "o")],
                   tmp_path, env={"VOICEGUIDE_CACHE_DIR": str(cache)})
    assert run.code == ExitCode.INVALID_INPUT, run.stderr
    assert len(run.errors) == 1 and "more than 5000 phrases" in run.errors[0], run.stderr
    assert f"{routine}:" in run.errors[0] and "steps[5000]" in run.errors[0]
    assert not list(cache.rglob("*.wav"))  # nothing was synthesised
    assert run.peak_mb < RSS_LIMIT_MB, run


def test_exercises_that_each_include_the_next_twice_fail_at_the_step_bound(
        tmp_path: Path) -> None:
    """21 files of 60 bytes that double at every level (2**20 pauses, or 2**39 with a bad
    leaf) hung validate, script and build past 120 s and 660 MB: no phrase, character
    or length bound saw them. They now fail at the bound on steps."""
    (tmp_path / "exercises").mkdir()
    for i in range(39):
        write_routine(tmp_path / "exercises" / f"e{i}.yaml", {
            "title": f"E{i}", "steps": [{"exercise": f"e{i + 1}"}] * 2})
    write_routine(tmp_path / "exercises" / "e39.yaml", {"title": "E39",
                                                        "steps": [{"pause": 0.001}]})
    routine = write_routine(tmp_path / "bomb.yaml", {"title": "Bomb", "steps": [
        {"say": "Hello."}, {"exercise": "e0"}]})
    for argv in (["validate", str(routine)], ["build", str(routine), "--engine", "test",
                                               "--out", str(tmp_path / "o")]):
        run = measured(argv, tmp_path)
        assert run.code == ExitCode.INVALID_INPUT, run.stderr
        assert len(run.errors) == 1 and "more than 20000 steps" in run.errors[0], run.stderr
        assert run.peak_mb < RSS_LIMIT_MB, run
    assert not (tmp_path / "o").exists()


def test_a_bed_of_samples_that_are_not_numbers_is_refused(tmp_path: Path) -> None:
    """An all-NaN float WAV was taken as a full-scale constant: the track got a DC
    offset (found by the attack)."""
    import struct

    from voiceguide.errors import AudioInputError
    from voiceguide.mix.bedfile import load_bed_file

    data = np.full(22050 * 4, np.nan, dtype="<f4").tobytes()
    bed = tmp_path / "nan.wav"
    bed.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
                    + struct.pack("<IHHIIHH", 16, 3, 1, 22050, 22050 * 4, 4, 32)
                    + b"data" + struct.pack("<I", len(data)) + data)
    with pytest.raises(AudioInputError, match="mostly a constant level, not sound"):
        load_bed_file(bed, 22050, 10.0)


def test_a_bed_at_one_sample_a_second_is_decoded_in_bounded_memory(tmp_path: Path) -> None:
    """An attack: an 8 kB WAV at 1 Hz made ffmpeg take 1.6 GB to decode a 15-minute bed
    (its frames were grouped before they were resampled: one was 65536 s of audio)."""
    import wave

    bed = tmp_path / "sr1.wav"
    with wave.open(str(bed), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(1)
        w.writeframes((np.random.default_rng(1).standard_normal(4000) * 3000
                       ).astype("<i2").tobytes())
    code = ("import resource, sys; from pathlib import Path; "
            "from voiceguide.mix.bedfile import _decode; "
            "n = _decode(Path(sys.argv[1]), 22050, 930).size; "
            "print(n, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(bed)], capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    assert int(out[0]) == 930 * 22050  # the bed's length, decoded
    assert int(out[1]) < 150, out  # ffmpeg's peak RSS in MB


def test_a_bed_named_like_an_ffmpeg_protocol_is_the_file_that_was_checked(
        tmp_path: Path) -> None:
    """`--bed file:/x/y.wav` was checked as ./file:/x/y.wav (a small WAV) and decoded by
    ffmpeg as the protocol file: with /x/y.wav, another file: a FIFO hung the build,
    any sound on the machine could be mixed into a published track."""
    here = tmp_path / "here"
    target = tmp_path / "elsewhere" / "x.wav"
    target.parent.mkdir()
    os.mkfifo(target)  # opening it would wait for a writer for ever
    decoy = here / f"file:{target}"
    decoy.parent.mkdir(parents=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=5", str(decoy)], check=True)
    run = subprocess.run([sys.executable, "-m", "voiceguide", "build", "morning-hips",
                          "--engine", "test", "--bed", f"file:{target}", "-o",
                          str(tmp_path / "o"), "--json"], cwd=here, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr  # built from the file checked, not the FIFO
    assert json.loads(run.stdout)["duration"] > 60


def test_hours_of_holds_fail_before_any_synthesis(tmp_path: Path) -> None:
    steps = [{"say": "Hold it."}, *[{"pause": 600} for _ in range(30)]]  # five hours
    routine = write_routine(tmp_path / "hours.yaml", {"title": "Hours", "steps": steps})
    cache = tmp_path / "cache"
    code = run_cli(["build", str(routine), "--engine", "test", "--out", str(tmp_path / "o")])
    assert code == ExitCode.INVALID_INPUT
    assert not list(cache.rglob("*.wav"))


def test_hours_of_spoken_digits_fail_before_any_synthesis(tmp_path: Path) -> None:
    """An attack: 600 steps of five 9-digit numbers each (37 kB), each phrase 5 "words",
    had 339 minutes of speech synthesised (960 MB) before the length was refused; a voice
    says every digit in words, and a letter string is spelt out. So are 990 'ǈ' (a
    letter in a compatibility form, said by its name: five minutes a phrase)."""
    for said, count in (
            ("777700{i:03d};777700{i:03d};777700{i:03d};777700{i:03d};777700{i:03d}", 600),
            ("{i}" + "x" * 700, 600), ("Step {i} " + "\u01c8" * 990, 210)):
        steps = [{"say": said.format(i=i)} for i in range(count)]
        routine = write_routine(tmp_path / "digits.yaml", {"title": "Digits", "steps": steps})
        cache = tmp_path / "cache"
        run = measured(["build", str(routine), "--out", str(tmp_path / "o")], tmp_path,
                       env={"VOICEGUIDE_CACHE_DIR": str(cache)})
        assert run.code == ExitCode.INVALID_INPUT, run.stderr
        assert len(run.errors) == 1 and "expands to more than 4 hours" in run.errors[0], run
        assert not list(cache.rglob("*.wav"))  # nothing was synthesised


def test_speech_past_the_hours_a_track_may_hold_stops_the_synthesis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: 990 letters espeak spells one by one ('ǈ'), estimated at a minute a
    phrase, each took five: 17 hours (3 GB) were synthesised before the track's length
    was refused. What the voice gave is counted as it comes, whatever the estimate, and
    synthesis stops once it is past the bound (here 72 s, for a test engine's speech)."""
    import voiceguide as vg
    from voiceguide.speech import bank
    from voiceguide.speech.testtone import ToneEngine

    monkeypatch.setattr(bank, "MAX_SCRIPT_HOURS", 0.02)
    engine = ToneEngine()
    steps = [{"say": f"Step {i} " + "la " * 100} for i in range(10)]  # 18 s each
    routine = vg.load_routine({"title": "Long", "steps": steps})
    with pytest.raises(vg.InvalidInputError, match=r"the routine's phrases last more than "
                       r"0\.02 hours of speech \(reached at 'Step \d la la"):
        vg.build_track(routine, {"engine": "test"}, tmp_path / "out", engine=engine,
                       cache=False)
    assert engine.calls <= 6  # not all ten: 72 s is past after four or five
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_a_special_file_as_routine_fails_at_once(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "routine.yaml"
        os.mkfifo(path)  # nobody ever writes: reading it would wait for ever
    else:
        path = Path("/dev/zero")  # reading it would grow memory for ever
    run = measured(["build", str(path), "--engine", "test", "--out", str(tmp_path / "o")],
                   tmp_path, timeout=60)
    assert run.code == ExitCode.INVALID_INPUT, run.stderr
    assert len(run.errors) == 1, run.stderr
    assert f"{path}: is a {'FIFO (named pipe)' if kind == 'fifo' else 'device'}, not a " \
           "routine file" in run.errors[0]
    assert run.seconds < FAIL_FAST_S and run.peak_mb < RSS_LIMIT_MB, run


def test_a_fifo_manifest_counts_as_no_manifest(tmp_path: Path) -> None:
    from voiceguide.pack.manifest import MANIFEST, read_entries

    os.mkfifo(tmp_path / MANIFEST)
    warnings: list[str] = []
    assert read_entries(tmp_path, warnings) == []  # returns at once, nothing read


def test_a_fifo_journal_is_neither_read_nor_written(tmp_path: Path) -> None:
    """A FIFO in place of the pack's journal hung `pack` for ever on reading it."""
    from voiceguide.errors import OutputError
    from voiceguide.pack.manifest import JOURNAL, Journal, destination, read_entries

    os.mkfifo(tmp_path / JOURNAL)
    warnings: list[str] = []
    assert read_entries(tmp_path, warnings) == []  # returns at once
    assert any("not a regular file" in w for w in warnings), warnings
    with pytest.raises(OutputError, match="not a regular file; remove it"):
        Journal(destination(tmp_path)).append({"n": 1})


@pytest.fixture(scope="module")
def two_hour_opus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~4 MB Opus file that decodes to two hours (a minute of noise, copied 120 times)."""
    folder = tmp_path_factory.mktemp("bed")
    minute, long = folder / "minute.opus", folder / "two-hours.opus"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i",
                    "anoisesrc=d=60:c=pink:a=0.2:r=48000", "-ac", "1", "-c:a", "libopus",
                    "-b:a", "6k", str(minute)], check=True)
    subprocess.run([ffmpeg, "-v", "error", "-stream_loop", "119", "-i", str(minute),
                    "-c", "copy", str(long)], check=True)
    return long


def test_a_long_bed_is_decoded_only_as_far_as_the_track_needs(two_hour_opus: Path,
                                                             tmp_path: Path) -> None:
    from voiceguide.mix.bedfile import load_bed_file

    assert two_hour_opus.stat().st_size < 6 * 2**20
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(two_hour_opus)],
                           capture_output=True, text=True).stderr
    assert "Duration: 01:59" in probe or "Duration: 02:00" in probe, probe
    loop = load_bed_file(two_hour_opus, 22050, seconds=20.0)
    assert 20 * 22050 <= loop.size <= 23 * 22050
    routine = write_routine(tmp_path / "short.yaml", SHORT)
    run = measured(["build", str(routine), "--engine", "test", "--bed", str(two_hour_opus),
                    "--out", str(tmp_path / "o")], tmp_path)
    assert run.code == 0, run.stderr
    assert run.peak_mb < RSS_LIMIT_MB, run


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "phrases").glob("*/*.wav"))


def test_a_flipped_or_swapped_cache_entry_is_made_again(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "short.yaml", SHORT)
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    track = out / "short.mp3"
    first = track.read_bytes()
    entries = _entries(cache)
    assert len(entries) >= 2
    a, b = entries[0], entries[1]
    blob_a, blob_b = a.read_bytes(), b.read_bytes()
    flipped = bytearray(blob_a)
    flipped[60] ^= 0x40  # one bit of one sample
    a.write_bytes(bytes(flipped))
    b.write_bytes(blob_a)  # another phrase's (valid) entry in b's place
    track.unlink()
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    assert track.read_bytes() == first
    assert a.read_bytes() == blob_a and b.read_bytes() == blob_b  # both made again


def _forged_entries_are_made_again(tmp_path: Path, clip: Callable[[int], np.ndarray]) -> None:
    """Build, re-sign every cache entry with ``clip(sample_rate)`` (a valid checksum),
    build again: the track is the same bytes, every phrase made again."""
    import struct

    from voiceguide.speech.cache import encode_entry

    routine = write_routine(tmp_path / "short.yaml", SHORT)
    out = tmp_path / "out"
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    first = (out / "short.mp3").read_bytes()
    for entry in _entries(tmp_path / "cache"):
        rate = struct.unpack("<I", entry.read_bytes()[24:28])[0]
        entry.write_bytes(encode_entry(entry.stem, clip(rate), rate))
    (out / "short.mp3").unlink()
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    assert (out / "short.mp3").read_bytes() == first  # every phrase made again


def test_a_cache_entry_far_longer_than_its_words_is_made_again_unread(
        tmp_path: Path) -> None:
    """Anyone who can write the cache could put a 30 s tone (or 55 MB) under a two-word
    phrase's key, with a valid checksum: it was played, and forty of them were all read
    into memory (2.7 GB) before the length check (found by the attack)."""
    _forged_entries_are_made_again(tmp_path, lambda rate: (
        np.sign(np.sin(np.arange(300 * rate) * 0.1)) * 32767).astype(np.int16))


@pytest.mark.parametrize("samples", [0, 1, 400])
def test_a_cache_entry_too_short_to_be_a_phrase_is_made_again(tmp_path: Path,
                                                               samples: int) -> None:
    """An attack re-signed entries with an empty clip (the phrase vanished, unsaid, and
    the build reported 0 words per minute) or one sample (2,646,000 words per minute)."""
    _forged_entries_are_made_again(tmp_path, lambda rate: np.full(samples, 9000, np.int16))


def test_cache_clear_leaves_the_lock_a_build_holds(tmp_path: Path) -> None:
    """'cache clear' removed the lock files too: a build holding one kept its lock on a
    file gone, and the next build locked a new one of that name (both made the phrase;
    a code review)."""
    from voiceguide.speech.cache import PhraseCache

    cache = PhraseCache(tmp_path)
    with cache.lock("ab" * 32, "Hello."):
        held = list((tmp_path / "locks").iterdir())
        cache.clear()
        assert held and all(p.exists() for p in held)


def test_cache_clear_counts_what_it_removed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'Removed 1 cached phrases' (a new user's review): one phrase is one."""
    routine = write_routine(tmp_path / "short.yaml", SHORT)
    for count, said in ((2, "Removed 2 cached phrases"), (1, "Removed 1 cached phrase")):
        one = {**SHORT, "steps": SHORT["steps"][:1]} if count == 1 else SHORT
        write_routine(routine, one)
        assert run_cli(["build", str(routine), "--engine", "test", "--out",
                        str(tmp_path / f"o{count}")]) == 0
        capsys.readouterr()
        assert run_cli(["cache", "clear"]) == 0
        assert capsys.readouterr().out.strip() == said


def test_cache_clear_never_claims_what_it_could_not_remove(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """With read-only buckets, 'cache clear' said 'Removed 2 cached phrases' and left
    both; on a folder it may not read, 'cache info' was an internal error (the attack,
    without root's permission override)."""
    import shutil

    from voiceguide.speech import cache as cache_module

    routine = write_routine(tmp_path / "short.yaml", SHORT)
    assert run_cli(["build", str(routine), "--engine", "test", "--out",
                    str(tmp_path / "o")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(cache_module.shutil, "rmtree", lambda *a, **k: None)  # as if 555
    assert run_cli(["cache", "clear"]) == 9
    err = capsys.readouterr().err
    assert "2 cached phrases are there still (of 2): a build running now" in err, err
    assert "Removed" not in err
    monkeypatch.setattr(cache_module.shutil, "rmtree", shutil.rmtree)

    def unreadable(path: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache_module.os, "scandir", unreadable)
    assert run_cli(["cache", "info"]) == 0


def test_a_fifo_in_the_cache_is_skipped_not_opened(tmp_path: Path) -> None:
    from voiceguide import PhraseCache

    cache = PhraseCache(tmp_path / "c")
    key = "cd" * 32
    cache._path(key).parent.mkdir(parents=True)
    os.mkfifo(cache._path(key))
    done: list[object] = []
    reader = threading.Thread(target=lambda: done.append(cache.get(key, 22050)), daemon=True)
    reader.start()
    reader.join(5)
    assert done == [None]  # a miss at once (opening the FIFO would block)
    assert cache.info().entries == 0
    cache.put(key, np.arange(1000, dtype=np.int16), 22050)
    got = cache.get(key, 22050)
    assert got is not None and got.tolist() == list(range(1000))


def test_the_cache_keeps_to_its_size_limit_least_recently_used_first(tmp_path: Path) -> None:
    from voiceguide import PhraseCache

    clip = np.zeros(22050, dtype=np.int16)  # ~44 kB an entry
    cache = PhraseCache(tmp_path / "c", max_bytes=10 * 44_200)
    keys = [f"{i:02x}" * 32 for i in range(8)]
    for i, key in enumerate(keys):
        cache.put(key, clip, 22050)
        os.utime(cache._path(key), (1000 + i, 1000 + i))  # put long ago, in order
    assert cache.get(keys[0], 22050) is not None  # the oldest is used again: now recent
    for i in range(8, 12):
        cache.put(f"{i:02x}" * 32, clip, 22050)
        cache.evict()
    info = cache.info()
    assert info.bytes <= info.limit == 10 * 44_200
    assert cache.get(keys[0], 22050) is not None  # recently used: kept
    assert cache.get(keys[1], 22050) is None  # least recently used: gone


def test_a_cache_folder_is_measured_once_per_process_not_per_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server or pack worker makes a cache object per build; the folder (20,000 entries
    took 0.26-0.42 s to measure) is measured at the process's first write to it, and again
    only after a twentieth of the limit has been written, by any of the objects."""
    from voiceguide import PhraseCache

    measured: list[Path] = []
    real = PhraseCache._entries

    def counting(self: PhraseCache) -> list[tuple[float, int, Path]]:
        measured.append(self.root)
        return real(self)

    monkeypatch.setattr(PhraseCache, "_entries", counting)
    clip = np.zeros(22050, dtype=np.int16)  # ~44 kB an entry
    limit = 20 * 10 * 44_200  # a scan every ~10 entries written
    for build in range(25):  # one object per build, one new phrase each
        PhraseCache(tmp_path / "c", max_bytes=limit).put(f"{build:02x}" * 32, clip, 22050)
    assert 2 <= len(measured) <= 4  # the first write, then every ~10 entries
    PhraseCache(tmp_path / "other", max_bytes=limit).put("ff" * 32, clip, 22050)
    assert measured[-1] == tmp_path / "other" / "phrases"  # another folder: its own count


def test_cache_info_shows_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_MAX_MB", "300")
    assert run_cli(["cache", "info"]) == 0
    assert "0 phrases, 0 kB of 300.0 MB" in capsys.readouterr().out  # as set (was 314.6)


HOLDER = """
import contextlib, os, signal, sys
from pathlib import Path
from voiceguide.speech.cache import PhraseCache
cache = PhraseCache(Path(sys.argv[1]))
with contextlib.ExitStack() as stack:
    for b in range(256):
        stack.enter_context(cache.lock(f"{b:02x}" + "0" * 62, "a phrase of the holder"))
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_build_stuck_on_a_stopped_lock_holder_says_what_it_waits_for(
        tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOICEGUIDE_CACHE_DIR": str(cache)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(cache)], env=env,
                              stdout=subprocess.PIPE, text=True)
    build = None
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        routine = write_routine(tmp_path / "short.yaml", SHORT)
        build = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", str(routine),
                                  "--engine", "test", "--out", str(tmp_path / "o")],
                                 env=env, stderr=subprocess.PIPE, text=True)
        assert build.stderr is not None
        line = build.stderr.readline()  # the first thing it says, after a few seconds
        assert line.startswith("Warning: waiting"), line
        assert f"{cache}/locks/" in line and ".lock" in line
        assert f"process {holder.pid} (stopped)" in line
        assert 'making "a phrase of the holder"' in line
        assert 'to make "Hello there."' in line or 'to make "And goodbye."' in line
        holder.kill()  # its locks go with it: the build goes on
        assert build.wait(60) == 0
    finally:
        holder.kill()
        holder.wait()
        if build is not None and build.poll() is None:
            build.kill()
            build.wait()


def test_the_package_imports_and_builds_without_fcntl(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['fcntl'] = None\n"  # as on Windows: import fcntl fails
        "from pathlib import Path\n"
        "import voiceguide as vg\n"
        f"r = vg.Routine.from_yaml({yaml.safe_dump(SHORT)!r})\n"
        f"res = vg.build_track(r, vg.TrackSettings(engine='test'), Path({str(tmp_path)!r}))\n"
        "assert res.path.stat().st_size > 0 and res.stats.synthesized > 0\n"
        "assert sys.modules['fcntl'] is None\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOICEGUIDE_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


ESCAPES = ("\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://example.com\x1b\\link\x1b]8;;\x1b\\\x9b31m"
           "\u202e\u2066")  # and direction overrides: a line printed in another order


@pytest.mark.parametrize("command", ["script", "show", "list"])
def test_terminal_escapes_in_routine_text_are_not_printed(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "routines"
    folder.mkdir()
    write_routine(folder / "esc.yaml", {
        "title": "Calm hips", "steps": [{"say": f"Hello{ESCAPES} there."}, {"pause": 2}]})
    monkeypatch.setenv("VOICEGUIDE_ROUTINES", str(folder))
    argv = ["list"] if command == "list" else [command, str(folder / "esc.yaml"), "--engine",
                                                "test"]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Calm" in printed and "hips" in printed
    assert not any(c in printed for c in "\x1b\x07\x9b\u202e\u2066"), repr(printed)
    # a title or description carrying them is refused where it is written (the error
    # quotes the file, and prints none of them either)
    write_routine(folder / "esc.yaml", {
        "title": f"Calm{ESCAPES} hips", "description": f"About{ESCAPES}",
        "steps": [{"say": "Hello there."}, {"pause": 2}]})
    assert run_cli(argv) == (0 if command == "list" else 3)
    printed = capsys.readouterr().err
    assert "esc.yaml:1:" in printed and "must not contain control characters" in printed
    assert not any(c in printed for c in "\x1b\x07\x9b\u202e\u2066"), repr(printed)


def test_rich_markup_in_an_output_folder_name_is_taken_literally(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "short.yaml", SHORT)
    out = tmp_path / "x[/]"
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    assert (out / "short.mp3").stat().st_size > 0



def test_a_cue_sheet_or_manifest_nested_beyond_the_parser_is_built_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cue sheet or pack.json someone replaced by '[[[[...]]]]' (200,000 deep) was an
    internal error (RecursionError in the JSON parser); it reads as damaged: the build
    or the pack runs again and writes a good one."""
    from tests.conftest import ASSETS

    routine = ASSETS / "pack" / "reach.yaml"
    nested = "[" * 200_000 + "]" * 200_000
    out = tmp_path / "out"
    argv = ["build", str(routine), "--engine", "test", "--out", str(out)]
    assert run_cli(argv) == 0
    sheet = out / "reach.cues.json"
    sheet.write_text(nested)
    assert run_cli(argv) == 0, capsys.readouterr().err
    assert json.loads(sheet.read_text())["file"] == "reach.mp3"
    pack = tmp_path / "pack.yaml"
    shutil.copy(routine, tmp_path)  # a pack names routines beside it, or by name
    pack.write_text("title: P\ntracks:\n  - {routine: reach.yaml}\n")
    folder = tmp_path / "packed"
    argv = ["pack", str(pack), "--engine", "test", "--out", str(folder)]
    assert run_cli(argv) == 0
    (folder / "pack.json").write_text(nested)
    capsys.readouterr()
    assert run_cli(argv) == 0
    assert "Warning: pack.json is not valid JSON" in capsys.readouterr().err
    assert len(json.loads((folder / "pack.json").read_text())["tracks"]) == 1
    (folder / "pack.json").write_text(nested)  # with --json it was said nowhere
    assert run_cli([*argv, "--json"]) == 0
    said = capsys.readouterr()
    assert "Warning: pack.json is not valid JSON" in said.err
    assert any("pack.json is not valid JSON" in w for w in json.loads(said.out)["warnings"])
    # an attack: a cue sheet 975 deep, under the parser's limit, its digest forged in
    # pack.json to match, stopped every later run writing the player (RecursionError).
    # Nested deeper than we ever write (JSON_DEPTH), a sheet is damaged: built again
    folder = tmp_path / "forged"
    argv = ["pack", str(pack), "--engine", "test", "--out", str(folder)]
    assert run_cli(argv) == 0
    manifest = json.loads((folder / "pack.json").read_text())
    entry = manifest["tracks"][0]
    cues = folder / next(n for n in entry["sidecars"] if n.endswith(".cues.json"))
    sheet = json.loads(cues.read_text())
    deep = "[" * (JSON_DEPTH + 8) + "%s" + "]" * (JSON_DEPTH + 8)
    sheet["cues"][0]["start"], sheet["cues"][0]["end"] = "@start@", "@end@"
    forged = json.dumps(sheet).replace('"@start@"', deep % 0).replace('"@end@"', deep % 1)
    cues.write_text(forged)
    entry["sidecar_sha256"][entry["sidecars"].index(cues.name)] = hashlib.sha256(
        forged.encode()).hexdigest()
    (folder / "pack.json").write_text(json.dumps(manifest))
    assert run_cli(argv) == 0, capsys.readouterr().err
    assert "[[[" not in cues.read_text()  # built again
    with pytest.raises(ValueError, match="nested more than 32 levels"):
        parse_json("[" * 100 + "]" * 100)
    for inner in ("", "0", '{"a": 1}'):  # counted alike around anything (an attack)
        assert parse_json("[" * (JSON_DEPTH - 1) + inner + "]" * (JSON_DEPTH - 1)) is not None
        with pytest.raises(ValueError, match="nested more than 32 levels"):
            parse_json("[" * (JSON_DEPTH + 1) + inner + "]" * (JSON_DEPTH + 1))


@pytest.mark.parametrize("taken", ["t.mp3", "t.vtt", "t.lrc"])
def test_a_build_whose_file_name_is_taken_by_a_folder_leaves_nothing_new(
        tmp_path: Path, taken: str) -> None:
    """A track and its cue sheets are written as one unit: when the track's (or a cue
    sheet's) name is a folder, the build fails before any file is named (the cue sheets
    were left behind without their track)."""
    import voiceguide as vg
    from tests.conftest import ASSETS

    out = tmp_path / "out"
    (out / taken).mkdir(parents=True)
    routine = vg.load_routine(ASSETS / "pack" / "reach.yaml")
    with pytest.raises(vg.VoiceguideError, match="is a folder, not a file a track may replace"):
        vg.build_track(routine, vg.TrackSettings(engine="test"), out, stem="t")
    assert [p.name for p in out.iterdir()] == [taken]


def test_the_api_says_what_is_wrong_with_a_stream_it_cannot_write_to(tmp_path: Path) -> None:
    """render_track to a full device raised a bare OSError and to a text stream a
    TypeError about bytes; both are the library's own errors now (an app catches
    VoiceguideError). track_request takes its folder as a str too."""
    import io

    import voiceguide as vg
    from tests.conftest import ASSETS

    routine = ASSETS / "pack" / "reach.yaml"
    plan = vg.plan_track(vg.load_routine(routine), vg.TrackSettings(engine="test"))
    with pytest.raises(vg.UsageError, match="binary stream"):
        vg.render_track(plan, io.StringIO())  # type: ignore[call-overload]
    if Path("/dev/full").exists():
        with open("/dev/full", "wb") as full, \
                pytest.raises(vg.VoiceguideError, match="No space left"):
            vg.render_track(plan, full)
    request = vg.track_request(routine, {}, out_dir=str(tmp_path))
    assert request.path == tmp_path / "reach.mp3"


def test_a_build_stopped_between_its_renames_is_never_taken_as_up_to_date(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files of a build are named one after another. Stopped between two renames
    (an error, Ctrl-C, two builds at once), the folder held the new track beside the
    old cue sheet, and every later build said "up to date" with the wrong audio (found
    by a robustness attack). The cue sheet is named last and records the digests of the
    others, so neither the old settings nor the new ones find the folder up to date."""
    from voiceguide.io import atomic

    out = tmp_path / "out"
    argv = ["build", "morning-hips", "--engine", "test", "--out", str(out), "--quiet"]
    assert run_cli([*argv, "--bed", "none"]) == 0
    real = os.replace

    def refused(src: Any, dst: Any, *a: Any, **k: Any) -> None:
        if str(dst).endswith(".cues.json"):  # the track is named, its sheet is not
            raise PermissionError(13, "Permission denied")
        real(src, dst, *a, **k)

    monkeypatch.setattr(atomic.os, "replace", refused)
    assert run_cli([*argv, "--bed", "rain"]) == ExitCode.OUTPUT
    monkeypatch.setattr(atomic.os, "replace", real)
    for bed in ("none", "rain"):
        track = out / "morning-hips.mp3"
        before = track.stat().st_mtime_ns
        assert run_cli([*argv, "--bed", bed]) == 0
        assert track.stat().st_mtime_ns != before, f"--bed {bed} was taken as up to date"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_temporaries_a_killed_run_left_are_swept_by_the_next_one(tmp_path: Path) -> None:
    """A run killed between linking a file under its temporary name and renaming it
    (a pack's workers are killed at Ctrl-C) left full-size `.voiceguide-tmp-*` copies
    that no later run removed. One left long ago goes; one just made (a run writing in
    the same folder now) stays."""
    out = tmp_path / "out"
    out.mkdir()
    old, new = out / ".voiceguide-tmp-0a1b2c-x.mp3", out / ".voiceguide-tmp-3d4e5f-y.mp3"
    for p in (old, new):
        p.write_bytes(b"\0" * 1000)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert run_cli(["build", "morning-hips", "--engine", "test", "--out", str(out),
                    "--quiet"]) == 0
    assert not old.exists() and new.exists()


def test_an_output_folder_under_a_file_is_named_as_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out` below a file said '.../sub/x: cannot write (Not a directory)': a made-up
    name, and no fix."""
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "sub"
    assert run_cli(["build", "morning-hips", "--engine", "test", "--out", str(out)]) == 9
    err = capsys.readouterr().err.strip().splitlines()
    # the file in the way is named (a link to nothing below which it named the folder)
    assert err == [f"Error: {tmp_path / 'afile'}: is a file, not a folder; choose another "
                   "folder (--out)"], err


def _nested(depth: int) -> list[Any]:
    steps: list[Any] = [{"say": "Hi."}]
    for i in range(depth):
        steps = [{"section": f"S{i}", "steps": steps}]
    return steps


@pytest.mark.parametrize("data", [
    {"title": "T", "steps": _nested(300)},  # was a RecursionError
    {"title": "T", "steps": _nested(30)},  # 60 levels: a file stops at 48
    {"title": "T", "description": "a" * 5_000_000, "steps": [{"say": "Hello."}]},
    {"title": "T", "steps": [{"say": "Hello."}] * 60_000},
], ids=["300-deep", "60-levels", "5-MB-description", "60k-steps"])
def test_a_routine_given_as_data_has_the_bounds_of_a_file(data: dict[str, Any]) -> None:
    """An app passing a user's routine as a dict had none of a file's bounds: nesting
    crashed with RecursionError (not a VoiceguideError: an HTTP 500), and a 50 MB
    description went into a 100 MB MP3's tags (found by an app-team review)."""
    import voiceguide as vg

    started = time.monotonic()
    with pytest.raises(vg.InvalidInputError, match=r"^<routine>: the routine "):
        vg.load_routine(data)
    assert time.monotonic() - started < 2


def test_exercises_that_include_one_another_too_deeply_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: a 22 kB routine of 400 exercises, each including the next, ran the
    expansion out of stack (an internal error from validate, script, build and pack,
    and from 'list' for every routine beside it). Past MAX_EXERCISE_DEPTH it is an
    error naming the chain (exit 3); 'list' warns of it and lists the rest."""
    from voiceguide.limits import MAX_EXERCISE_DEPTH

    def chain(n: int) -> dict[str, Any]:
        exercises: dict[str, Any] = {"e0": {"title": "E", "steps": [{"say": "Rest."}]}}
        for i in range(1, n):
            exercises[f"e{i}"] = {"title": "E", "steps": [{"exercise": f"e{i - 1}"}]}
        return {"title": "Chain", "exercises": exercises, "steps": [{"exercise": f"e{n - 1}"}]}

    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "chain.yaml").write_text(yaml.safe_dump(chain(400)))
    shutil.copy(ROOT / "routines" / "morning-hips.yaml", routines)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["validate", "routines/chain.yaml", "--engine", "test"]) == 3
    err = capsys.readouterr().err
    assert f"exercises include one another more than {MAX_EXERCISE_DEPTH} deep (e399 -> " \
        "e398 -> ... -> " in err and "include fewer levels" in err and "internal" not in err
    assert run_cli(["list"]) == 0
    listed = capsys.readouterr()
    assert "morning-hips" in listed.out and "include one another" in listed.err
    (routines / "chain.yaml").write_text(yaml.safe_dump(chain(MAX_EXERCISE_DEPTH)))
    assert run_cli(["validate", "routines/chain.yaml", "--engine", "test"]) == 0
    # the attack after: 16 deep, each exercise inside 20 sections (every file under its
    # own bound), ran a comparison of the script out of stack
    deep = chain(MAX_EXERCISE_DEPTH)
    for exercise in deep["exercises"].values():
        exercise["steps"] = _nested_steps(exercise["steps"], 20)
    deep["steps"] = _nested_steps(deep["steps"], 20)
    (routines / "chain.yaml").write_text(yaml.safe_dump(deep))
    capsys.readouterr()
    assert run_cli(["validate", "routines/chain.yaml", "--engine", "test"]) == 3
    err = capsys.readouterr().err
    assert "sections and exercises nest more than 64 deep here; nest fewer" in err, err


def _nested_steps(steps: list[Any], depth: int) -> list[Any]:
    for i in range(depth):
        steps = [{"section": f"S{i}", "steps": steps}]
    return steps


def test_a_routine_given_as_text_has_the_size_bound_of_a_file() -> None:
    import voiceguide as vg

    with pytest.raises(vg.InvalidInputError, match="larger than 512 kB"):
        vg.Routine.from_yaml("title: T\nsteps:\n  - say: " + "a" * 600_000)
    assert vg.Routine.from_yaml("title: T\nsteps:\n  - say: Hello.\n").spec.title == "T"


def test_a_yaml_tag_on_a_list_or_mapping_is_refused() -> None:
    """A tag on a single value was refused, but on a list it was dropped without a word:
    `say: !!python/object/apply:os.system ["echo hi"]` was spoken as "echo hi"."""
    import voiceguide as vg

    with pytest.raises(vg.InvalidInputError,
                       match=r"3:10: steps\[0\]\.say: a YAML tag such as "
                             r"'!!python/object/apply:os\.system' is not allowed here"):
        vg.Routine.from_yaml("title: T\nsteps:\n  - say: !!python/object/apply:os.system"
                             " [\"echo hi\"]\n")


def test_a_yaml_binary_value_is_refused_where_it_is_written() -> None:
    """An attack: `title: !!binary QUJD` built a track titled 'ABC', and a `say:` of
    `!!binary` bytes carried a NUL and an ESC past the text checks (the LRC showed
    'Hello[31m')."""
    import voiceguide as vg

    for text, where in (("title: !!binary QUJD\nsteps:\n  - say: Hi.\n", "1:8: title"),
                        ("title: T\nsteps:\n  - say: !!binary AEhlbGxvG1szMW0=\n",
                         r"3:10: steps\[0\]\.say")):
        with pytest.raises(vg.InvalidInputError, match=rf"{where}: a YAML binary value "
                                                       r"\('!!binary'\) is not text"):
            vg.Routine.from_yaml(text)


def test_titles_are_one_bounded_line_without_direction_overrides(tmp_path: Path) -> None:
    """An attack: a title with U+202E read 'exe.jpg' reversed in the feed, the player and
    the tags, and the pack's next run refused its own pack.json for it (every track built
    again, dropped tracks left published); an exercise's `title:` override had no bound
    (60 of 200,000 characters made 71 MB of pack per track)."""
    import voiceguide as vg

    for text, where in (
            ('title: "Evening \\u202egpj.exe"\nsteps:\n  - say: Hi.\n', "1:8: title"),
            ('title: T\nsteps:\n  - section: "One\\u2028two"\n    steps:\n      - say: Hi.\n',
             r"3:14: steps\[0\]\.section"),
            ('title: T\nauthor: "A\\u202dB"\nsteps:\n  - say: Hi.\n', "2:9: author")):
        with pytest.raises(vg.InvalidInputError, match=rf"{where}: must not contain control"):
            vg.Routine.from_yaml(text)
    with pytest.raises(vg.InvalidInputError,
                       match=r"4:12: steps\[0\]\.title: is too long \(at most 120"):
        vg.Routine.from_yaml("title: T\nsteps:\n  - exercise: butterfly\n    title: "
                             + "a" * 121 + "\n", [ROOT / "routines" / "exercises"])
    for title in ("Zoë's 🧘‍♀️ hips",  # a ZWJ emoji
                  "Hips with love 🩷",  # newer than Python's Unicode tables (the attack
                  "Gentle start 🫨",  # on the first version: 'control characters')
                  "Scotland 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
                  "ليلى\u061c 2", "שירה", "Ana Łukasz"):
        ok = vg.Routine.from_yaml(f"title: {json.dumps(title, ensure_ascii=False)}\n"
                                  "steps:\n  - say: Hi.\n")
        assert ok.spec.title == title
    for hidden, said in (("a\U000e0041b", "control characters"), ("\u200b", "is empty")):
        with pytest.raises(vg.InvalidInputError, match=f"1:8: title: (must not contain )?{said}"):
            vg.Routine.from_yaml(f"title: {json.dumps(hidden, ensure_ascii=False)}\n"
                                 "steps:\n  - say: Hi.\n")


@pytest.mark.parametrize("sections, code", [(255, 0), (256, ExitCode.SCHEDULE)])
def test_a_track_has_at_most_the_chapters_an_mp3_can_list(
        tmp_path: Path, sections: int, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    """An attack: 260 sections validated, then the build failed after the whole mix with
    'internal error (ValueError: bytes must be in range(0, 256))' in the MP3's table of
    contents. 255 build, each a chapter of the file; more is said before any audio."""
    from mutagen.id3 import ID3

    routine = tmp_path / "many.yaml"
    routine.write_text("title: Many\nsteps:\n" + "".join(
        f"  - section: Part {i}\n    steps:\n      - say: Rest.\n" for i in range(sections)))
    out = tmp_path / "out"
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(out)]) == code
    err = capsys.readouterr().err
    if code:
        assert err.startswith(f"Error: {routine}: the track would have 256 chapters; the "
                              "most is 255"), err
        assert not out.exists() or not list(out.iterdir())
        # a WAV carries them in its ID3 tag too: said before the audio, as for an MP3
        assert run_cli(["build", str(routine), "--engine", "test", "-o", str(out),
                        "--format", "wav"]) == code
        assert "the most is 255" in capsys.readouterr().err
    else:
        assert len(ID3(out / "many.mp3").getall("CHAP")) == 255


def test_validate_parses_a_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """validate parsed a routine four times: for its kind, to load it, for its templates'
    problems when it failed, and for its kind again in the report. A hostile routine of
    50,000 unknown keys took 3.1 s to check with --quick, against 2.4 s to build."""
    from voiceguide.io import yamldoc

    parsed: list[Path] = []
    parse = yamldoc.parse_yaml

    def counted(text: str, path: Path, *args: Any, **kw: Any) -> Any:
        parsed.append(path)
        return parse(text, path, *args, **kw)

    monkeypatch.setattr(yamldoc, "parse_yaml", counted)
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nsteps:\n  - say: Hi {{ nme }}.\nk0: 1\n")
    good = ROOT / "routines" / "five-somatic-hip-exercises.yaml"
    said = []
    for path, code in ((bad, ExitCode.INVALID_INPUT), (good, 0)):
        parsed.clear()
        assert run_cli(["validate", str(path), "--quick"]) == code
        said.append(capsys.readouterr().err)
        assert parsed.count(path) == 1, (path, len(parsed), said[-1])
    assert "k0: unknown key" in said[0] and "nme" in said[0]  # both kinds of problem said


def test_a_file_of_many_unknown_keys_says_twenty_and_counts_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An attack: a 488 kB routine of 50,000 unknown keys gave 50,000 `Error:` lines
    (2.97 MB on stderr) after 15 s, for `build` as for `validate`."""
    routine = tmp_path / "many.yaml"
    routine.write_text("title: x\nsteps: [{say: hi}]\n"
                       + "".join(f"k{i}: 1\n" for i in range(50_000)))
    # and across a file's parts (the attack on the first version: 2,278 inline exercises
    # of 21 unknown keys each gave 47,838 lines, each exercise capped alone)
    wide = tmp_path / "wide.yaml"
    wide.write_text("title: x\nsteps: [{say: hi}]\nexercises:\n" + "".join(
        f"  e{n}:\n    title: E\n    steps: [{{say: hi}}]\n"
        + "".join(f"    k{i}: 1\n" for i in range(21)) for n in range(1500)))
    # and template mistakes (4,000 of them gave 4,000 lines, as did clashing hold cues)
    mistakes = tmp_path / "mistakes.yaml"
    mistakes.write_text("title: x\nsteps:\n" + "".join("  - say: Hi {{ nme }}.\n"
                                                        for _ in range(100)))
    for path, first in ((routine, "3:1: k0: unknown key 'k0'"),
                        (wide, "7:5: exercises.e0.k0: unknown key 'k0'"),
                        (mistakes, "3:10: steps[0].say: template uses an undefined")):
        for argv in (["build", str(path), "--engine", "test", "--out", str(tmp_path / "o")],
                     ["validate", str(path), "--quick"]):
            template = path == mistakes and argv[0] == "build"  # validate says 3 for all
            assert run_cli(argv) == (ExitCode.TEMPLATE if template else
                                     ExitCode.INVALID_INPUT), argv
            err = capsys.readouterr().err
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 21, (argv, len(lines), lines[:3])
            assert f"{path}:{first}" in err, err[:500]
            assert lines[-1] == f"Error: {path}: and more problems after these; mend these " \
                "and try again", lines[-1]


@pytest.mark.parametrize("forged", ["\nok: x.yaml (routine)\nall files ok", "\u2028Error: forged",
                                    "\r\nWarning: all good", "\x0bok: x", "\x85ok: x"])
def test_a_value_quoted_in_an_error_cannot_print_a_line_of_its_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], forged: str) -> None:
    """An attack: an exercise named "a\\nok: x.yaml (routine)" (or a key) printed forged
    ``ok:`` and ``Error:`` lines after the real one: each problem is one line, its line
    breaks written out as \\n."""
    import voiceguide as vg

    routine = tmp_path / "r.yaml"
    for text in (f"title: T\nsteps:\n  - say: hi\n  - exercise: {json.dumps('a' + forged)}\n",
                 f"title: T\n{json.dumps('k' + forged)}: 1\nsteps:\n  - say: hi\n"):
        routine.write_text(text)
        for argv in (["validate", "--quick", str(routine)], ["build", str(routine),
                                                              "--engine", "test"]):
            assert run_cli(argv) == vg.ExitCode.INVALID_INPUT
            captured = capsys.readouterr()
            lines = captured.err.splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), lines
            assert "ok:" not in captured.out and repr(forged[0])[1:-1] in lines[0], captured
    # a file's own name (a folder someone sent, validated by a glob): one ok: line
    named = tmp_path / f"good{forged}.yaml"
    named.write_text("title: T\nsteps:\n  - say: Hello.\n  - pause: 3\n")
    assert run_cli(["validate", "--quick", str(named)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("ok: ") and out[0].endswith("(routine)"), out
    problems = vg.InvalidInputError("a\nb", ["c\u2028d"]).problems
    assert problems == ["c\\u2028d"] and str(vg.UsageError("x\ny")) == "x\\ny"
    assert vg.one_line("a\r\nb") == "a\\r\\nb"


def test_what_the_environment_gets_wrong_is_named_with_its_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An attack from the environment: a file or a link to nothing as the output folder
    "exists and is not a folder" (no fix); a profile linking to nothing "did you mean"
    itself; `init`'s fix named --out, which it has not; a phrase cache it cannot write in
    made every phrase again, each build, without a word."""
    routine = write_routine(tmp_path / "short.yaml", SHORT)
    afile, dangling = tmp_path / "afile", tmp_path / "dangling"
    afile.write_text("x")
    dangling.symlink_to(tmp_path / "nowhere")
    # first: a phrase made in this process is not cached again; said once a process
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(afile))
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert err.count("Warning: the phrase cache cannot keep phrases") == 1, err
    assert "set VOICEGUIDE_CACHE_DIR to a folder it can write in" in err and "--out" not in err
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    for out, said in ((afile, "is a file, not a folder"), (dangling, "is a link to nothing")):
        for asked in (out, out / "sub"):  # the one in the way is named, not the folder asked
            assert run_cli(["build", str(routine), "--engine", "test", "-o", str(asked)]) == 9
            assert capsys.readouterr().err == f"Error: {out}: {said}; choose another " \
                                              "folder (--out)\n"
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(tmp_path / "o"),
                    "--profile", str(dangling)]) == ExitCode.INVALID_INPUT
    assert capsys.readouterr().err == (f"Error: {dangling}: a link to nothing "
                                       f"({tmp_path / 'nowhere'}); link it to the profile "
                                       "file, or remove it\n")
    reel = tmp_path / "reel.yaml"  # a routine linking to nothing "meant" real.yaml
    reel.symlink_to(tmp_path / "nowhere.yaml")
    routine.rename(tmp_path / "real.yaml")
    assert run_cli(["build", str(reel), "--engine", "test"]) == ExitCode.INVALID_INPUT
    assert capsys.readouterr().err == (f"Error: {reel}: a link to nothing "
                                       f"({tmp_path / 'nowhere.yaml'}); link it to the "
                                       "routine file, or remove it\n")
    # a routine file whose name is not UTF-8: an internal error writing its cue sheet
    odd = tmp_path / os.fsdecode(b"odd\xff.yaml")
    odd.write_text((tmp_path / "real.yaml").read_text())
    assert run_cli(["build", str(odd), "--engine", "test", "-o", str(tmp_path / "o")]) == 0
    assert json.loads((tmp_path / "o" / "odd.cues.json").read_text())["routine"] == "odd\ufffd"
    capsys.readouterr()
    assert run_cli(["init", str(afile / "profile.yaml")]) == 9
    assert capsys.readouterr().err == (f"Error: {afile}: is a file, not a folder; choose "
                                       "another folder for it (the PATH argument)\n")
