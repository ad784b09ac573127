"""Malformed routines through the CLI: one clear message with file and line, the right exit
code, no traceback, nothing written (issues 3 and 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ASSETS
from voiceguide.cli import main
from voiceguide.errors import ExitCode

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


def test_corpus_is_large_enough() -> None:
    assert len(BAD) >= 25


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_routine_gives_one_clear_error(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected, code = expectation(path)
    out_dir = tmp_path / "out"
    status, _, err = run(["build", str(path), "--out", str(out_dir), "--engine", "test"], capsys)
    assert status == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("Error: ") for line in lines), err
    assert str(path) in lines[0]
    assert expected in err, err
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_validate_reports_every_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "many.yaml"
    bad.write_text("title: x\nsteps:\n  - hold: -1\n  - pause: 0\n  - chime: gong\n")
    status, _, err = run(["validate", str(bad)], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert f"{bad}:3:11: steps[0].hold.seconds: must be > 0 (got -1)" in err
    assert f"{bad}:4:12: steps[1].pause.seconds: must be > 0 (got 0)" in err
    assert f"{bad}:5:12: steps[2].chime: must be one of" in err


def test_missing_routine_and_not_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["build", "no-such-routine", "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.strip() == (
        "Error: no routine named 'no-such-routine'; 'voiceguide list' shows the routines"
    )
    notyaml = tmp_path / "song.yaml"
    notyaml.write_bytes(b"ID3\x03\x00\x00\x00\xff\xfb\x90")
    status, _, err = run(["build", str(notyaml), "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert err.startswith(f"Error: {notyaml}") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_close_name_is_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(["build", "bedtime-hip", "--engine", "test"], capsys)
    assert status == ExitCode.INVALID_INPUT
    assert "did you mean 'bedtime-hips'?" in err
