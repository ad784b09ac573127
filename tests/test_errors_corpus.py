"""Malformed routines through the CLI: one clear message with file and line, the right exit
code, no traceback, nothing written (issues 3 and 7)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

import voiceguide as vg
from tests.conftest import ASSETS
from voiceguide.cli import main
from voiceguide.errors import ExitCode
from voiceguide.limits import MAX_BED_BYTES

BAD = sorted((ASSETS / "bad").glob("*.yaml"))
SPECIAL = {"not-utf8": ("not UTF-8 text (byte 0xff)", ExitCode.INVALID_INPUT)}


def expectation(path: Path) -> tuple[str, int]:
    if path.stem in SPECIAL:
        return SPECIAL[path.stem]
    text = path.read_text()
    expect = re.search(r"^# expect: (.*)$", text, re.M)
    code = re.search(r"^# code: (\d+)$", text, re.M)
    assert expect, f"{path} has no '# expect:' line"
    return expect.group(1), int(code.group(1)) if code else int(ExitCode.INVALID_INPUT)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


PACKS = sorted((ASSETS / "bad" / "packs").glob("*.yaml"))
PROFILES = sorted((ASSETS / "bad" / "profiles").glob("*.yaml"))
GOOD = ASSETS / "pack" / "reach.yaml"


def test_corpus_is_large_enough() -> None:
    assert len(BAD) + len(PACKS) + len(PROFILES) + len(BEDS) >= 40
    assert len(PACKS) >= 8 and len(PROFILES) >= 5 and len(BEDS) >= 5


def populated(folder: Path) -> dict[str, bytes]:
    """An output folder holding a previous good track."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "old.mp3").write_bytes(b"ID3 previous good track" * 100)
    (folder / "old.cues.json").write_text("{}")
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_clean_failure(argv: list[str], named: Path, expected: str, code: int,
                         out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = populated(out_dir)
    status, _, err = run(argv, capsys)
    assert status == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("Error: ") for line in lines), err
    assert str(named) in lines[0], err
    assert expected in err, err
    assert snapshot(out_dir) == before  # nothing new, nothing changed, no temp files


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_routine_gives_one_clear_error(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected, code = expectation(path)
    out_dir = tmp_path / "out"
    assert_clean_failure(["build", str(path), "--out", str(out_dir), "--engine", "test"],
                         path, expected, code, out_dir, capsys)


@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_bad_pack_gives_one_clear_error(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected, code = expectation(path)
    out_dir = tmp_path / "out"
    assert_clean_failure(["pack", str(path), "--out", str(out_dir), "--engine", "test"],
                         path, expected, code, out_dir, capsys)


@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_bad_profile_gives_one_clear_error(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected, code = expectation(path)
    out_dir = tmp_path / "out"
    named = path if code == ExitCode.INVALID_INPUT else Path("nowhere/rain.wav")
    assert_clean_failure(["build", str(GOOD), "--profile", str(path), "--out", str(out_dir),
                          "--engine", "test"], named, expected, code, out_dir, capsys)


def _not_audio(p: Path) -> None:
    p.write_text("these are words, not sound\n" * 50)


def _truncated(p: Path) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=10", "-ar", "22050", str(p)], check=True)
    p.write_bytes(p.read_bytes()[:600])


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _huge(p: Path) -> None:
    with p.open("wb") as f:  # sparse: takes no disk space
        f.truncate(MAX_BED_BYTES + 1)


def _silent(p: Path) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "anullsrc=r=22050:cl=mono", "-t", "5", str(p)], check=True)


def _folder(p: Path) -> None:
    p.mkdir()


def _fifo(p: Path) -> None:
    os.mkfifo(p)  # opening it would wait for a writer for ever


def _random_bytes(p: Path) -> None:
    p.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(40_000)))


def _concat(p: Path) -> None:
    """An ffconcat script named like audio, naming a real sound beside it (ffmpeg's
    concat demuxer opened it: only the file protocol was restricted)."""
    _not_audio(p.parent / "other.txt")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=5", str(p.parent / "elsewhere.wav")],
                   check=True)
    p.write_text("ffconcat version 1.0\nfile elsewhere.wav\n")


BEDS = {
    "not-audio.wav": (_not_audio, "not a readable audio file"),
    "truncated.wav": (_truncated, "not a readable audio file"),
    "empty.mp3": (_empty, "the bed file is empty"),
    "huge.flac": (_huge, "the most is"),
    "silent.wav": (_silent, "the bed file is silent"),
    "folder.ogg": (_folder, "is a folder, not an audio file"),
    "noise.mp3": (_random_bytes, "not a readable audio file"),
    "fifo.ogg": (_fifo, "is a FIFO (named pipe), not a bed file"),
    "playlist.wav": (_concat, "not a readable audio file"),
}


@pytest.mark.parametrize("name", BEDS)
def test_bad_bed_file_gives_one_clear_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = BEDS[name]
    bed = tmp_path / name
    make(bed)
    out_dir = tmp_path / "out"
    assert_clean_failure(["build", str(GOOD), "--bed", str(bed), "--out", str(out_dir),
                          "--engine", "test"], bed, expected, ExitCode.AUDIO_INPUT, out_dir,
                         capsys)


def test_a_bed_file_over_the_bound_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3 GB bed file was read through for the input hash (13 s) before its size was
    said (a code review)."""
    bed = tmp_path / "huge.flac"
    _huge(bed)
    read: list[str] = []
    real = hashlib.file_digest

    def digest(f: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(Path(f.name).name)
        return real(f, *args, **kwargs)

    monkeypatch.setattr(hashlib, "file_digest", digest)
    out_dir = tmp_path / "out"
    assert_clean_failure(["build", str(GOOD), "--bed", str(bed), "--out", str(out_dir),
                          "--engine", "test"], bed, "the most is", ExitCode.AUDIO_INPUT,
                         out_dir, capsys)
    assert read and "huge.flac" not in read  # the routine was hashed, the bed was not


def test_validate_reports_every_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "many.yaml"
    bad.write_text("title: x\nsteps:\n  - hold: -1\n  - pause: 0\n  - chime: gong\n")
    status, _, err = run(["validate", str(bad)], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert f"{bad}:3:11: steps[0].hold.seconds: must be more than 0 seconds (got -1)" in err
    assert f"{bad}:4:12: steps[1].pause.seconds: must be more than 0 seconds (got 0)" in err
    assert f"{bad}:5:12: steps[2].chime: must be one of" in err


def test_a_bed_that_names_no_file_is_said_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The attack on this check's first version: `validate --quick` passed a routine's
    `bed: beds/rain`, and a pack built its first track before the second's stopped it."""
    (tmp_path / "ok.yaml").write_text("title: Ok\nsteps:\n  - say: Hello.\n")
    (tmp_path / "r.yaml").write_text("title: R\nbed: beds/rain\nsteps:\n  - say: Hello.\n")
    said = f"{tmp_path / 'r.yaml'}:2:6: bed: unknown bed 'beds/rain'"
    status, _, err = run(["validate", "--quick", str(tmp_path / "r.yaml")], capsys)
    assert status == ExitCode.INVALID_INPUT and said in err, err
    (tmp_path / "p.yaml").write_text("title: P\ntracks:\n  - {routine: ok.yaml}\n"
                                     "  - {routine: r.yaml}\n")
    status, _, err = run(["pack", str(tmp_path / "p.yaml"), "--engine", "test", "--out",
                          str(tmp_path / "out")], capsys)
    assert status == ExitCode.INVALID_INPUT and "bed: unknown bed 'beds/rain'" in err, err
    assert not list(tmp_path.glob("out/*.mp3"))  # nothing built
    # a bed file that is not there: the pack says it before it builds (the attack on the
    # first version: its first track was written)
    (tmp_path / "r.yaml").write_text("title: R\nbed: beds/rain.wav\nsteps:\n  - say: Hi.\n")
    status, _, err = run(["pack", str(tmp_path / "p.yaml"), "--engine", "test", "--out",
                          str(tmp_path / "out")], capsys)
    assert status == ExitCode.INVALID_INPUT, err
    assert f"{tmp_path / 'r.yaml'}:2:6: bed: " in err and "no such bed file" in err, err
    assert not list(tmp_path.glob("out/*.mp3"))


def test_missing_routine_and_not_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["build", "no-such-routine", "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.strip() == (
        "Error: no routine named 'no-such-routine'; 'voiceguide list' shows the routines "
        "(found in ./routines under the current folder, $VOICEGUIDE_ROUTINES and the library)"
    )
    notyaml = tmp_path / "song.yaml"
    notyaml.write_bytes(b"ID3\x03\x00\x00\x00\xff\xfb\x90")
    status, _, err = run(["build", str(notyaml), "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.startswith(f"Error: {notyaml}") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_misspelt_required_key_is_one_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    """`step:` under a section said two things: 'steps: required field is missing' and
    "unknown key 'step' (did you mean 'steps', 'tempo'?)" (a repeat's key). It is one
    mistake, said once, with the one key it means; an unknown key beside a missing field
    it is not near to keeps both lines."""
    path = ASSETS / "bad" / "misspelt-section-steps.yaml"
    status, _, err = run(["validate", str(path)], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.strip().splitlines() == [
        f"Error: {path}:5:5: steps[0].step: unknown key 'step' (did you mean 'steps'?)"]
    from voiceguide.io.forms import misspelt

    assert misspelt([(("steps", 0, "steps"), "missing"), (("steps", 0, "moves"), "extra_forbidden")]
                    ) == (set(), {})


def test_a_field_in_other_words_is_one_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    """A repeat's `times:` (for `count:`) said two things, 'count: required field is
    missing' and "unknown key 'times'" with no hint; a breathe's `count:` (a repeat's
    word for its `cycles:`) was told "did you mean 'out'?". Each is one line naming the
    field meant."""
    path = ASSETS / "bad" / "repeat-times.yaml"
    status, _, err = run(["validate", str(path)], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.strip().splitlines() == [
        f"Error: {path}:5:7: steps[0].repeat.times: unknown key 'times' (did you mean "
        "'count'?)"]
    path = ASSETS / "bad" / "breathe-count.yaml"
    status, _, err = run(["validate", str(path)], capsys)
    assert err.strip().splitlines() == [
        f"Error: {path}:4:30: steps[0].breathe.count: unknown key 'count' (did you mean "
        "'cycles'?)"]


def test_close_name_is_suggested(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(["build", "bedtime-hip", "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert "did you mean 'bedtime-hips'?" in err
    # a file misspelt: a new-user review got "no such routine file" and nothing more
    (tmp_path / "evening-hips.yaml").write_text((GOOD).read_text())
    typo = tmp_path / "evening-hip.yaml"
    for command in ("build", "validate"):
        status, _, err = run([command, str(typo)], capsys)
        assert status == ExitCode.INVALID_INPUT
        assert err.strip().endswith(f"{typo}: no such {'routine' if command == 'build' else 'YAML'}"
                                    f" file (did you mean '{tmp_path / 'evening-hips.yaml'}'?)"
                                    ), err
    # .yml for .yaml (a coach's review: build said "no such routine file" and no more)
    status, _, err = run(["build", str(tmp_path / "evening-hips.yml")], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.strip().endswith(f"(did you mean '{tmp_path / 'evening-hips.yaml'}'?)"), err
    status, _, err = run(["build", "bedtime-hips", "--minutes", "8hrs"], capsys)
    assert status == ExitCode.USAGE and "must be a number, such as 12" in err


def test_a_file_given_without_its_suffix_is_suggested(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user review: after `voiceguide new clients --pack`, `pack clients` and
    `validate clients` said "no such pack file" and nothing more (routines go by name)."""
    (tmp_path / "clients.yaml").write_text("title: Clients\n")
    bare = tmp_path / "clients"
    for command, what in (("pack", "pack"), ("validate", "YAML")):
        status, _, err = run([command, str(bare)], capsys)
        assert status == ExitCode.INVALID_INPUT
        assert err.strip() == f"Error: {bare}: no such {what} file (did you mean " \
                              f"'{tmp_path / 'clients.yaml'}'?)"


@pytest.mark.parametrize("path", [*BAD, *PACKS, *PROFILES],
                         ids=[f"{p.parent.name}-{p.stem}" for p in [*BAD, *PACKS, *PROFILES]])
def test_validate_says_each_planted_problem_in_one_line(
        path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each corpus file holds one mistake, and `validate` says it once: a profile in
    `profiles/` was read as a routine (three lines), a bad `$param` was said twice, and
    a profile's missing bed file passed (found by a review)."""
    status, _, err = run(["validate", "--engine", "test", str(path)], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == ExitCode.INVALID_INPUT, err
    assert len(lines) == 1 and lines[0].startswith("Error: "), err


def test_validate_given_what_a_build_wrote_says_so_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user review: `validate x.cues.json` printed 27 "unknown key" errors, as if
    the cue sheet were a routine."""
    out = tmp_path / "out"
    status, _, err = run(["build", str(GOOD), "--engine", "test", "--out", str(out)], capsys)
    assert status == 0, err
    sheet = out / f"{GOOD.stem}.cues.json"
    for command in ("validate", "build"):
        status, _, err = run([command, str(sheet)], capsys)
        assert status == ExitCode.INVALID_INPUT
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"Error: {sheet}: this is a cue sheet, not a "), err


def test_validate_says_a_routines_problems_in_line_order_with_what_is_available_there(
        tmp_path: Path) -> None:
    """A new-user review: problems came at lines 40, 4 and 35; an undefined variable
    at the top level listed 'side' and 'rep' as available; 'say' with its 'pause' and a
    'hold' read as three step keys."""
    path = tmp_path / "h.yaml"
    path.write_text("title: T\nsteps:\n  - say: Hi.\n  - pasue: 3\n  - say: \"{{ nmae }}\"\n"
                    "  - say: Hi.\n    pause: 2\n    hold: 5\n  - exercise: brigde\n")
    with pytest.raises(vg.InvalidInputError) as caught:
        vg.check_file(path, measure=False)
    problems = caught.value.problems
    assert [int(p.split(":")[1]) for p in problems] == [4, 5, 8, 9], problems
    assert "available: exercises, level, minutes, name, title; in the steps that set " \
           "them: " in problems[1]
    assert "found 'say', 'hold' and 'pause', the silence after 'say'" in problems[2]
    routine = tmp_path / "u.yaml"
    routine.write_text("title: T\nsteps:\n  - say: Hi.\n  - say: \"{{ nmae }}\"\n")
    with pytest.raises(vg.TemplateError, match=r"available: exercises, level, minutes, "
                                                r"name, title$"):
        vg.load_routine(routine) and vg.plan_track(routine, {"engine": "test"})


def test_a_folder_as_a_packs_bed_is_said_at_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A coach's review: `bed: "beds/"` in a pack validated or built from its own folder
    was an internal error (the folder's name, 'beds', was taken for a built-in bed), and
    a folder not there said "bed: bed: unknown bed"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "beds").mkdir()
    for bed, said in (("beds/", "bed: beds: is a folder, not an audio file"),
                      ("beds/nothing/", "bed: unknown bed 'beds/nothing/'; use none, rain, "
                                        "ocean, drone or an audio file")):
        Path("p.yaml").write_text(f'title: P\ntracks:\n  - {{routine: morning-hips, name: '
                                  f'Ana, bed: "{bed}"}}\n')
        for command in ("validate", "pack"):
            status, _, err = run([command, "p.yaml"], capsys)
            assert status == ExitCode.INVALID_INPUT, err
            assert err == f"Error: p.yaml:3:45: {said}\n", err


def test_a_bed_file_not_found_is_told_the_path_it_meant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A coach's review: `bed: beds/Waves.wav` was told "did you mean 'waves.wav'?", and
    `bed: waves.wav` (the file in beds/) "no such bed file" alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "beds").mkdir()
    (tmp_path / "beds" / "waves.wav").write_bytes(b"RIFF")
    for bed in ("beds/Waves.wav", "waves.wav"):
        Path("p.yaml").write_text(f"title: P\ntracks:\n  - {{routine: morning-hips, bed: {bed}}}\n")
        status, _, err = run(["validate", "--quick", "p.yaml"], capsys)
        assert status == ExitCode.INVALID_INPUT, err
        assert err == f"Error: p.yaml:3:34: bed: {bed}: no such bed file (did you mean " \
                      "'beds/waves.wav'?)\n", err

