"""A routine, pack or profile from someone else names its own files, not the files of
whoever builds it: an attack had a routine's `bed: /home/you/private.wav` mixed into
the track, and a pack's `routine: /elsewhere/conf.yaml` read (its keys shown in the
errors). Files inside the document's folder still work; the command line and an app's
settings may name any file."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

import voiceguide as vg
from tests.conftest import ASSETS, run_cli
from voiceguide.errors import ExitCode


def _wav(path: Path, seconds: float = 3.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    pcm = (rng.standard_normal(int(22050 * seconds)) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(pcm.tobytes())
    return path


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A folder of someone's own (secret/) beside a folder of received files (got/)."""
    _wav(tmp_path / "secret" / "private.wav")
    _wav(tmp_path / "got" / "beds" / "rain.wav")
    (tmp_path / "got" / "link").symlink_to(tmp_path / "secret")
    (tmp_path / "secret" / "conf.yaml").write_text("db: password\n")
    return tmp_path


@pytest.mark.parametrize(("bed", "why"), [
    ("{root}/secret/private.wav", "an absolute path"),
    ("../secret/private.wav", "a path through '..'"),
    ("link/private.wav", "a symbolic link that leads out of it"),
    ("~/private.wav", "a path from a home folder"),
])
def test_a_routine_bed_outside_its_folder_is_an_error_at_its_line(
        layout: Path, bed: str, why: str, capsys: pytest.CaptureFixture[str]) -> None:
    routine = layout / "got" / "r.yaml"
    routine.write_text(f"title: R\nbed: {bed.format(root=layout)}\nsteps:\n  - say: Hello.\n")
    for command in (["validate", str(routine)],
                    ["build", str(routine), "--engine", "test", "--out", str(layout / "o")]):
        assert run_cli(command) == ExitCode.INVALID_INPUT
        err = capsys.readouterr().err.strip()
        assert err == (f"Error: {routine}:2:6: bed: '{bed.format(root=layout)}' is outside "
                       f"the routine's folder and the routine folders ({why}); put the bed "
                       "file beside the routine (bed: private.wav) or in a routine folder "
                       "(routines/beds/), or choose it when you build (--bed, or the "
                       "settings' bed)")
    assert not (layout / "o").exists()


def test_a_routine_bed_inside_its_folder_and_any_bed_given_when_building_are_used(
        layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routine = layout / "got" / "r.yaml"
    routine.write_text("title: R\nbed: beds/rain.wav\nsteps:\n  - say: Hello.\n")
    out = layout / "o"
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out)]) == 0
    assert json.loads((out / "r.cues.json").read_text())["bed"] == "rain.wav"
    private = str(layout / "secret" / "private.wav")  # the person building names it
    assert run_cli(["build", str(routine), "--engine", "test", "--out", str(out),
                    "--bed", private]) == 0, capsys.readouterr().err
    assert json.loads((out / "r.cues.json").read_text())["bed"] == "private.wav"
    # a routine given as data: its bed file is taken from the current folder, not above
    with pytest.raises(vg.InvalidInputError, match=r"bed: '\.\./x\.wav' is outside"):
        vg.load_routine({"title": "R", "bed": "../x.wav", "steps": [{"say": "Hi."}]})


@pytest.mark.parametrize(("line", "field", "why"), [
    ("tracks:\n  - {routine: '{root}/secret/conf.yaml'}", "routine", "an absolute path"),
    ("tracks:\n  - {routine: ../secret/conf.yaml}", "routine", "a path through '..'"),
    ("tracks:\n  - {routine: link/conf.yaml}", "routine",
     "a symbolic link that leads out of it"),
    ("tracks:\n  - {routine: morning-hips, bed: ../secret/private.wav}", "bed",
     "a path through '..'"),
    ("defaults: {bed: '{root}/secret/private.wav'}\ntracks:\n  - {routine: morning-hips}",
     "bed", "an absolute path"),
    ("matrix: {routines: [morning-hips], beds: [rain, link/private.wav]}", "bed",
     "a symbolic link that leads out of it"),
    ("tracks:\n  - {routine: morning-hips, voice: ../secret/v.onnx}", "voice",
     "a path through '..'"),
    ("profile: ../secret/p.yaml\ntracks:\n  - {routine: morning-hips}", "profile",
     "a path through '..'"),
])
def test_a_pack_naming_a_file_outside_its_folder_is_an_error_at_its_line(
        layout: Path, line: str, field: str, why: str) -> None:
    pack = layout / "got" / "pack.yaml"
    pack.write_text("title: P\n" + line.replace("{root}", str(layout)) + "\n")
    with pytest.raises(vg.InvalidInputError) as caught:
        vg.load_pack(pack, layout / "out")
    message = caught.value.message
    # the field as the file writes it: a track's routine is tracks[0].routine
    assert message.startswith(f"{pack}:") and re.search(
        rf": (tracks\[\d+\]\.)?{field}: '", message), message
    assert f"is outside the pack's folder and the routine folders ({why})" in message
    assert "password" not in message and "db" not in message


def test_a_pack_profile_names_files_inside_its_folder_and_files_inside_the_pack_work(
        layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = layout / "got"
    (got / "profile.yaml").write_text("name: Ana\nbed: ../secret/private.wav\n")
    pack = got / "pack.yaml"
    pack.write_text("title: P\nprofile: profile.yaml\ntracks:\n  - {routine: reach}\n")
    (got / "reach.yaml").write_text((ASSETS / "pack" / "reach.yaml").read_text())
    with pytest.raises(vg.InvalidInputError, match=r"profile.yaml:2:6: bed: "
                       r"'\.\./secret/private.wav' is outside the profile's folder and "
                       r"the routine folders"):
        vg.load_pack(pack, layout / "out")
    (got / "profile.yaml").write_text("name: Ana\nbed: beds/rain.wav\n")
    assert run_cli(["pack", str(pack), "--engine", "test", "--out", str(layout / "out")]) == 0
    sheet = next((layout / "out").rglob("*.cues.json"))
    assert json.loads(sheet.read_text())["bed"] == "rain.wav", capsys.readouterr().err


def test_your_own_profile_may_name_any_file_and_a_pack_name_is_no_file_here(
        layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack on the change: the default profile (yours, `bed: ~/Music/rain.wav`) was
    confined too, so no pack built; and a pack's `routine: notes` took the file 'notes'
    in the current folder (or a link beside the pack) rather than a routine name."""
    own = layout / "config" / "profile.yaml"
    own.parent.mkdir()
    own.write_text(f"name: Ana\nbed: {layout / 'secret' / 'private.wav'}\n")
    monkeypatch.setenv("VOICEGUIDE_PROFILE", str(own))
    got = layout / "got"
    (got / "reach.yaml").write_text((ASSETS / "pack" / "reach.yaml").read_text())
    pack = got / "pack.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: reach}\n")
    assert vg.load_pack(pack, layout / "out").jobs[0].settings.bed.endswith("private.wav")
    here = layout / "cwd"
    here.mkdir()
    (here / "notes").write_text((ASSETS / "pack" / "reach.yaml").read_text())
    (got / "notes").symlink_to(here / "notes")
    monkeypatch.chdir(here)
    pack.write_text("title: P\ntracks:\n  - {routine: notes}\n")
    with pytest.raises(vg.InvalidInputError, match="no routine named 'notes'"):
        vg.load_pack(pack, layout / "out")


def test_a_coachs_routine_folder_holds_shared_beds_for_its_routines_and_packs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: one shared beds folder was impossible (every routine and pack
    needed a copy). A routine folder ($VOICEGUIDE_ROUTINES, ./routines) is the coach's
    own: files inside it may be named from any routine or pack."""
    coaching = tmp_path / "coaching"
    _wav(coaching / "routines" / "beds" / "rain.wav")
    clients = coaching / "routines" / "clients"
    clients.mkdir()
    (clients / "ana.yaml").write_text("title: Ana's knees\nbed: ../beds/rain.wav\nsteps:\n"
                                      "  - say: Hello.\n  - pause: 3\n")
    packs = coaching / "packs"
    packs.mkdir()
    pack = packs / "spring.yaml"
    pack.write_text("title: Spring\ndefaults: {bed: ../routines/beds/rain.wav}\ntracks:\n"
                    "  - {routine: ../routines/clients/ana.yaml, name: Ana}\n")
    monkeypatch.setenv("VOICEGUIDE_ROUTINES", str(coaching / "routines"))
    assert run_cli(["pack", str(pack), "--engine", "test", "--out", str(tmp_path / "o")]) \
        == 0, capsys.readouterr().err
    sheet = next((tmp_path / "o").rglob("*.cues.json"))
    assert json.loads(sheet.read_text())["bed"] == "rain.wav"
    monkeypatch.delenv("VOICEGUIDE_ROUTINES")  # not a routine folder now: refused
    with pytest.raises(vg.InvalidInputError, match="is outside the routine's folder"):
        vg.load_routine(clients / "ana.yaml")
