"""The command line as a person uses it: validate anything, start a routine, names that
never collide, up-to-date builds skipped, --json for scripts, completion, clean help."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import voiceguide as vg
from tests.conftest import (
    ROOT,
    SR,
    command_options,
    decode,
    routine_using,
    run_cli,
    sheet_of,
)
from voiceguide.errors import ExitCode

pytestmark = pytest.mark.shared_phrases


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> Any:
    capsys.readouterr()
    assert run_cli(argv) == code
    return json.loads(capsys.readouterr().out)


def _routine(tmp_path: Path, say: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"title: T\nsteps:\n{say}\n")
    return path


# ---- unset template variables -------------------------------------------------------

def test_side_outside_sides_is_an_error_naming_where_it_is_set(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _routine(tmp_path, '  - say: "Bend your {{ side }} knee."')
    assert run_cli(["validate", "--quick", str(path)]) == 3
    err = capsys.readouterr().err
    assert f"{path}:3:" in err and "'{{ side }}' has no value here" in err
    assert "inside a 'sides' step" in err


def test_rep_outside_repeat_is_an_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _routine(tmp_path, '  - say: "Round {{ rep | words }}."')
    assert run_cli(["validate", "--quick", str(path)]) == 3
    assert "'{{ rep }}' has no value here" in capsys.readouterr().err


def test_unguarded_name_is_a_warning_with_the_fix_and_a_guarded_one_is_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bare = _routine(tmp_path, '  - say: "Welcome, {{ name }}."', "bare.yaml")
    doc = _json(capsys, ["validate", "--quick", "--json", str(bare)])
    (checked,) = doc["files"]
    assert checked["ok"] and checked["kind"] == "routine"
    (warning,) = checked["warnings"]
    assert "'{{ name }}' is empty" in warning and "{% if name %}" in warning
    guarded = _routine(tmp_path, '  - say: "Welcome{% if name %}, {{ name }}{% endif %}."\n'
                       '  - say: "Hello {{ name | default(\'friend\') }}."', "ok.yaml")
    doc = _json(capsys, ["validate", "--quick", "--json", str(guarded)])
    assert doc["files"][0]["warnings"] == []


def test_side_inside_sides_is_fine(tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = _routine(tmp_path, '  - sides:\n      steps:\n        - say: "Your {{ side }} leg."')
    assert run_cli(["validate", "--quick", "--engine", "test", str(path)]) == 0
    assert run_cli(["validate", "--engine", "test", str(path)]) == 0


# ---- validate knows every kind of file ----------------------------------------------

def test_validate_recognises_every_shipped_file_and_names_its_kind(
        capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (ROOT / "routines").rglob("*.yaml"))
    doc = _json(capsys, ["validate", "--quick", "--json", *files])
    assert doc["ok"]
    kinds = {Path(f["path"]).relative_to(ROOT / "routines").parts[0]: f["kind"]
             for f in doc["files"]}
    assert kinds["exercises"] == "exercise" and kinds["packs"] == "pack"
    assert {f["kind"] for f in doc["files"] if Path(f["path"]).parent.name == "routines"} \
        == {"routine"}
    assert all(f["warnings"] == [] for f in doc["files"])  # shipped files: no warning


def test_validate_recognises_files_by_content_outside_the_usual_folders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text("name: Ana\nrate: 130\n")
    exercise = tmp_path / "stretch.yaml"
    exercise.write_text("title: Stretch\nsummary: A stretch.\nposition: lying\n"
                        "steps:\n  - say: Stretch your {{ side }} leg.\n  - pause: 2\n")
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\nmatrix:\n  routines: [morning-hips]\n")
    doc = _json(capsys, ["validate", "--quick", "--json", str(profile), str(exercise),
                         str(pack)])
    assert [f["kind"] for f in doc["files"]] == ["profile", "exercise", "pack"]
    assert doc["ok"]
    profile.write_text("rate: 5\n")
    doc = _json(capsys, ["validate", "--quick", "--json", str(profile)], code=3)
    assert not doc["ok"] and "mine.yaml:1:" in doc["files"][0]["errors"][0]


def test_quick_validate_loads_no_audio_stack() -> None:
    code = ("import sys; from voiceguide.cli import main\n"
            "try: main(['validate', '--quick', 'routines/bedtime-hips.yaml'])\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "bad = [m for m in ('numpy', 'scipy', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)



def test_output_piped_into_a_reader_that_has_gone_is_no_error(tmp_path: Path) -> None:
    """``voiceguide script ... | head -1``: once ``head`` has gone, writing failed with a
    broken pipe, which came out as a traceback or exit 1 ("internal error") in place of
    the command's own code (found by a new-user review)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nsteps:\n  - sya: hi\n")
    for args, code in ((["script", "morning-hips"], 0), (["list"], 0), (["--help"], 0),
                       (["voices"], 0), (["validate", "--quick", str(bad)], 3)):
        read, write = os.pipe()
        os.close(read)  # the reader has gone before the first line
        try:
            proc = subprocess.run([sys.executable, "-m", "voiceguide", *args], stdout=write,
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                  timeout=120, check=False)
            # `2>&1 | head`: the errors and notes go the same way (voices notes the
            # engines not installed, validate says what is wrong)
            both = subprocess.run([sys.executable, "-m", "voiceguide", *args], stdout=write,
                                  stderr=write, cwd=ROOT, timeout=120, check=False)
        finally:
            os.close(write)
        assert proc.returncode == code, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, args
        assert both.returncode == code, args


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_exit_9_and_errors_that_cannot_keep_their_code(
        tmp_path: Path) -> None:
    """An attack: '> /dev/full' gave an up-to-date build a traceback, and 'script',
    'schema' and '--version' an "internal error" (exit 1); '2>/dev/full' turned validate's
    exit 3 into 1. Standard output that cannot be written is one line and exit 9 (a full
    disk); standard error that cannot keeps the command's own code."""
    out = tmp_path / "out"
    build = ["build", "morning-hips", "--engine", "test", "--minutes", "5", "--out", str(out)]
    subprocess.run([sys.executable, "-m", "voiceguide", *build], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nsteps:\n  - sya: hi\n")
    for args in (build, ["script", "morning-hips"], ["schema"], ["--version"], ["--help"],
                 ["list", "--help"]):  # the help's writer swallowed the error: exit 0
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "voiceguide", *args], stdout=full,
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=300,
                                  check=False)
        assert proc.returncode == ExitCode.OUTPUT == 9, (args, proc.stderr)
        assert proc.stderr.splitlines() == [
            "Error: cannot write to standard output: No space left on device"], args
    for args, code in ((["validate", str(bad)], 3), (["validate", str(tmp_path / "no.yaml")],
                                                     3), (["script", "morning-hips"], 0)):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "voiceguide", *args],
                                  stdout=subprocess.DEVNULL, stderr=full, cwd=ROOT,
                                  timeout=300, check=False)
        assert proc.returncode == code, args
    # closed before the start (`2>&-`): a build stopped at its progress bars, exit 1
    out2 = tmp_path / "out2"
    closed = subprocess.run(["bash", "-c", f"{sys.executable} -m voiceguide build morning-hips "
                             f"--engine test --minutes 5 --out {out2} 2>&-"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert closed.returncode == 0 and (out2 / "morning-hips-5min.mp3").is_file(), closed
    # both full, or stdout full and stderr closed: the code says it (--help was exit 1)
    for err in ("2>/dev/full", "2>&-"):
        both = subprocess.run(["bash", "-c", f"{sys.executable} -m voiceguide --help "
                               f">/dev/full {err}"], cwd=ROOT, timeout=120, check=False)
        assert both.returncode == ExitCode.OUTPUT, err


def test_a_terminal_that_cannot_show_a_character_gets_its_escape(tmp_path: Path) -> None:
    """An attack in a Latin-1 locale: `show` of a routine titled in Chinese, and
    `validate --json` of a file with a key in Chinese, ended in "internal error
    (UnicodeEncodeError ...)" over two lines, exit 1 (`build --json` wrote its track and
    no JSON). Text is written with the escapes of what the terminal lacks, and JSON in
    ASCII: the same document."""
    routine = tmp_path / "hips.yaml"
    routine.write_text((ROOT / "routines" / "morning-hips.yaml").read_text(encoding="utf-8")
                       .replace("title: Morning hips", "title: 晨间髋部 Morning hips"),
                       encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\n李雷: 1\nsteps: [{say: Hi.}]\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}

    def run_in_latin1(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "voiceguide", *args], cwd=ROOT, env=env,
                              capture_output=True, timeout=300, check=False)

    shown = run_in_latin1("show", str(routine), "--engine", "test")
    assert shown.returncode == 0, shown.stderr
    assert b"\\u6668\\u95f4\\u9acb\\u90e8 Morning hips" in shown.stdout
    checked = run_in_latin1("validate", "--json", str(bad))
    assert checked.returncode == ExitCode.INVALID_INPUT, checked.stderr
    assert b"internal error" not in checked.stderr
    doc = json.loads(checked.stdout.decode("ascii"))
    assert "unknown key '李雷'" in doc["files"][0]["errors"][0]


def test_running_out_of_memory_is_a_documented_exit_not_an_internal_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attack under a memory limit (prlimit --as) ended in "internal error
    (MemoryError)", exit 1, which says to report a bug: now one line and exit 10."""
    def exhausted(*_: object, **__: object) -> None:
        raise MemoryError
    monkeypatch.setattr(vg, "build_track", exhausted)
    code = run_cli(["build", "morning-hips", "--engine", "test", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == ExitCode.MEMORY == 10, err
    assert err.splitlines() == ["Error: not enough memory for this work (the system refused "
                                "more); build a shorter track, use 'pack --jobs 1', or free "
                                "memory"], err
    assert not list(tmp_path.iterdir())


def test_the_command_line_run_in_a_program_leaves_its_process_as_it_was(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`main()` wraps the standard streams and sets an unraisable hook for its run; a
    program that runs it in its own process gets them back (a reviewer found the hook
    left in place, where it could take over the program's SIGALRM)."""
    import signal

    import voiceguide.cli as cli
    from voiceguide.cli import main

    before = (sys.stdout, sys.stderr, sys.unraisablehook, signal.getsignal(signal.SIGTERM))
    with pytest.raises(SystemExit):  # main() itself, not the suite's run_cli
        main(["list"])
    assert (sys.stdout, sys.stderr, sys.unraisablehook,
            signal.getsignal(signal.SIGTERM)) == before
    assert "morning-hips" in capsys.readouterr().out
    assert not cli._alarm


# ---- new -----------------------------------------------------------------------------

def test_new_writes_a_commented_starter_that_validates_and_lists_the_library(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["new", "evening-stretch", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "evening-stretch.yaml"
    text = path.read_text()
    assert "#   bridge" in text and "#   figure-four" in text and "not medical advice" in text
    # no 'author: you' a phone would show as the track's artist (a new user's review)
    assert vg.load_routine(str(tmp_path / "evening-stretch.yaml")).spec.author == "voiceguide"
    doc = _json(capsys, ["validate", "--json", "--engine", "test", str(path)])
    assert doc["ok"] and doc["files"][0]["warnings"] == []
    assert run_cli(["new", "evening-stretch", "--dir", str(tmp_path)]) == 2  # names --force
    assert "--force" in capsys.readouterr().err
    assert run_cli(["new", "copy", "--from", "morning-hips", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "copy.yaml").read_text() == \
        (ROOT / "routines" / "morning-hips.yaml").read_text()
    # a copy's comment telling an editor its JSON Schema points at the file the original's
    # did (a relative path copied as it was pointed nowhere from the copy's folder), or,
    # where there is none, at routine.schema.json beside it, as the README says to write
    shipped = ROOT / "routines" / "five-somatic-hip-exercises.yaml"
    (tmp_path / "lib" / "output").mkdir(parents=True)
    source = tmp_path / "lib" / "routines" / "five.yaml"
    source.parent.mkdir()
    source.write_text(shipped.read_text())
    schema = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)
    original = schema.search(source.read_text())
    assert original and original[1] == "../output/routine.schema.json"
    for made in (False, True):
        if made:
            (tmp_path / "lib" / "output" / "routine.schema.json").write_text("{}")
        out = tmp_path / f"copy-{made}"
        assert run_cli(["new", "five", "--from", str(source), "--dir", str(out)]) == 0
        copied = schema.search((out / "five.yaml").read_text())
        assert copied
        assert (out / copied[1]).resolve() == (
            (source.parent / original[1]).resolve() if made else out / "routine.schema.json")
        assert schema.sub("", (out / "five.yaml").read_text()) == schema.sub(
            "", source.read_text())
    # a file with Windows line ends, a comment after the path: the same
    source.write_bytes(source.read_bytes().replace(b"\n", b"\r\n").replace(
        b"routine.schema.json", b"routine.schema.json  # for editors", 1))
    assert run_cli(["new", "five", "--from", str(source), "--dir", str(tmp_path / "crlf")]) == 0
    copied = re.search(r"schema=(\S+)  # for editors\r$", (tmp_path / "crlf" / "five.yaml")
                       .read_bytes().decode(), re.M)
    assert copied and (tmp_path / "crlf" / copied[1]).resolve() == (
        source.parent / original[1]).resolve()


@pytest.mark.slow
def test_new_starter_builds_with_the_real_engine(tmp_path: Path) -> None:
    """A coach's first build: at the longest length the starter is designed for, the
    track meets its loudness with no warning (at 8 minutes it was mostly silence and
    -18.8 LUFS, with a warning, until its holds got cues and its range 4-5 minutes)."""
    import pyloudnorm

    assert run_cli(["new", "first", "--dir", str(tmp_path)]) == 0
    out = tmp_path / "out"
    assert run_cli(["build", str(tmp_path / "first.yaml"), "-o", str(out), "--name", "Ana",
                    "--minutes", "5"]) == 0
    track = out / "first-Ana-5min.mp3"
    y = decode(track)
    assert abs(len(y) / 22050 - 300) < 1  # fitted to five minutes
    assert float(abs(y).max()) > 0.1  # a voice, not silence
    sheet = sheet_of(track)
    assert any("Knee to chest" in c["text"] for c in sheet["cues"])
    assert sheet["warnings"] == []
    assert abs(pyloudnorm.Meter(22050).integrated_loudness(y.astype(float)) + 16) <= 0.5


# ---- names never collide -------------------------------------------------------------

def test_two_listeners_do_not_overwrite_each_other(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for name in ("Ana", "Ben"):
        assert run_cli(["build", "morning-hips", "--engine", "test", "-o", str(out),
                        "--name", name]) == 0
    ana, ben = out / "morning-hips-Ana.mp3", out / "morning-hips-Ben.mp3"
    assert sheet_of(ana)["title"].endswith("for Ana") and sheet_of(ben)["title"].endswith(
        "for Ben")
    assert run_cli(["build", "morning-hips", "--engine", "test", "-o", str(out),
                    "--name", "Ana", "--minutes", "5"]) == 0
    assert (out / "morning-hips-Ana-5min.mp3").is_file() and ana.is_file()
    assert run_cli(["build", "morning-hips", "--engine", "test", "-o", str(out),
                    "--name", "Ana", "--track-name", "{title}-{name}"]) == 0
    assert (out / "Morning-hips-Ana.mp3").is_file()
    assert run_cli(["build", "morning-hips", "--engine", "test", "-o", str(out),
                    "--track-name", "{nope}"]) == 2


def test_build_counts_one_phrase_sped_up_in_the_singular(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user review read "1 phrases sped up (at most 1.20x)"."""
    path = _routine(tmp_path, '  - say: This is not medical advice.\n'
                    '  - repeat:\n      count: 1\n      phases:\n'
                    '        - {say: "Breathe in slowly and lift both of your arms high above'
                    ' your head.", seconds: 4}')
    capsys.readouterr()
    assert run_cli(["build", str(path), "--engine", "test", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert ", 1 phrase sped up (at most 1.20x); phrases:" in out, out


# ---- up-to-date builds ---------------------------------------------------------------

def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_second_build_is_up_to_date_writes_nothing_and_any_input_change_rebuilds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / "lib"
    (lib / "exercises").mkdir(parents=True)
    for name in ("bridge.yaml",):
        (lib / "exercises" / name).write_bytes(
            (ROOT / "routines" / "exercises" / name).read_bytes())
    routine = lib / "mine.yaml"
    routine.write_text("title: Mine\nsteps:\n  - say: Hello.\n  - exercise: bridge\n")
    out = tmp_path / "out"
    argv = ["build", str(routine), "--engine", "test", "-o", str(out), "--json"]
    first = _json(capsys, argv)
    assert not first["up_to_date"]
    assert sheet_of(Path(first["path"]))["input_hash"] == first["input_hash"]
    before = _mtimes(out)
    second = _json(capsys, argv)
    assert second["up_to_date"] and second["path"] == first["path"]
    assert second["duration"] == first["duration"]  # the same figure either way
    assert _mtimes(out) == before
    assert run_cli(argv[:-1]) == 0
    assert "up to date" in capsys.readouterr().out

    def rebuilt(args: list[str]) -> bool:
        return not bool(_json(capsys, args)["up_to_date"])

    assert rebuilt([*argv, "--force"])
    routine.write_text(routine.read_text().replace("Hello.", "Hello there."))
    assert rebuilt(argv)
    bridge = lib / "exercises" / "bridge.yaml"
    bridge.write_text(bridge.read_text() + "\n# edited\n")
    assert rebuilt(argv)
    assert rebuilt([*argv, "--rate", "150"]) and not rebuilt([*argv, "--rate", "150"])
    assert not rebuilt([*argv, "--rate=150"])  # the same option spelled another way
    assert rebuilt([*argv, "--rate", "150", "--voice", "tone/high"])
    assert not rebuilt([*argv, "--rate", "150", "--voice", "tone/high"])
    # a format in capitals (an attack: never up to date, its file looked for as .mp3)
    assert rebuilt([*argv, "--format", "WAV"]) and not rebuilt([*argv, "--format", "WAV"])
    # a track cut short (a full disk, a copy stopped halfway) is not up to date
    track = Path(_json(capsys, argv)["path"])
    whole = track.read_bytes()
    track.write_bytes(whole[: len(whole) // 2])
    assert rebuilt(argv) and track.read_bytes() == whole
    # a damaged cue sheet (its duration is what the skip reports) is built again
    sheet = track.with_name(track.stem + ".cues.json")
    length = json.loads(sheet.read_text())["duration"]
    for damaged in ("abc", [1] * 1000, 1e308, -1e9, None):
        sheet.write_text(json.dumps({**json.loads(sheet.read_text()), "duration": damaged}))
        assert rebuilt(argv), damaged
        assert json.loads(sheet.read_text())["duration"] == length


def test_a_split_build_is_up_to_date_while_its_parts_are_the_ones_it_wrote(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A split build asked again with nothing changed writes nothing (it was built again
    each time); a part gone or changed, the playlist changed, or a whole build between
    builds it again, and a whole build is never taken for the split one."""
    out = tmp_path / "out"
    argv = ["build", "morning-hips", "--engine", "test", "-o", str(out), "--split", "--json"]
    first = _json(capsys, argv)
    assert not first["up_to_date"] and len(first["parts"]) == 6
    before = _mtimes(out)
    again = _json(capsys, argv)
    assert again["up_to_date"] and again["parts"] == first["parts"]
    assert again["bytes"] == first["bytes"] and _mtimes(out) == before
    assert run_cli(argv[:-1]) == 0  # the quick answer reads --split too
    assert "up to date (" in capsys.readouterr().out and _mtimes(out) == before

    def rebuilt(args: list[str]) -> bool:
        return not bool(_json(capsys, args)["up_to_date"])

    part, playlist = Path(first["parts"][2]), Path(first["path"])
    part.unlink()
    assert rebuilt(argv) and part.is_file() and not rebuilt(argv)
    part.write_bytes(part.read_bytes() + b"x")
    assert rebuilt(argv) and not rebuilt(argv)
    playlist.write_text(playlist.read_text() + "#\n")
    assert rebuilt(argv) and not rebuilt(argv)
    whole = [*argv[:-2], "--json"]
    assert rebuilt(whole) and not rebuilt(whole)  # the split sheet is not the whole's
    assert rebuilt(argv) and not rebuilt(argv)
    # the sheet vouches only for the files as the build wrote them (an attack: a part
    # listed twice, or dropped with its file, or a cue sheet listed as one, was up to date)
    sheet_path = playlist.with_suffix(".cues.json")
    written = json.loads(sheet_path.read_text())
    vtt = playlist.with_suffix(".vtt")
    for edited in ([*written["parts"], written["parts"][0]], written["parts"][:-1],
                   [*written["parts"], {"file": vtt.name, "bytes": vtt.stat().st_size,
                                        "sha256": hashlib.sha256(vtt.read_bytes()).hexdigest()}]):
        sheet_path.write_text(json.dumps({**written, "parts": edited}))
        assert rebuilt(argv), edited
        written = json.loads(sheet_path.read_text())
    part.unlink()
    part.symlink_to(tmp_path / "elsewhere.mp3")  # never read through, nor vouched for
    (tmp_path / "elsewhere.mp3").write_bytes(b"x")
    assert run_cli(argv) == ExitCode.OUTPUT and "is a symbolic link" in capsys.readouterr().err


def test_up_to_date_build_loads_no_engine_audio_stack_or_cli_framework(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(["build", "morning-hips", "--engine", "test", "-o", str(out)]) == 0
    code = ("import sys; from voiceguide.cli import main\n"
            f"try: main(['build', 'morning-hips', '--engine', 'test', '-o', {str(out)!r}])\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "bad = [m for m in ('numpy', 'scipy', 'matplotlib', 'voiceguide.build',\n"
            "       'voiceguide.speech.espeak_worker', 'voiceguide.routine.model',\n"
            "       'typer', 'pydantic', 'rich')\n"
            "       if m in sys.modules]\n"
            "assert not bad, bad")
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    assert "up to date" in done.stdout


def test_quick_build_options_are_the_typer_commands_options() -> None:
    """The up-to-date answer reads ``build``'s options itself: each option it reads names
    the parameter typer fills, and every option typer takes is read or left to typer."""
    from voiceguide.cli import quick

    typer_options = command_options("build")
    read = {**{o: (d, False) for o, (d, _) in quick.VALUES.items()},
            **{o: (d, not flag) for o, (d, flag) in quick.FLAGS.items()}}
    assert set(typer_options) | {"--help"} == set(read) | set(quick.LEFT_TO_TYPER)
    for option, (dest, negative) in read.items():
        assert typer_options[option][0] == dest, option
        if option in quick.FLAGS:  # --no-x sets False, --x True
            assert typer_options[option][1] == negative or option == "--no-cache", option
    params = {dest for dest, _ in typer_options.values()}
    assert set(quick.SETTINGS.values()) <= params


@pytest.mark.parametrize("argv", [
    ["build"],  # no routine
    ["build", "a", "b"],  # two routines
    ["build", "a", "--force"], ["build", "a", "--help"],
    ["build", "a", "--rate", "1e2"],  # typer may read it; we do not guess
    ["build", "a", "--level", "expert"], ["build", "a", "--minutes"],
    ["build", "a", "--name", "-q"],  # a value that looks like an option
    ["build", "a", "--rate", "140", "--rate", "150"],  # typer decides which counts
    ["build", "a", "-qo", "x"], ["build", "a", "--json=1"], ["--debug", "build", "a"],
    ["pack", "a"],
])
def test_quick_build_leaves_what_it_cannot_read_exactly_to_typer(argv: list[str]) -> None:
    from voiceguide.cli.quick import parse_build

    assert parse_build(argv) is None


def test_quick_build_reads_options_as_typer_does() -> None:
    from voiceguide.cli.quick import parse_build

    got = parse_build(["build", "hips", "-o", "out", "--minutes=12", "--rate", "140",
                       "--no-optional", "-q", "--level", "beginner", "--bed-volume", "-3"])
    assert got is None  # "-3" looks like an option: typer reads it
    got = parse_build(["build", "hips", "-o", "out", "--minutes=12", "--rate", "140",
                       "--no-optional", "-q", "--level", "beginner", "--name", "Ana"])
    assert got == {"routine": "hips", "out_dir": Path("out"), "minutes": 12.0, "rate": 140,
                   "optional": False, "quiet": True, "level": "beginner", "name": "Ana"}
    # minutes and seconds, as typer's parser reads them (4:30 went the long way)
    for minutes, read in (("4:30", 4.5), (" 4:59 ", 4 + 59 / 60), ("04:30", 4.5)):
        assert parse_build(["build", "hips", "--minutes", minutes]) == {
            "routine": "hips", "minutes": read}, minutes
    for minutes in ("4:5", "4:60", "1:30:00", "4:30.5"):
        assert parse_build(["build", "hips", "--minutes", minutes]) is None, minutes


# ---- --json, completion, help --------------------------------------------------------

def test_json_outputs_parse_and_have_the_documented_fields(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = _json(capsys, ["list", "--json"])
    assert {"routine", "file", "title", "level", "minutes", "designed"} <= set(
        listed["routines"][0])
    shown = _json(capsys, ["show", "morning-hips", "--engine", "test", "--json"])
    assert {"routine", "outline"} <= set(shown) and shown["outline"]
    voices = _json(capsys, ["voices", "--engine", "test", "--json"])
    assert voices["voices"] and {"id", "name", "languages"} <= set(voices["voices"][0])
    cache = _json(capsys, ["cache", "info", "--json"])
    assert {"path", "phrases", "bytes"} <= set(cache)
    built = _json(capsys, ["build", "morning-hips", "--engine", "test", "-o",
                           str(tmp_path / "o"), "--json"])
    assert {"path", "up_to_date", "duration", "bytes", "sidecars", "input_hash",
            "heard_wpm", "synthesised", "cached", "warnings"} <= set(built)
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\nmatrix:\n  routines: [morning-hips]\n  names: [Ana, Ben]\n")
    packed = _json(capsys, ["pack", str(pack), "--engine", "test", "-o", str(tmp_path / "pk"),
                            "--json"])
    assert {"folder", "built", "unchanged", "removed", "synthesised", "cached", "zip",
            "index"} <= set(packed) and len(packed["built"]) == 2


def test_bash_completion_script_and_routine_names_complete() -> None:
    # as a bash user runs it: typer finds the shell among the command's parents (the
    # trailing ':' keeps bash from replacing itself with the command)
    shown = subprocess.run(["bash", "-c", f"'{sys.executable}' -m voiceguide --show-completion; :"],
                           cwd=ROOT, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr + shown.stdout
    script = shown.stdout
    assert "complete" in script and "_VOICEGUIDE_COMPLETE" in script
    env = {**os.environ, "_VOICEGUIDE_COMPLETE": "complete_bash",
           "COMP_WORDS": "voiceguide build morn", "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-m", "voiceguide"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert "morning-hips" in done.stdout


def test_help_has_plain_metavars_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("build", "validate", "pack", "show", "new", "init", "voices", "schema"):
        capsys.readouterr()
        assert run_cli([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "<str>" not in text and "<path>" not in text and "list[" not in text
        assert "{" not in text.splitlines()[0], text.splitlines()[0]
    assert run_cli(["build", "--help"]) == 0
    text = capsys.readouterr().out
    from voiceguide.export.formats import formats

    assert "--level <beginner|advanced>" in text
    assert "--format <" + "|".join(formats()) + ">" in text


@pytest.mark.parametrize("argv", [[], ["cache"]])
def test_a_command_without_its_subcommand_shows_its_help_as_help(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`voiceguide` alone, a newcomer's first try, printed the whole help squashed into
    one 'Error:' line (a new user's review)."""
    assert run_cli(argv) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("Usage: voiceguide") and "Error" not in err
    assert "\nCommands:\n" in err and len(err.splitlines()) > 5


def test_out_naming_a_track_file_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out mytrack.mp3` made a folder 'mytrack.mp3' with the track inside (a new
    user's review). A folder of that name that exists is taken as asked."""
    out = tmp_path / "mytrack.mp3"
    argv = ["build", "morning-hips", "--engine", "test", "--out", str(out)]
    assert run_cli(argv) == ExitCode.USAGE
    assert "--track-name" in capsys.readouterr().err and not out.exists()
    out.mkdir()
    assert run_cli(argv) == 0 and (out / "morning-hips.mp3").is_file()
    # an empty --track-name is no name given (it wrote 'track.mp3')
    assert run_cli([*argv, "--track-name", "", "--force"]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".lrc", ".mp3", ".vtt"]


def test_init_twice_is_a_usage_error_naming_force(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "profile.yaml"
    assert run_cli(["init", str(path), "--name", "Ana"]) == 0
    assert run_cli(["init", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert run_cli(["init", str(path), "--force", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("name", "said"), [
    ("A" * 80, "Error: --name must be at most 60 characters (got 80)"),
    ("A\x1bB", "Error: --name must not contain control characters (U+001B, character 2)"),
    # a player review: a noncharacter, shown as a box in a page's title
    ("A\ufffeB", "Error: --name must not contain control characters (U+FFFE, character 2)"),
])
def test_init_refuses_a_name_its_profile_could_not_be_read_back_with(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, said: str) -> None:
    """`init --name` wrote a profile that validate and build then refused (a code review)."""
    path = tmp_path / "profile.yaml"
    assert run_cli(["init", str(path), "--name", name]) == ExitCode.USAGE
    assert capsys.readouterr().err.strip() == said and not path.exists()
    for good in ("Zoë", "Zoë 😀", 'Jo "JJ" O\'Neil'):  # an emoji was two lone surrogates
        assert run_cli(["init", str(path), "--name", good, "--force"]) == 0
        assert vg.check_file(path).kind == "profile"
        assert vg.load_profile(path).name == good


def test_init_says_how_build_finds_the_profile(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile written elsewhere than the default is read only when named: the advice
    printed says so (it said plain `voiceguide build <routine>` for any path)."""
    elsewhere = tmp_path / "p2.yaml"
    monkeypatch.setenv("VOICEGUIDE_PROFILE", str(tmp_path / "default.yaml"))
    assert run_cli(["init", str(elsewhere)]) == 0
    assert f"voiceguide build <routine> --profile {elsewhere}'" in capsys.readouterr().out
    assert run_cli(["init"]) == 0
    assert "voiceguide build <routine>' uses it" in capsys.readouterr().out


def test_a_new_routine_shown_by_name_points_to_its_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`new` writes the routine where the user stands; its name alone is looked up in the
    routine folders, so the error names the file that would work."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(["new", "evening-stretch", "--quiet"]) == 0
    assert run_cli(["show", "evening-stretch"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "'evening-stretch.yaml'" in err, err
    assert run_cli(["show", "evening-stretch.yaml"]) == 0


def test_show_and_script_lay_out_what_build_would_with_the_profile(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The profile's name, rate and minutes reach `script` and `show` as they reach `build`
    (both ignored it: a 6-minute profile showed 4:30); lengths read to a tenth."""
    import re

    profile = tmp_path / "p.yaml"
    profile.write_text("name: Eve\nrate: 180\nminutes: 6\n")
    assert run_cli(["script", "morning-hips", "--engine", "test", "--profile",
                    str(profile)]) == 0
    text = capsys.readouterr().out
    head = re.match(r"# Morning hips: (\d+):(\d\d\.\d) ", text)  # read to a tenth
    assert head and abs(int(head[1]) * 60 + float(head[2]) - 360) <= 1.0 and "Eve" in text, \
        text[:200]  # the profile's 6 minutes, within the fitter's second
    assert run_cli(["show", "morning-hips", "--engine", "test", "--profile", str(profile),
                    "--minutes", "5"]) == 0
    shown = capsys.readouterr().out
    assert "(target 5:00.0;" in shown, shown[:300]  # an option beats it
    assert not re.search(r"\d\.\d\d+ s\b", shown), shown  # "gap 0.0498866 s" before
    assert "breathe in " in shown and " s x " not in shown


def test_an_unknown_engine_is_a_usage_error_for_every_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`voices --engine nope` exited 6 (an engine that failed), `build` 2: both say 2."""
    for argv in (["voices", "--engine", "nope"], ["build", "morning-hips", "--engine", "nope"],
                 ["script", "morning-hips", "--engine", "nope"]):
        assert run_cli(argv) == 2, argv
        assert "unknown speech engine 'nope'" in capsys.readouterr().err


def test_an_unknown_format_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`build --format mp4` said "unknown format 'mp4'" without naming --format (the
    up-to-date check looked the format up before the options were checked)."""
    assert run_cli(["build", "morning-hips", "--format", "mp4", "--engine", "test"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: --format: unknown format 'mp4' (did you mean 'mp3'"), err


def test_an_up_to_date_build_says_its_warnings_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A length the routine was not designed for warns; asked again and up to date, the
    build said nothing of it ("warnings": [] in --json)."""
    argv = ["build", "morning-hips", "--minutes", "7.5", "--engine", "test", "-o",
            str(tmp_path), "--json"]
    first = _json(capsys, argv)
    assert first["warnings"] and "designed for" in first["warnings"][0]
    second = _json(capsys, argv)
    assert second["up_to_date"] and second["warnings"] == first["warnings"]
    assert run_cli(argv[:-1]) == 0
    err = capsys.readouterr().err
    assert f"Warning: {first['warnings'][0]}" in err


def test_a_builds_json_lists_every_warning_it_said_and_says_every_one_it_lists(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `build --json` that replaced a track built at another rate
    said so on stderr only ("warnings": [] in the document an app reads), and the
    warnings the document listed (a rate faster than calm guidance) were not said on
    stderr, as a pack's are. Each is in both, once; up to date, again."""
    argv = ["build", "morning-hips", "--engine", "test", "--minutes", "5", "--name", "Ana",
            "-o", str(tmp_path)]
    assert run_cli([*argv, "--rate", "130", "-q"]) == 0
    capsys.readouterr()
    for up_to_date in (False, True):
        assert run_cli([*argv, "--rate", "250", "--json"]) == 0
        out, err = capsys.readouterr()
        doc = json.loads(out)
        assert doc["up_to_date"] is up_to_date
        said = [line.removeprefix("Warning: ") for line in err.splitlines()]
        assert all(line.startswith("Warning: ") for line in err.splitlines()), err
        assert doc["warnings"] == said, (doc["warnings"], said)
        assert any(w.startswith("a rate of 250 words per minute is faster than calm")
                   for w in said), said
        replaced = [w for w in said if "was built with rate 130 (now 250) and is replaced"
                    in w]
        assert len(replaced) == (0 if up_to_date else 1), said


def test_minutes_whose_decimals_read_like_seconds_are_warned_of_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: a pack warned that `minutes: 8.30` is 8:18, but `--minutes
    8.30` built 8:18 unsaid. Now said once (for the value used), in --json too; a
    decimal as written (8.3), a quarter or a half, and minutes and seconds are not."""
    argv = ["show", "morning-hips", "--engine", "test"]
    said = "--minutes 5.30 is 5:18 (minutes as a decimal); for 5 minutes 30 seconds write 5:30"
    assert run_cli([*argv, "--minutes", "5.30"]) == 0
    assert capsys.readouterr().err == f"Warning: {said}\n"
    doc = _json(capsys, [*argv, "--minutes", "5.30", "--json"])
    assert doc["warnings"][0] == said and doc["minutes"] == pytest.approx(5.3)
    assert run_cli([*argv, "--minutes", "5.40", "--minutes", "5.30"]) == 0
    err = capsys.readouterr().err
    assert err.count("minutes as a decimal") == 1 and said in err, err
    for fine in ("5.3", "5.25", "5.50", "5:30", "6", "5.75"):
        assert run_cli([*argv, "--minutes", fine]) == 0
        assert "minutes as a decimal" not in capsys.readouterr().err, fine
    out = tmp_path / "o"
    for _ in range(2):  # built, then up to date: said each time
        assert run_cli(["build", "morning-hips", "--engine", "test", "--minutes", "5.30",
                        "-o", str(out), "-q"]) == 0
        assert capsys.readouterr().err == f"Warning: {said}\n"


# ---- usage errors ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, said", [
    (["build", "morning-hips", "--minutes", "abc"],
     "'--minutes': must be a number, such as 12, or minutes and seconds, such as 3:30 ("),
    (["build", "morning-hips", "--rate", "150.5"], "'--rate': must be a whole number ("),
    (["build", "morning-hips", "--nmae", "x"], "--nmae"),
    (["validate", "--kind", "foo", "x.yaml"], "'foo' is not one of"),
    (["nosuch"], "'nosuch'"),
    # an option given last without its value pointed nowhere (a new user's review)
    (["build", "morning-hips", "--out"], "'--out' needs a value (see 'voiceguide build --help')"),
])
def test_a_mistyped_command_line_is_one_error_line_pointing_at_help(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A usage mistake reads like every other error: one 'Error:' line naming what was
    wrong and where the help is, exit code 2 (no usage block of the option parser)."""
    capsys.readouterr()
    assert run_cli(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert said in lines[0] and "--help')" in lines[0]


def test_lengths_are_shown_to_the_nearest_second() -> None:
    """A 12-minute track that came out 2 ms short is reported as 12:00, not 11:59."""
    from voiceguide.cli.quick import mmss

    assert [mmss(s) for s in (719.998, 720.4, 59.5, 0.2)] == ["12:00", "12:00", "1:00", "0:00"]


def test_validate_names_the_kind_of_a_readable_file_with_errors_and_the_pack_track_at_fault(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the kind of every file it could read, errors or not (null only for a
    file it cannot read); a pack track with an unknown voice is named by the pack file
    and the track (it was a bare 'unknown voice')."""
    typo = _routine(tmp_path, "  - hold: {secnds: 5}", "typo.yaml")
    pack = tmp_path / "pack.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: morning-hips, voice: en-xx}\n")
    doc = _json(capsys, ["validate", "--json", str(typo), str(pack),
                         str(tmp_path / "missing.yaml")], code=3)
    assert [(f["kind"], f["ok"]) for f in doc["files"]] == [
        ("routine", False), ("pack", False), (None, False)]
    voice = doc["files"][1]["errors"]
    assert voice[0].startswith(f"{pack}:3:5: track 1 (01-morning-hips): unknown voice 'en-xx'")


def test_voices_narrows_to_a_voice_and_says_when_nothing_matches(
        capsys: pytest.CaptureFixture[str]) -> None:
    """'voices --voice ID' lists that voice (it listed all 150), and a language or voice
    with no match says so instead of printing an empty table."""
    capsys.readouterr()
    assert run_cli(["voices", "--engine", "espeak", "--voice", "gmw/en", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [v["id"] for v in doc["voices"]] == ["gmw/en"] and doc["notes"] == []
    assert run_cli(["voices", "--engine", "espeak", "--lang", "xx"]) == 0
    seen = capsys.readouterr()
    assert seen.out == "" and "no voice of language 'xx'" in seen.err
    # a region with no voice of its own lists the language's, as a build would speak it
    # (a review: 'voices --lang pt-PT' said none, and a pt-PT routine took roa/pt)
    assert run_cli(["voices", "--engine", "espeak", "--lang", "pt-PT", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "roa/pt" in [v["id"] for v in doc["voices"]]
    assert doc["notes"] == ["no voice of 'pt-PT' itself: the voices of 'pt' are listed"]


def test_new_takes_a_name_not_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    """`voiceguide new ../escape` wrote ../escape.yaml, outside the folder, while a name
    such as "My Evening!" was refused (found by a new-user review)."""
    folder = tmp_path / "routines"
    folder.mkdir()
    for name in ("../escape", "sub/x"):
        assert run_cli(["new", name, "--dir", str(folder)]) == 2
        assert "is a path, not a routine name" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.yaml"))
    # the file's name for the routine's: `new calm.yaml` wrote calm.yaml.yaml
    assert run_cli(["new", "calm.yaml", "--dir", str(folder)]) == 0
    assert [p.name for p in folder.iterdir()] == ["calm.yaml"]
    assert run_cli(["new", ".yml", "--dir", str(folder)]) == 2  # it said '.yaml'
    assert "Error: '.yml' is not a routine name" in capsys.readouterr().err


def test_new_and_init_given_a_folder_say_so_and_name_their_own_options(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `init FOLDER` said "a profile already exists; use --force",
    and with --force spoke of "a file a track may replace ... from Python"; `new` did
    the same where its file's name was a folder, and its folder problems said to choose
    another folder with --out, which `new` does not have (its option is --dir)."""
    taken = tmp_path / "taken"
    (taken / "calm.yaml").mkdir(parents=True)
    for force in ([], ["--force"]):
        assert run_cli(["init", str(taken), *force]) == 2
        assert capsys.readouterr().err == (f"Error: {taken} is a folder, not a profile "
                                           f"file; give the path of the file to write, "
                                           f"such as {taken / 'profile.yaml'}\n")
        for kind in ([], ["--pack"]):
            assert run_cli(["new", "calm", "--dir", str(taken), *force, *kind]) == 2
            what = "pack" if kind else "routine"
            assert capsys.readouterr().err == (
                f"Error: {taken / 'calm.yaml'} is a folder, not a {what} file; choose "
                "another name or another folder (--dir)\n")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert run_cli(["new", "calm", "--dir", str(afile)]) == 9
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {afile}: is a file, not a folder") and \
        err.endswith("; choose another folder (--dir)\n") and err.count("\n") == 1, err
    assert afile.read_text() == "x"


def test_quick_validate_renders_a_name_only_branch_too(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """`{% if name %}{{ nme }}{% endif %}` in a routine with no length range passed
    `validate --quick`: it was rendered without a name only, and the first build for a
    named listener failed (found by a new-user review)."""
    path = tmp_path / "named.yaml"
    path.write_text('title: T\nsteps:\n  - say: "Hello{% if name %}, {{ nme }}{% endif %}."\n')
    assert run_cli(["validate", "--quick", str(path)]) == 3
    assert "'nme' is undefined (did you mean 'name'?)" in capsys.readouterr().err


def test_a_template_mistake_in_a_branch_not_taken_stops_build_and_script_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's `{% if name %}, {{ nme }}{% endif %}` built without a name played (exit
    0, no warning) while validate refused it, and every client's build then failed (a new
    user's review); the same mistake in a library exercise the routine uses is found."""
    path = tmp_path / "named.yaml"
    path.write_text('title: T\nsteps:\n  - say: "Hello{% if name %}, {{ nme }}{% endif %}."\n')
    for argv in (["build", str(path), "-o", str(tmp_path / "out")], ["script", str(path)]):
        assert run_cli([*argv, "--engine", "test"]) == 4, argv
        err = capsys.readouterr().err
        assert f"Error: {path}:3:" in err and "'nme' is undefined (did you mean 'name'?)" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    uses = routine_using(tmp_path, "rock", 'title: Rock\nsteps:\n  - say: "Rock{% if level '
                         '== \'x\' %} {{ sied }}{% endif %}."\n', "uses.yaml")
    assert run_cli(["script", str(uses), "--engine", "test"]) == 4
    err = capsys.readouterr().err
    assert "rock.yaml:3:" in err and "'sied' is undefined (did you mean 'side'?)" in err
    # at any depth: an exercise used by an exercise the routine uses (the attack on the
    # first version); and what is set is not refused: a parameter set only in
    # level_params, a routine's parameter a library exercise says
    (tmp_path / "exercises" / "outer.yaml").write_text(
        "title: Outer\nsteps:\n  - exercise: rock\n")
    uses.write_text("title: U\nsteps:\n  - exercise: outer\n")
    assert run_cli(["script", str(uses), "--engine", "test"]) == 4
    assert "'sied' is undefined" in capsys.readouterr().err
    (tmp_path / "exercises" / "rock.yaml").write_text(
        "title: Rock\nlevels: [beginner]\nlevel_params: {beginner: {sways: 3}}\nsteps:\n"
        '  - say: "Sway {{ sways | words }} times, {{ hold_time }} seconds."\n')
    uses.write_text("title: U\nparams: {hold_time: 5}\nsteps:\n  - exercise: outer\n")
    assert run_cli(["script", str(uses), "--engine", "test"]) == 0, capsys.readouterr().err
    assert "Sway three times, 5 seconds." in capsys.readouterr().out


def test_show_lists_no_gap_of_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    """A gap the schedule left next to nothing (a hold's release, spoken) was listed
    by `show` as "gap 0 s" (found by a new-user review)."""
    path = tmp_path / "held.yaml"
    path.write_text(
        "title: T\nsteps:\n  - sides:\n      steps:\n"
        "        - say: Hug your {{ side }} knee toward your chest.\n"
        "        - hold:\n            seconds: 30\n            min: 20\n"
        "            max: 90\n            say: Hold, and let the breath stay soft.\n"
        "            cues:\n              - halfway: true\n"
        "                say: \"{{ phrase('halfway') }} Let your shoulders rest.\"\n"
        "            release: Slowly lower your {{ side }} foot back to the floor.\n"
        "        - rest: {seconds: 4, min: 3, max: 20}\n")
    assert run_cli(["show", str(path)]) == 0  # the real voice's lengths
    out = capsys.readouterr().out
    assert "hold 30 s" in out and "gap 0.8 s" in out and "gap 0 s" not in out, out


def test_a_packs_warnings_reach_stderr_with_quiet_and_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A listener given twice was said only without --quiet and --json (found by a
    review); a profile's missing bed file passed validate (its build failed)."""
    pack = tmp_path / "twice.yaml"
    pack.write_text("title: P\ndefaults: {engine: test}\ntracks:\n"
                    "  - {routine: morning-hips, name: Ana}\n"
                    "  - {routine: morning-hips, name: Ana}\n")
    for flag in ("--quiet", "--json"):
        assert run_cli(["pack", str(pack), "--out", str(tmp_path / flag), flag]) == 0
        assert "tracks 1 and 2 are the same routine" in capsys.readouterr().err, flag
    # and again when the pack is up to date (answered before the CLI framework loads)
    assert run_cli(["pack", str(pack), "--out", str(tmp_path / "--quiet")]) == 0
    again = capsys.readouterr()
    assert "0 built, 2 unchanged" in again.out
    assert "tracks 1 and 2 are the same routine" in again.err
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: Ana\nbed: nowhere/rain.wav\n")
    assert run_cli(["validate", "--kind", "profile", str(profile)]) == 3
    assert f"profile.yaml:2:6: bed: {tmp_path / 'nowhere' / 'rain.wav'}: no such bed " \
        "file" in capsys.readouterr().err  # beside the profile, wherever one builds


def test_an_up_to_date_build_prints_a_tampered_sheets_text_without_escapes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The cue sheet is not part of the input hash: escape sequences written into its
    warnings (clear screen, window title, a direction override) were printed raw by the
    quick path of an up-to-date build."""
    argv = ["build", "morning-hips", "--minutes", "7.5", "--engine", "test", "-o",
            str(tmp_path)]
    assert run_cli(argv) == 0
    sheet = next(tmp_path.glob("*.cues.json"))
    doc = json.loads(sheet.read_text())
    doc["warnings"] = ["\x1b[2J\x1b]0;PWNED\x07 evil \u202e"]
    doc["title"] = "\x1b[31mRed\x1b[0m title"
    sheet.write_text(json.dumps(doc))
    capsys.readouterr()
    assert run_cli(argv) == 0
    said = capsys.readouterr()
    assert "evil" in said.err and "up to date" in said.out.lower(), said
    for text in (said.out, said.err):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, text


def test_a_file_of_another_kind_is_named_for_what_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`build pack.yaml` gave four lines of unknown keys ('matrix' ... did you mean
    'max'?), `pack routine.yaml` six; `validate` took a profile with one typo for a
    routine; a pack kept among the routines warned at every `list`; a misspelt routine
    beside a pack got no suggestion."""
    pack = ROOT / "routines" / "packs" / "week-of-hips.yaml"
    routine = ROOT / "routines" / "morning-hips.yaml"
    profile = tmp_path / "ana.yaml"
    profile.write_text("name: Ana\nrat: 150\n")
    cases = [
        (["build", str(pack), "--engine", "test"], "this is a pack file, not a routine; "
         f"build its tracks with: voiceguide pack {pack}"),
        (["pack", str(routine), "--engine", "test"], "this is a routine file, not a pack; "
         f"build it with: voiceguide build {routine}"),
        (["build", "morning-hips", "--profile", str(routine), "--engine", "test"],
         "this is a routine file, not a profile"),
        (["build", str(ROOT / "routines" / "exercises" / "bridge.yaml")],
         "this is an exercise file, not a routine; use it in a routine's steps "
         "(- exercise: bridge)"),
        (["validate", str(profile)], "rat: unknown key 'rat' (did you mean 'rate'"),
    ]
    for argv, said in cases:
        capsys.readouterr()
        assert run_cli(argv) == 3, argv
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], (argv, lines)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "evening-stretch.yaml").write_text(routine.read_text())
    (folder / "clients.yaml").write_text("title: P\ntracks:\n  - {routine: evening-strech}\n")
    monkeypatch.setenv("VOICEGUIDE_ROUTINES", str(folder))
    capsys.readouterr()
    assert run_cli(["list"]) == 0
    assert "Warning" not in capsys.readouterr().err
    assert run_cli(["pack", str(folder / "clients.yaml"), "--engine", "test"]) == 3
    assert f"no routine named 'evening-strech' beside the pack (in {folder}) or in the " \
        "routine folders (did you mean 'evening-stretch'?)" in capsys.readouterr().err


def test_a_length_from_the_profile_that_cannot_be_met_says_where_it_comes_from(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`minutes: 12` uncommented in the profile `init` writes made `build morning-hips`
    fail with '12:00 is not possible' and nothing said it came from the profile."""
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: Ana\nminutes: 12\n")
    argv = ["build", "morning-hips", "--profile", str(profile), "--engine", "test", "-o",
            str(tmp_path / "o")]
    assert run_cli(argv) == 5
    err = capsys.readouterr().err
    assert "12:00 is not possible for 'Morning hips'" in err and \
        f"(minutes: 12 is set in the profile {profile}; give --minutes" in err, err
    assert run_cli([*argv, "--minutes", "6"]) == 0
    for command in ("show", "script"):  # said the same, without the profile (a review)
        assert run_cli([command, "morning-hips", "--profile", str(profile), "--engine",
                        "test"]) == 5
        assert f"(minutes: 12 is set in the profile {profile}" in capsys.readouterr().err


def test_a_profiles_bed_file_is_found_beside_it_wherever_one_builds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`bed: ~/sounds/rain.wav` in a profile was 'no such bed file' (no ~), and
    `bed: sounds/rain.wav` worked only when building from the profile's folder; a missing
    one did not say it came from the profile (a new user's review)."""
    from tests.test_pack_uptodate import write_wav

    home = tmp_path / "home"
    (home / "sounds").mkdir(parents=True)
    write_wav(home / "sounds" / "rain.wav", 3000)
    monkeypatch.setenv("HOME", str(home))
    profile = home / "profile.yaml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    argv = ["build", "morning-hips", "--profile", str(profile), "--engine", "test", "-o",
            str(tmp_path / "o"), "--json"]
    for bed in ("~/sounds/rain.wav", "sounds/rain.wav"):
        profile.write_text(f"name: Ana\nbed: {bed}\n")
        assert run_cli([*argv, "--force"]) == 0, capsys.readouterr().err  # found
        assert json.loads(capsys.readouterr().out)["warnings"] == []
    assert vg.check_file(profile).kind == "profile"
    profile.write_text("name: Ana\nbed: sounds/gone.wav\n")
    assert run_cli(argv) == ExitCode.AUDIO_INPUT
    assert capsys.readouterr().err.strip() == (
        f"Error: {home / 'sounds' / 'gone.wav'}: no such bed file (the bed is set in the "
        f"profile {profile}; give --bed to choose another)")
    # a home folder no one has was an internal error (RuntimeError) in every command
    profile.write_text("name: Ana\nbed: ~nosuchuser1/rain.wav\n")
    assert run_cli(argv) == ExitCode.AUDIO_INPUT
    assert capsys.readouterr().err.startswith("Error: ~nosuchuser1/rain.wav: no such bed")
    assert run_cli(["validate", str(profile)]) == ExitCode.INVALID_INPUT
    assert "bed: ~nosuchuser1/rain.wav: no such bed file" in capsys.readouterr().err


def test_validate_names_a_length_out_of_reach_and_still_shows_the_warnings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A routine whose `length:` it could not last stopped `validate` at one line without
    a place or a fix, and hid the warnings a coach only met after fixing it."""
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nlength: {min: 20, max: 30}\nsteps:\n"
                       "  - say: Hello {{ name }}.\n"
                       "  - pause: {seconds: 5, min: 2, max: 40}\n")
    assert run_cli(["validate", str(routine), "--engine", "test"]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"Error: {routine}:2:1: length: 'Short' is designed for 20 to 30 "
                             "minutes, but at the beginner level it can last "), err
    assert "set length: {min: " in err[0], err
    assert any(e.startswith("Warning: ") and "'{{ name }}' is empty" in e for e in err), err


def test_validate_names_every_track_of_a_pack_that_cannot_be_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`validate` of a pack stopped at its first impossible track: an app team found the
    next one, track 201, an hour into the build."""
    pack = tmp_path / "pack.yaml"
    pack.write_text("title: P\nmatrix:\n  routines: [morning-hips, bedtime-hips]\n"
                    "  names: [Ana]\n  minutes: [3, 6]\n")
    assert run_cli(["validate", str(pack), "--engine", "test"]) == 3
    lines = capsys.readouterr().err.splitlines()
    err = [e for e in lines if e.startswith("Error: ")]
    assert [e.split(" (")[0] for e in err] == [
        f"Error: {pack}:3:3: track 1", f"Error: {pack}:3:3: track 3"], lines
    assert all("is not possible for" in e and ": choose " in e for e in err), err
    # and the warnings of the tracks that can be built (6 minutes of a 7-12 routine)
    assert any(e.startswith(f"Warning: {pack}:3:3: track 4 (04-bedtime-hips-Ana-6min): "
                            "'Hips in bed at bedtime' is designed for 7 to 12")
               for e in lines), lines


def test_validate_names_the_track_of_a_packs_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: `validate clients.yaml` warned "10:00 is not possible for
    'Evening hips' ...; the nearest is 9:52" without saying whose track (pack names
    it: "01-evening-hips-Kim: ..."); with the routine and the pack checked in one run,
    not even which file."""
    pack = tmp_path / "clients.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: bedtime-hips, name: Ana}\n"
                    "  - {routine: bedtime-hips, name: Kim, minutes: 6}\n"
                    "  - {routine: bedtime-hips, name: Bea, minutes: 6}\n")
    assert run_cli(["validate", str(pack), "--engine", "test"]) == 0
    warned = [e for e in capsys.readouterr().err.splitlines()
              if "is designed for 7 to 12" in e]
    assert warned == [
        f"Warning: {pack}:4:5: track 2 (02-bedtime-hips-Kim-6min) and 1 more "
        "(03-bedtime-hips-Bea-6min): 'Hips in bed at bedtime' is designed for 7 "
        "to 12 minutes; the track lasts 6:00 as asked"], warned


def test_new_says_when_its_name_hides_a_library_routine_or_is_hidden(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`new morning-hips --dir routines` hid the shipped routine without a word: the
    folder ./routines is searched first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "routines").mkdir()
    assert run_cli(["new", "morning-hips", "--dir", "routines"]) == 0
    err = capsys.readouterr().err
    assert "the routine name 'morning-hips' now means routines/morning-hips.yaml, not " in err
    assert run_cli(["new", "morning-hips"]) == 0  # here: the name still finds the other
    err = capsys.readouterr().err
    assert "'voiceguide build morning-hips' builds " in err and "not this file" in err
    assert run_cli(["new", "my-own-stretch"]) == 0
    assert "Warning" not in capsys.readouterr().err


def test_the_long_and_the_quick_path_print_a_title_without_its_escapes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A routine titled with an escape sequence (a window title) was printed raw in the
    warning of a first build, and without it when the build was up to date. Such a title
    is refused now (an attack: a direction override read a title reversed everywhere);
    the error, said the same each time, prints no escape either."""
    routine = tmp_path / "esc.yaml"
    routine.write_text('title: "Esc\\e]0;PWNED\\atitle"\nlength: {min: 5, max: 6}\nsteps:\n'
                       "  - say: Hello there, settle in.\n"
                       "  - pause: {seconds: 5, min: 2, max: 300}\n")
    argv = ["build", str(routine), "--minutes", "3", "--engine", "test", "-o", str(tmp_path)]
    said = []
    for _ in range(2):
        assert run_cli(argv) == 3
        said.append(capsys.readouterr())
    for out in said:
        assert f"Error: {routine}:1:8: title: must not contain control characters " \
               "(U+001B, character 4)" in out.err, out
        assert "\x1b" not in out.err + out.out and "\x07" not in out.err + out.out
    assert said[0].err == said[1].err and not list(tmp_path.glob("*.mp3"))


def test_a_default_profile_that_is_no_regular_file_is_refused_not_ignored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """VOICEGUIDE_PROFILE naming /dev/zero, a FIFO or a folder built without the profile
    and without a word (--profile refused them); a profile not written yet is none."""
    argv = ["build", "morning-hips", "--engine", "test", "-o", str(tmp_path / "o")]
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for where, said in (("/dev/zero", "is a device"), (str(tmp_path), "is a folder"),
                        (str(fifo), "is a FIFO")):
        monkeypatch.setenv("VOICEGUIDE_PROFILE", where)
        assert run_cli(argv) == 3, where
        assert said in capsys.readouterr().err
    monkeypatch.setenv("VOICEGUIDE_PROFILE", str(tmp_path / "not-yet.yaml"))
    assert run_cli(argv) == 0


def test_a_second_format_of_one_track_says_whose_cue_sheets_it_replaced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'build morning-hips --format wav' after the MP3 wrote morning-hips.cues.json over
    the MP3's without a word (found by a plugin author's review)."""
    out = tmp_path / "out"
    argv = ["build", "morning-hips", "--engine", "test", "-o", str(out)]
    assert run_cli(argv) == 0
    assert run_cli([*argv, "--force"]) == 0  # the same track again: nothing to say
    assert "Warning" not in capsys.readouterr().err
    assert run_cli([*argv, "--format", "wav"]) == 0
    err = capsys.readouterr().err
    assert "morning-hips.cues.json described morning-hips.mp3, which is left without cue " \
           "sheets now that they describe morning-hips.wav" in " ".join(err.split())



def _on_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run the CLI with its output on a pseudo-terminal, as a person runs it."""
    import pty
    import select

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "voiceguide", *argv], cwd=cwd, env=env,
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed with the last process holding it
            break
        if not data:
            break
        seen += data
    os.close(leader)
    return proc.wait(timeout=60), seen.decode("utf-8", "replace")


def test_build_and_pack_on_a_terminal_show_progress_and_finish(tmp_path: Path) -> None:
    """On a terminal (every person's first run, and scripts/quickstart's), build and pack
    ended in an internal error: the progress bars entered a stand-in of the console that
    was no context manager; the tests and CI, without a terminal, never drew the bars (a
    new user's review)."""
    code, seen = _on_a_terminal(["build", "morning-hips", "--engine", "test", "--out",
                                 str(tmp_path / "one")], tmp_path)
    assert code == 0 and "Wrote " in seen and "internal error" not in seen, seen
    assert "Encoding" in seen  # the bars were drawn
    assert seen.rfind("\x1b[?25h") > seen.rfind("\x1b[?25l")  # and the cursor shown again
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ntracks: [{routine: morning-hips, name: Ana}]\n")
    code, seen = _on_a_terminal(["pack", str(pack), "--engine", "test", "--out",
                                 str(tmp_path / "pk")], tmp_path)
    assert code == 0 and "1 built" in seen and "internal error" not in seen, seen


def test_show_and_script_are_not_stopped_by_a_profiles_missing_bed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing bed file in the profile failed `show` and `script` with 'give --bed to
    choose another', an option they do not have (an attack): the bed plays no part in
    what they print."""
    profile = tmp_path / "p.yaml"
    profile.write_text("bed: nope.wav\n")
    for command in ("show", "script"):
        argv = [command, "morning-hips", "--engine", "test"]
        assert run_cli([*argv, "--profile", str(profile)]) == 0, capsys.readouterr().err
        with_profile = capsys.readouterr().out
        profile_free = tmp_path / "empty.yaml"
        profile_free.write_text("{}\n")
        assert run_cli([*argv, "--profile", str(profile_free)]) == 0
        assert capsys.readouterr().out == with_profile and "Morning hips" in with_profile


def test_script_and_show_say_the_warnings_build_would(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A coach proof-reading a length the routine was not designed for, or a fast rate,
    was told nothing by `script` or `show` (a build says both); the silence warning for a
    track without a bed is not said for a routine that plays its own bed."""
    argv = ["morning-hips", "--minutes", "7.5", "--rate", "200", "--engine", "test"]
    for command in ("script", "show"):
        assert run_cli([command, *argv]) == 0
        err = capsys.readouterr().err
        assert "designed for" in err and "faster than calm guidance" in err, (command, err)
    shown = _json(capsys, ["show", *argv, "--json"])
    assert len(shown["warnings"]) == 2, shown["warnings"]
    plan = vg.plan_track("bedtime-hips", {"minutes": 12, "engine": "test", "bed": "none"})
    assert any("silent for more than" in w for w in plan.warnings)  # with no bed
    assert run_cli(["script", "bedtime-hips", "--minutes", "12", "--engine", "test"]) == 0
    assert "silent for more than" not in capsys.readouterr().err  # its own ocean bed
    # and the bed a build would be given: a listening audit could not see a 53 s silence
    # coming with --bed none, which script and show did not take
    for command in ("script", "show"):
        assert run_cli([command, "bedtime-hips", "--minutes", "12", "--engine", "test",
                        "--bed", "none"]) == 0
        assert "silent for more than 30 s" in capsys.readouterr().err, command
        # and checked as a build checks it (they said nothing of a bed build refused),
        # said, not stopped at: the bed plays no part in what they print
        assert run_cli([command, "morning-hips", "--engine", "test", "--bed",
                        "/nonexistent/rain.wav"]) == 0
        err = capsys.readouterr().err
        assert "Warning: a build would stop: /nonexistent/rain.wav: no such bed file" in err


def test_script_and_show_take_the_voice_and_optional_steps_build_does(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A coach proof-reading the track a client gets with --no-optional and another
    voice could not: script and show had neither option (a new user's review)."""
    def printed(*args: str) -> str:
        assert run_cli(["script", "unlock-tight-hips", "--engine", "test", *args]) == 0
        return capsys.readouterr().out

    full, short = printed(), printed("--no-optional", "--voice", "tone/high")
    head = short.splitlines()[0]
    assert head != full.splitlines()[0] and len(short) < len(full), head
    assert run_cli(["show", "unlock-tight-hips", "--engine", "test", "--no-optional",
                    "--voice", "tone/high"]) == 0
    assert "voice tone/high" in capsys.readouterr().out


def test_list_shows_each_routines_designed_range_and_never_cuts_its_name(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`list` said '~16 min' but not the 14-19 minutes --minutes may ask for (a new user's
    review); on a narrow terminal a routine's name, which one types, was cut to
    'five-somatic-hip-exerc…' (and at 40 columns the titles vanished: an attack)."""
    monkeypatch.setenv("COLUMNS", "80")
    assert run_cli(["list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    about = re.search(r"~(\d+) \(14-19\)", rows["five-somatic-hip-exercises"])
    assert about and 14 <= int(about.group(1)) <= 19, rows  # the estimate, in its range
    for width in ("40", "60"):
        monkeypatch.setenv("COLUMNS", width)
        assert run_cli(["list"]) == 0
        out = capsys.readouterr().out
        assert "\u2026" not in out and "title" in out, out  # folded, never cut
        firsts = "".join(line[1:].split(" ")[0] for line in out.splitlines()[1:])
        assert "five-somatic-hip-exercises" in firsts.replace("\n", ""), out


def test_new_pack_writes_a_starter_pack_that_validates_and_builds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick start's `cp routines/packs/clients.yaml .` failed outside a clone (a pip
    user has no routines/ folder), and no command wrote a pack (a new user's review)."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(["new", "clients", "--pack"]) == 0
    assert "Wrote clients.yaml" in capsys.readouterr().out
    assert run_cli(["new", "clients", "--pack"]) == 2  # not replaced without --force
    assert "already exists; use --force" in capsys.readouterr().err
    assert run_cli(["validate", "clients.yaml", "--quick"]) == 0
    assert run_cli(["pack", "clients.yaml", "--engine", "test", "--out", "out"]) == 0
    folders = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir())
    assert folders == ["ana", "zoe"], folders
    for folder in folders:
        assert len(list((tmp_path / "out" / folder).glob("*.mp3"))) == 1
    # an attack: a name YAML reads as a number ('title: 123') failed to validate; a
    # folder with a space was printed unquoted; --from was ignored with --pack
    spaced = tmp_path / "sub dir"
    spaced.mkdir()
    for name in ("123", "true"):
        for kind in ([], ["--pack"]):
            assert run_cli(["new", name, *kind, "--dir", str(spaced)]) == 0
            assert f"voiceguide validate '{spaced / name}.yaml'\n" in capsys.readouterr().out
            assert run_cli(["validate", str(spaced / f"{name}.yaml"), "--quick"]) == 0, \
                capsys.readouterr().err
            (spaced / f"{name}.yaml").unlink()
    assert run_cli(["new", "c2", "--pack", "--from", "morning-hips"]) == 2
    assert "--from copies a routine" in capsys.readouterr().err


def test_show_gives_a_repeat_with_rests_between_as_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: `show morning-hips` listed the bridge's four lifts as 'reps
    of 5 s + 6 s; once' four times, with a rest line between each."""
    assert run_cli(["show", "morning-hips", "--engine", "test"]) == 0
    shown = capsys.readouterr().out
    routine = vg.load_routine("morning-hips")
    bridge = next(line for line in shown.splitlines() if "reps of 5 s + 6 s" in line)
    tl = vg.plan_track(routine, {"engine": "test"}).timeline
    chapter = next(c for c in tl.chapters if c.title == "Bridge")
    lifts = sum(1 for i in tl.intervals if i.kind == "phase"
                and chapter.start <= i.start < chapter.end) // 2  # in, then out
    assert re.search(rf"; {lifts} times, [\d.]+ s rest between$", bridge), shown
    assert "; once" not in shown


@pytest.mark.parametrize("rest", ["", "\n      rest: 2"])
def test_show_counts_a_repeat_whose_phases_repeat_within_it_as_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], rest: str) -> None:
    """A coach's review: six sways of out, in, out, in were shown as '12 times' (the
    phases were grouped by their labels, not by repetition)."""
    routine = tmp_path / "sway.yaml"
    routine.write_text("title: Sway\nsteps:\n  - say: Sway.\n  - repeat:\n      count: 6"
                       f"{rest}\n      phases:\n" + "".join(
                           f"        - {{breath: {b}, seconds: {s}, say: {b.title()}.}}\n"
                           for b, s in (("out", 5), ("in", 4), ("out", 5), ("in", 4))))
    assert run_cli(["show", str(routine), "--engine", "test"]) == 0
    shown = capsys.readouterr().out
    assert re.search(r"reps of 5 s \+ 4 s \+ 5 s \+ 4 s; 6 times(, 2 s rest between)?$",
                     shown, re.M), shown


def test_the_readmes_exercise_and_routine_validate_clean_and_a_silence_is_said_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user copying the README's clamshell and its routine got five near-identical
    warnings of long silences (one per level and length validate plans), none saying
    which: the example now has a word in the middle of its long hold, and a silence is
    said once, of the plan where it is longest, naming that plan."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    exercise = next(b for b in blocks if b.startswith("# exercises/clamshell.yaml"))
    routine = next(b for b in blocks if b.startswith("title: Clam break"))
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "clamshell.yaml").write_text(exercise)
    (tmp_path / "clam-break.yaml").write_text(routine)
    files = [str(tmp_path / "exercises" / "clamshell.yaml"), str(tmp_path / "clam-break.yaml")]
    assert run_cli(["validate", *files]) == 0
    out = capsys.readouterr()
    assert "Warning" not in out.err and "warning" not in out.out, out
    # without the word in the middle, every plan is silent for over 30 s: said once
    (tmp_path / "exercises" / "clamshell.yaml").write_text(re.sub(
        r" *cues:.*\n.*halfway.*\n", "", exercise))
    assert run_cli(["validate", *files]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "silent" in line]
    assert len(warned) == 1, warned
    assert re.search(r"clam-break\.yaml: at the (beginner|advanced) level and [\d.]+ minutes "
                     r"\(and at \d+ more of the levels and lengths planned\): with no bed",
                     warned[0]), warned


def test_an_option_given_twice_says_which_value_is_used(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`build --name A --name B` built B's track without a word, and `pack --jobs 1
    --jobs 2`, `--keep-going --fail-fast` ran as the last said (a new user's review: a
    mistyped second option builds the track for the wrong listener)."""
    argv = ["build", "morning-hips", "--engine", "test", "--out", str(tmp_path), "-q"]
    assert run_cli([*argv, "--name", "Ana", "--name=Bea"]) == 0
    err = capsys.readouterr().err
    assert "Warning: --name given 2 times (--name Ana, --name Bea): the last, --name Bea, " \
        "is used" in err
    assert (tmp_path / "morning-hips-Bea.mp3").exists()
    assert run_cli([*argv, "--optional", "--no-optional", "--minutes", "5"]) == 0
    err = capsys.readouterr().err
    assert "Warning: --optional and --no-optional given together: the last, --no-optional, " \
        "is used" in err and "--minutes" not in err
    assert run_cli([*argv, "--name", "Bea", "--name", "Bea"]) == 0  # the same: nothing
    assert "Warning" not in capsys.readouterr().err
    # a value that is the option's own name is a value, not a flag (an attack)
    import typer

    from voiceguide.cli.run import app, repeated_options

    command = typer.main.get_command(app)
    assert repeated_options(command, ["voices", "--say", "hello", "--say", "--say"]) == [
        "--say given 2 times (--say hello, --say --say): the last, --say --say, is used"]
    assert repeated_options(command, ["cache", "info"]) == []


def test_an_option_given_twice_is_in_the_json_and_read_as_the_parser_reads_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The warning of an option given twice reached stderr only: a program reading
    --json did not learn that the track was built for Bea, not Ana. It is in the JSON's
    warnings (built, and up to date); `-oa -ob` (a short option's value attached) is a
    repeat too, and `--minutes 5 --minutes 05`, one number, is not."""
    said = "--name given 2 times (--name Ana, --name Bea): the last, --name Bea, is used"
    argv = ["build", "morning-hips", "--engine", "test", "--out", str(tmp_path), "--json",
            "--name", "Ana", "--name", "Bea"]
    for up_to_date in (False, True):
        assert run_cli(argv) == 0
        captured = capsys.readouterr()
        doc = json.loads(captured.out)
        assert doc["up_to_date"] is up_to_date and doc["path"].endswith("-Bea.mp3")
        assert doc["warnings"][0] == said and f"Warning: {said}" in captured.err
    # every command's document has the list (validate, voices and the others had none)
    twice = "--engine given 2 times (--engine espeak, --engine test): the last, --engine " \
            "test, is used"
    engines = ["--engine", "espeak", "--engine", "test"]
    for argv, repeat in ((["validate", str(ROOT / "routines" / "morning-hips.yaml"), "--quick"],
                          engines), (["voices"], engines), (["list"], []), (["cache", "info"], [])):
        assert run_cli([*argv, "--json", *repeat]) == 0, argv
        doc = json.loads(capsys.readouterr().out)
        assert doc["warnings"] == ([twice] if repeat else []), argv
    import typer

    from voiceguide.cli.run import app, repeated_options

    command = typer.main.get_command(app)
    build = ["build", "morning-hips"]
    assert repeated_options(command, [*build, "-oa", "-ob"]) == [
        "-o given 2 times (-o a, -o b): the last, -o b, is used"]
    assert repeated_options(command, [*build, "-qoa", "--out=b", "-q"]) == [
        "-o given 2 times (-o a, --out b): the last, --out b, is used"]
    assert repeated_options(command, ["pack", "p.yaml", "-j1", "-j", "2"]) == [
        "-j given 2 times (-j 1, -j 2): the last, -j 2, is used"]
    for same in (["--minutes", "5", "--minutes", "05"], ["--rate", "140", "--rate=0140"],
                 ["-o", "out", "-oout/"], ["-q", "--quiet"]):
        assert repeated_options(command, [*build, *same]) == [], same
    # the value of an option given as often as wanted is its value, not an option: the
    # parser reads `--runner-option -j4 -j 2` as one -j (2), which was warned of as two
    pack = ["pack", "p.yaml"]
    for once in (["--runner-option", "-j4", "-j", "2"], ["--runner-option", "--jobs=1", "-j2"],
                 ["--runner-option", "a=1", "--runner-option", "a=2"]):
        assert repeated_options(command, [*pack, *once]) == [], once
    assert repeated_options(command, [*pack, "--runner-option", "-j4", "-j1", "-j", "2"]) == [
        "-j given 2 times (-j 1, -j 2): the last, -j 2, is used"]


def test_new_says_a_name_is_needed_the_ascii_rule_and_force_as_each_caller_gives_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`new ""` said "'.yaml' is not a routine name"; `new Zoë` "use letters, digits and
    '-'" (the rule is ASCII); new_routine(existing) "use --force", which the API has as
    force=True (a new-user review)."""
    argv = ["--dir", str(tmp_path)]
    for name, said in [
            ("", "a routine name is needed, as in 'voiceguide new evening-stretch'"),
            ("Zoë", "'Zoë' is not a routine name; use ASCII letters (a-z), digits and '-', "
                    "for example 'evening-stretch'")]:
        assert run_cli(["new", name, *argv]) == ExitCode.USAGE
        assert capsys.readouterr().err.splitlines() == [f"Error: {said}"]
    assert run_cli(["new", "", "--pack", *argv]) == ExitCode.USAGE
    assert capsys.readouterr().err.splitlines() == [
        "Error: a pack name is needed, as in 'voiceguide new clients --pack'"]
    assert run_cli(["new", "calm", *argv]) == 0
    assert run_cli(["new", "calm", *argv]) == ExitCode.USAGE
    assert capsys.readouterr().err.splitlines() == [
        f"Error: {tmp_path / 'calm.yaml'} already exists; use --force to replace it"]
    with pytest.raises(vg.UsageError) as caught:
        vg.new_routine(tmp_path / "calm.yaml")
    assert str(caught.value) == (f"{tmp_path / 'calm.yaml'} already exists; pass force=True "
                                 "to replace it")
    with pytest.raises(vg.UsageError, match=r"^'Zoë' is not a pack name; use ASCII letters"):
        vg.new_pack(tmp_path / "Zoë.yaml")
    # an app team's review: a path without .yaml was told its name broke the ASCII rule
    with pytest.raises(vg.UsageError) as caught:
        vg.new_routine(tmp_path / "evening")
    assert str(caught.value) == (f"{tmp_path / 'evening'} is not a YAML file's path; give "
                                 f"it a .yaml ending: {tmp_path / 'evening.yaml'}")


def test_validate_says_an_exercises_problem_once_and_names_the_routine_it_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user review: `validate exercises/hip-circles.yaml m4.yaml` printed the
    exercise's error twice, the second copy not saying it came from checking m4.yaml."""
    (tmp_path / "exercises").mkdir()
    exercise = tmp_path / "exercises" / "hip-circles.yaml"
    exercise.write_text("title: Hip circles\nposition: standing\ncolr: red\n"
                        "steps:\n  - say: Circle your hips.\n")
    routines = [tmp_path / "m4.yaml", tmp_path / "m5.yaml"]
    for routine in routines:
        routine.write_text("title: M4\nsteps:\n  - exercise: hip-circles\n")
    problem = f"Error: {exercise}:3:1: colr: unknown key 'colr'\n"
    assert run_cli(["validate", "--quick", str(exercise), *map(str, routines)]) == 3
    assert capsys.readouterr().err == problem + "".join(
        f"Error: {r}: fails with the problem said above ({exercise}:3:1)\n" for r in routines)
    assert run_cli(["validate", "--quick", str(routines[0]), str(exercise)]) == 3
    assert capsys.readouterr().err == problem  # of the exercise's own file: said, once
    doc = _json(capsys, ["validate", "--quick", "--json", str(exercise), str(routines[0])],
                code=3)
    assert [f["errors"] for f in doc["files"]] == [[problem[7:-1]]] * 2  # each file's own


def test_minutes_are_taken_as_minutes_and_seconds_as_every_length_is_shown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`show` said "it can last 3:59 to 7:42" and `--minutes 3:59` was "must be a
    number": a length is taken as it is shown (m:ss), on the command line, in a pack's
    track and in the API's settings; the file is named by its minutes and seconds where
    its minutes are not a short decimal."""
    built = _json(capsys, ["build", "morning-hips", "--engine", "test", "--minutes", "4:59",
                           "-o", str(tmp_path / "b"), "--json"])
    assert Path(built["path"]).name == "morning-hips-4m59s.mp3"
    assert built["duration"] == pytest.approx(299.0, abs=1e-3)
    assert decode(Path(built["path"])).size / SR == pytest.approx(299.0, abs=0.03)
    half = _json(capsys, ["build", "morning-hips", "--engine", "test", "--minutes", "4:30",
                          "-o", str(tmp_path / "b"), "--json"])
    assert Path(half["path"]).name == "morning-hips-4.5min.mp3"  # as --minutes 4.5 names it
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: morning-hips, name: Ana, minutes: 4:59}\n")
    assert run_cli(["pack", str(pack), "--engine", "test", "-o", str(tmp_path / "p"),
                    "-q"]) == 0
    assert sheet_of(next((tmp_path / "p").glob("*4m59s.mp3")))["duration"] == \
        pytest.approx(299.0, abs=1e-3)
    assert vg.TrackSettings(minutes="3:30").minutes == 3.5  # type: ignore[arg-type]
    # as a file is named (a new user's review: --minutes 6min was refused, the file
    # named 6min): 6min, 4.5min, 4m59s
    # and as people write one (an app team's review: "5m" was refused, "4m30s" taken)
    for named, minutes in (("6min", 6.0), ("4.5min", 4.5), ("4m59s", 299 / 60), ("8m", 8.0),
                           ("5 minutes", 5.0), ("4m 30s", 4.5)):
        assert vg.TrackSettings(minutes=named).minutes == minutes  # type: ignore[arg-type]
    named = _json(capsys, ["build", "morning-hips", "--engine", "test", "--minutes", "4m59s",
                           "-o", str(tmp_path / "b"), "--json"])
    assert named["path"] == built["path"] and named["up_to_date"]
    for bad in ("3:60", "abc", "8mm", "4m60s", "m"):
        assert run_cli(["build", "morning-hips", "--engine", "test", "--minutes", bad]) == 2
        assert "--minutes': must be a number, such as 12, or minutes and seconds, such as " \
               "3:30" in capsys.readouterr().err
    # out of bounds, said as a person writes it (1e400 was an internal error naming it)
    for bad, got in (("0:29", "0.483333"), ("1e400", "inf"), ("nan", "nan")):
        assert run_cli(["build", "morning-hips", "--engine", "test", "--minutes", bad]) == 2
        assert capsys.readouterr().err == \
            f"Error: --minutes must be between 0.5 and 180 (got {got})\n"


def test_json_output_writes_what_turns_a_line_around_as_escapes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An attack: a key holding U+202E came out raw in `validate --json`, where the text
    output drops it (the README: removed from everything printed). The JSON says it as
    an escape: the same document, and nothing a terminal acts on."""
    path = tmp_path / "bidi.yaml"
    path.write_text("title: T\nk\u202eyek: 1\nsteps:\n  - say: Hello.\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli(["validate", "--quick", "--json", str(path)]) == 3
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\\u202e" in out
    assert "k\u202eyek" in json.dumps(json.loads(out), ensure_ascii=False)


def test_a_ctrl_c_the_moment_the_handlers_are_set_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh clone's suite: a Ctrl-C that came just after the handlers were set, before
    the command's try, was a traceback (the signal is raised there as here)."""
    import voiceguide.cli as cli

    real = cli.catch_stops

    def then_ctrl_c() -> None:
        real()
        cli.on_term(2, None)  # what the handler does when SIGINT comes now

    monkeypatch.setattr(cli, "catch_stops", then_ctrl_c)
    with pytest.raises(SystemExit) as stopped:
        try:
            cli.main(["--help"])
        except KeyboardInterrupt:
            pytest.fail("the Ctrl-C left main: a traceback")
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "Error: interrupted; no partial files were left\n"


def test_validate_plans_without_optional_steps_as_warnings_only(tmp_path: Path) -> None:
    """A routine whose optional steps make its length builds by default: validate plans
    it without them too (a move they made is then not made), and what only that plan finds
    is a warning saying so, never a failure (the review of the first version: a routine of
    2.9-3.1 minutes with an optional 2-minute hold failed validate, told to set length)."""
    path = tmp_path / "opt.yaml"
    path.write_text(
        "title: Optional matters\nlength: {min: 6, max: 7}\nbed: rain\nstart: any\n"
        "steps:\n  - say: Welcome.\n  - exercise: butterfly\n    optional: true\n"
        "  - hold: {seconds: 60, min: 40, max: 80, say: Rest here, cues: "
        "[{halfway: true, say: Halfway.}]}\n  - say: Lie on your back.\n"
        "  - exercise: glute-stretch\n")
    warnings = vg.check_file(path, "test").warnings
    assert [w for w in warnings if "asks again" in w and w.endswith(
        "(without its optional steps, as with --no-optional)")], warnings
    assert not [w for w in warnings if ": length: " in w], warnings


def test_validate_checks_at_a_listeners_voice_and_rate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach whose client listens at --rate 100 could check a routine at that rate only
    with show, one length at a time: validate planned at the default rate alone. It takes
    --voice and --rate now, as build does, and says a failure was found at them."""
    path = tmp_path / "rate.yaml"
    path.write_text("title: Rate check\nsteps:\n  - say: Welcome.\n  - breathe: {in: 3, "
                    "out: 4, cycles: 2, say: {in: Breathe in slowly through your nose., "
                    "out: And out.}}\n")
    doc = _json(capsys, ["validate", "--json", "--engine", "test", str(path)])
    assert doc["ok"] and doc["files"][0]["warnings"] == []
    doc = _json(capsys, ["validate", "--json", "--engine", "test", "--rate", "100", str(path)])
    assert doc["ok"] and "spoken up to 1.30x faster to fit its slot" in \
        doc["files"][0]["warnings"][0], doc
    assert run_cli(["validate", "--rate", "30", str(path)]) == 2
    assert "--rate must be between 100 and 300 (got 30)" in capsys.readouterr().err
    # an unknown --voice is the option's problem, not the files': said once, as build
    # says it, exit 7 (a new user's review: each file failed with it, exit 3)
    for flags in ([], ["--json"]):
        assert run_cli(["validate", "--engine", "espeak", "--voice", "nosuch", *flags,
                        str(path), str(path)]) == 7
        out, err = capsys.readouterr()
        assert err.startswith("Error: unknown voice 'nosuch' for the espeak engine") and \
            err.count("\n") == 1 and out == "", (out, err)
    # a routine whose own length cannot be laid out in its range at that rate fails, as a
    # build at that rate would, and says at what
    def long(ends: str, sentences: int = 4) -> Path:
        path.write_text(f"title: Long\nlength: {ends}\nsteps:\n  - say: Welcome.\n"
                        "  - pause: {seconds: 45, min: 44, max: 46}\n  - say: " +
                        " ".join(["Breathe and let the hips rest."] * sentences) + "\n")
        return path

    assert run_cli(["validate", "--engine", "test", str(long("{min: 0.9, max: 0.95}"))]) == 0
    capsys.readouterr()
    assert run_cli(["validate", "--engine", "test", "--rate", "100", str(path)]) == 3
    err = capsys.readouterr().err
    assert "(checked with --rate 100)" in err and err.count("Error:") == 1, err
    # one that cannot last an end of its range at that rate is right (it can at the
    # default rate): told as a build asking for that end is told, a warning
    assert run_cli(["validate", "--engine", "test", str(long("{min: 1.45, max: 1.75}",
                                                           20))]) == 0
    capsys.readouterr()
    assert run_cli(["validate", "--engine", "test", "--rate", "100", str(path)]) == 0
    err = capsys.readouterr().err
    assert "at the beginner level, 1:27 is not possible for 'Long'; it can last" in err and \
        "(checked with --rate 100)" in err and "Error:" not in err, err
