"""The house: the CLI uses only the public API, modules stay small, engines and formats
plug in through the registry, and importing the package is light."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest

import voiceguide as vg
from tests.conftest import ROOT
from voiceguide.export.formats import Format, TrackTags
from voiceguide.plugins import BUILTIN_PLUGINS, hookimpl, plugin_manager
from voiceguide.speech.engine import VoiceInfo

PACKAGE = ROOT / "voiceguide"
MAX_LINES = 400


def test_the_cli_uses_only_the_public_api() -> None:
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("voiceguide"):
                assert node.module == "voiceguide" or node.module.startswith("voiceguide.cli"), \
                    f"{path.name}:{node.lineno} imports {node.module}"
                if node.module == "voiceguide":
                    assert {a.name for a in node.names} <= set(vg.__all__), path.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("voiceguide"):
                        assert alias.name == "voiceguide", f"{path.name}:{node.lineno}"
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "vg":
                assert node.attr in vg.__all__, f"{path.name}:{node.lineno} uses vg.{node.attr}"


def test_every_public_name_resolves() -> None:
    for name in vg.__all__:
        assert getattr(vg, name) is not None, name


def test_every_public_name_has_its_type_for_a_type_checker() -> None:
    """A name the lazy ``__getattr__`` gives but ``if TYPE_CHECKING:`` does not import is
    ``Any`` under mypy: ``x: int = vg.check_base_url(url)`` passed ``mypy --strict``."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    typed = {alias.asname or alias.name
             for node in ast.walk(tree) if isinstance(node, ast.If)
             and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
             for imp in ast.walk(node) if isinstance(imp, ast.ImportFrom)
             for alias in imp.names}
    assert set(vg.__all__) - {"__version__"} - typed == set()


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


TOP_LEVEL = {".ci", ".gitignore", "README.md", "pyproject.toml", "voiceguide", "scripts",
             "routines", "output", "tests"}
"""What the repository holds at its top: the fixed layout, and nothing a test or a try
left behind."""


def test_every_field_of_every_file_format_is_described() -> None:
    """`voiceguide schema` (an editor's hints) showed 17 fields with no words, a step's
    own key among them (a code review): each field says what it is."""
    import importlib
    import inspect

    from pydantic import BaseModel

    bare = []
    for name in ("voiceguide.routine.model", "voiceguide.routine.steps",
                 "voiceguide.pack.model", "voiceguide.settings"):
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, BaseModel) \
                    and cls.__module__ == name:
                bare += [f"{cls.__name__}.{field}" for field, info in cls.model_fields.items()
                         if not info.description]
    assert not bare, bare


def test_the_top_level_is_the_fixed_layout() -> None:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = {line.split("/", 1)[0] for line in listed.stdout.splitlines()}
    assert tracked <= TOP_LEVEL, sorted(tracked - TOP_LEVEL)


def test_importing_the_package_loads_no_audio_stack() -> None:
    code = "import sys, voiceguide; print(sorted({'numpy', 'scipy', 'pydantic', 'typer'} " \
           "& set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_built_in_backends_register_like_any_plugin() -> None:
    # the test engine is one module plus its line in BUILTIN_PLUGINS
    assert "voiceguide.speech.testtone" in BUILTIN_PLUGINS
    assert vg.engines()["test"].__module__ == "voiceguide.speech.testtone"
    assert {"mp3", "wav"} <= set(vg.formats()) and "local" in vg.runners()


class HumEngine:
    """An engine from outside the package: a steady hum per word."""

    name = "hum"
    default_voice = "hum/one"
    packages: tuple[str, ...] = ()
    version = "1"

    def sample_rate(self, voice: str) -> int:
        return 16000

    def identity(self, voice: str) -> str:
        return voice

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("hum/one", "Hum", ("en",), sample_rate=16000)]

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        n = int(16000 * 0.3 * len(text.split()))
        return (3000 * np.sin(np.arange(n) * 2 * np.pi * 150 / 16000)).astype(np.int16)

    def close(self) -> None:
        pass


def _write_raw(f: BinaryIO, chunks: Iterable[Any], sample_rate: int, tags: TrackTags,
               timeline: Any) -> None:
    for chunk in chunks:
        f.write(chunk.astype("<i2").tobytes())


class OutsidePlugin:
    """What an installed plugin package would provide through its entry point."""

    @hookimpl
    def register_engines(self, register: Any) -> None:
        register(HumEngine)

    @hookimpl
    def register_formats(self, register: Any) -> None:
        register(Format("raw", ".pcm", "audio/L16", False, _write_raw))


@pytest.fixture
def outside_plugin() -> Any:
    plugin = OutsidePlugin()
    plugin_manager().register(plugin)
    yield plugin
    plugin_manager().unregister(plugin)


def test_a_new_engine_and_format_plug_in_without_touching_the_package(
        outside_plugin: Any, tmp_path: Path) -> None:
    assert "hum" in vg.engines() and "raw" in vg.formats()
    routine = vg.load_routine({"title": "Hum", "steps": [{"say": "One two three."}]})
    result = vg.build_track(routine, vg.TrackSettings(engine="hum", format="raw"), tmp_path,
                            cache=False)
    assert result.path.suffix == ".pcm"
    assert result.path.stat().st_size == 2 * result.timeline.total
    assert result.timeline.sample_rate == 16000  # the engine's own rate, end to end
    pcm = np.frombuffer(result.path.read_bytes(), dtype="<i2")
    cue = result.timeline.speech_cues()[0]
    assert np.abs(pcm[cue.start : cue.end]).mean() > 100  # the hum is where the cue says
    assert np.sqrt(np.mean(pcm[: cue.start].astype(float) ** 2)) < 30  # faint room tone
