"""The README stays true: every command is documented, the example routine is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
import yaml

from tests.conftest import ROOT
from voiceguide import load_pack, validate_file
from voiceguide.cli.run import app
from voiceguide.errors import ExitCode
from voiceguide.validate import check_file

README = (ROOT / "README.md").read_text()


def test_every_command_has_help_and_is_in_the_readme() -> None:
    command = typer.main.get_command(app)
    names = list(command.commands)  # type: ignore[attr-defined]
    expected = {"build", "list", "show", "script", "validate", "schema", "voices", "cache",
                "new", "init"}
    assert expected <= set(names)
    for name in names:
        sub = command.commands[name]  # type: ignore[attr-defined]
        assert sub.help, name
        assert f"`{name}" in README, name


def test_quick_start_has_exactly_the_two_commands() -> None:
    block = re.search(r"## Quick start\n\n```sh\n(.*?)```", README, re.S)
    assert block
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert [line for line in lines if line] == ["scripts/quickstart", "scripts/test"]


def test_every_exit_code_is_documented() -> None:
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", README, re.M), code


def test_readme_examples_are_valid(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    kinds = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block)
        if block.startswith("# exercises/"):  # written where its routine finds it
            path = tmp_path / block.splitlines()[0][2:]
            path.parent.mkdir(exist_ok=True)
            path.write_text(block)
            assert check_file(path).kind == "exercise" and not check_file(path).warnings
            kinds.append("exercise")
        elif "group_by:" in block:
            plan = load_pack(path, tmp_path / "out")
            assert [g.slug for g in plan.groups] == ["ana", "zoe"]  # the folders shown
            assert [j.stem for j in plan.jobs if j.group == "ana"] == [
                "01-bedtime-hips-Ana", "02-unlock-tight-hips-Ana"]
            shipped = ROOT / "routines" / "packs" / "clients.yaml"
            assert yaml.safe_load(block) == yaml.safe_load(shipped.read_text())
            kinds.append("grouped pack")
        elif "matrix:" in block:
            plan = load_pack(path, tmp_path / "out")
            assert len(plan.jobs) == 5  # 2 x 2 from the matrix and one listed
            # every track can last as long as it asks, without a warning
            assert check_file(path, kind="pack").warnings == []
            kinds.append("pack")
        else:
            validate_file(path)
            kinds.append("routine")
    assert sorted(set(kinds)) == ["exercise", "grouped pack", "pack", "routine"]
    assert kinds.count("pack") == 1


def test_the_python_api_example_builds_mp3_bytes_without_touching_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    block = re.search(r"## Python API\n.*?```python\n(.*?)```", README, re.S)
    assert block
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    mp3 = namespace["mp3"]
    assert isinstance(mp3, bytes) and mp3[:3] == b"ID3" and len(mp3) > 10_000
    assert "chapters" in capsys.readouterr().out
    assert list(work.iterdir()) == [] and not (tmp_path / "cache").exists()


def test_the_python_api_request_example_leaves_a_track_build_skips(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's request example: what it builds, the CLI's `build` then finds up to
    date (without the input hash it rebuilt it every time)."""
    import textwrap

    import voiceguide as vg
    from voiceguide.cli import main

    block = re.search(r"```python\n(\s*import voiceguide as vg\n\n"
                      r"\s*req = vg\.track_request.*?)```", README, re.S)
    assert block
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"vg": vg}
    exec(compile(textwrap.dedent(block.group(1)), "README.md", "exec"), namespace)
    track = tmp_path / "output" / "morning-hips-Ana.mp3"
    made = track.stat().st_mtime_ns
    with pytest.raises(SystemExit) as done:
        main(["build", "morning-hips", "--name", "Ana", "--quiet"])
    assert not done.value.code and track.stat().st_mtime_ns == made


def test_every_option_of_every_command_is_in_the_readme() -> None:
    command = typer.main.get_command(app)
    missing = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        for leaf in getattr(sub, "commands", {name: sub}).values():
            for param in leaf.params:
                for opt in param.opts:
                    if opt.startswith("--") and opt != "--help" and f"`{opt}" not in README \
                            and f"{opt}`" not in README and f"{opt} " not in README:
                        missing.append(f"{name} {opt}")
    assert not missing, missing
