"""The README stays true: every command is documented, the example routine is valid."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from tests.conftest import ROOT
from voiceguide.cli import app
from voiceguide.errors import ExitCode
from voiceguide.plan import validate_file

README = (ROOT / "README.md").read_text()


def test_every_command_has_help_and_is_in_the_readme() -> None:
    command = typer.main.get_command(app)
    names = list(command.commands)  # type: ignore[attr-defined]
    expected = {"build", "list", "show", "script", "validate", "schema", "voices", "cache"}
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


def test_readme_example_routine_is_valid(tmp_path: Path) -> None:
    example = re.search(r"```yaml\n(.*?)```", README, re.S)
    assert example
    path = tmp_path / "example.yaml"
    path.write_text(example.group(1))
    validate_file(path)
