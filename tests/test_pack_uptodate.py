"""A pack with nothing to do is answered before the command-line framework loads
(issue 18: a pack re-run in under 0.5 s), says exactly what a full run says, and any
change that decides the pack's bytes takes the full run. Test engine: what is tested here
is when the pack is rebuilt, not the sound (test_pack_groups re-runs real packs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import voiceguide as vg
from tests.conftest import ASSETS, ROOT, command_options, run_cli
from voiceguide.pack.fresh import stamp_path


def write_pack(folder: Path, extra: str = "") -> Path:
    shutil.copy(ASSETS / "pack" / "reach.yaml", folder / "reach.yaml")
    shutil.copy(ROOT / "routines" / "morning-hips.yaml", folder / "hips.yaml")
    path = folder / "pack.yaml"
    path.write_text("title: Fresh\noutput: \"{n:02d}-{routine}-{name}\"\n"
                    "defaults: {bed: drone}\n"
                    "matrix: {routines: [reach, hips], names: [Ana, Ben]}\n" + extra)
    return path


def pack_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def full_run(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]
             ) -> tuple[int, str, str]:
    """The same command the long way (the stamp removed first)."""
    stamp_path(out).unlink(missing_ok=True)
    return pack_run(argv, capsys)


def quick(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter that fails if the CLI framework, the models or
    the audio stack loaded."""
    code = ("import sys; from voiceguide.cli import main\n"
            f"try: main({argv!r})\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "bad = [m for m in ('typer', 'pydantic', 'rich', 'numpy', 'voiceguide.pack.plan',\n"
            "       'voiceguide.routine.model') if m in sys.modules]\n"
            "assert not bad, bad")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**os.environ},
                          capture_output=True, text=True, check=False)


def built(stdout: str) -> int:
    return int(stdout.split(": ", 1)[1].split(" built")[0])


def test_an_unchanged_pack_is_answered_quickly_with_what_a_full_run_says(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    for extra in ([], ["--zip"], ["--json"], ["--quiet", "--base-url", "https://e.org/p"]):
        argv = ["pack", str(pack), "--out", str(out), "--engine", "test", *extra]
        first = pack_run(argv, capsys)
        assert first[0] == 0, first[2]
        assert stamp_path(out).is_file()
        long_way = full_run(argv, out, capsys)
        assert long_way[0] == 0 and stamp_path(out).is_file()
        answered = quick(argv, Path.cwd())
        assert answered.returncode == 0, answered.stderr
        assert (answered.stdout, answered.stderr) == long_way[1:], extra
        if extra == ["--json"]:  # a feed with relative links is said in JSON and on stderr
            said = json.loads(answered.stdout)["warnings"]
            assert len(said) == 1 and "relative links" in said[0] and \
                "relative links" in answered.stderr
    plain = quick(["pack", str(pack), "--out", str(out), "--engine", "test", "--zip"], Path.cwd())
    assert "0 built, 4 unchanged" in plain.stdout and "; zip: " in plain.stdout


def test_every_change_that_decides_the_bytes_takes_the_full_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    assert pack_run(argv, capsys)[0] == 0
    asked = vg.PackInputs(pack, out, None, {"engine": "test"})
    assert vg.pack_up_to_date(asked) is not None

    def rebuilds(n: int) -> None:
        """The full run rebuilds ``n`` tracks and leaves a stamp that answers the next
        run."""
        code, stdout, err = pack_run(argv, capsys)
        assert code == 0, err
        assert built(stdout) == n, stdout
        assert vg.pack_up_to_date(asked) is not None

    # a routine's words
    (tmp_path / "reach.yaml").write_text((tmp_path / "reach.yaml").read_text()
                                         .replace("Reach both arms", "Lift both arms"))
    assert vg.pack_up_to_date(asked) is None
    rebuilds(2)
    # an exercise file that the routine folder now finds before the library's
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    bridge = (ROOT / "routines" / "exercises" / "bridge.yaml").read_text()
    assert "your arms by your sides" in bridge  # a spoken word, changed
    (exercises / "bridge.yaml").write_text(bridge.replace("your arms by your sides",
                                                          "your arms long by your sides", 1))
    assert vg.pack_up_to_date(asked) is None
    rebuilds(2)
    # a routine file beside the pack that the name now finds first
    (tmp_path / "hips-2.yaml").write_text((tmp_path / "reach.yaml").read_text()
                                          .replace("title: Reach", "title: Reach two"))
    pack.write_text(pack.read_text().replace("[reach, hips]", "[reach, hips-2]"))
    assert vg.pack_up_to_date(asked) is None
    rebuilds(2)
    # a track deleted, a pack file touched, a stray file added
    next(out.glob("01-*.mp3")).unlink()
    assert vg.pack_up_to_date(asked) is None
    rebuilds(1)
    os.utime(out / "feed.xml", ns=(0, 0))
    assert vg.pack_up_to_date(asked) is None
    rebuilds(0)
    assert vg.pack_up_to_date(asked) is not None
    # the default profile appears (HOME is the test's): its name goes into every track
    monkeypatch.setenv("VOICEGUIDE_PROFILE", str(tmp_path / "profile.yaml"))
    assert vg.pack_up_to_date(asked) is None  # the environment changed
    rebuilds(0)
    (tmp_path / "profile.yaml").write_text("rate: 150\n")
    assert vg.pack_up_to_date(asked) is None
    rebuilds(4)
    # settings of the run: another feed address, a zip, another engine
    with_url = vg.PackInputs(pack, out, None, {"engine": "test"}, "https://e.org/p")
    assert vg.pack_up_to_date(with_url) is None
    assert vg.pack_up_to_date(vg.PackInputs(pack, out, None, {"engine": "test"},
                                            make_zip=True)) is None
    assert vg.pack_up_to_date(vg.PackInputs(pack, out, None, {})) is None
    assert vg.pack_up_to_date(asked) is not None


def test_a_run_that_does_not_finish_the_pack_leaves_no_stamp(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    assert pack_run(argv, capsys)[0] == 0 and stamp_path(out).is_file()
    assert pack_run([*argv, "--shard", "1/2"], capsys)[0] == 0
    assert not stamp_path(out).exists()  # a shard is not the whole pack
    code, _, _ = pack_run(argv, capsys)
    assert code == 0 and stamp_path(out).is_file()
    pack.write_text(pack.read_text().replace("bed: drone}", "bed: drone, minutes: 60}"))
    code, _, err = pack_run([*argv, "--keep-going"], capsys)
    assert code != 0 and "Error:" in err
    assert not stamp_path(out).exists()


@pytest.mark.parametrize("stamp", [
    b"not json", b"[]", b'{"report": {}, "routines": [["a"]], "beds": [], "voices": []}',
    b'{"report": {"folder": "x", "tracks": []}, "routines": [], "beds": [1], "voices": []}',
    b'{"report": {"folder": "x"}, "routines": [], "beds": [], "voices": [["a", 1, "mp3"]]}',
    b" " * (9 * 1024 * 1024),
])
def test_a_damaged_or_forged_stamp_only_takes_the_full_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stamp: bytes) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    assert pack_run(argv, capsys)[0] == 0
    stamp_path(out).write_bytes(stamp)
    assert vg.pack_up_to_date(vg.PackInputs(pack, out, None, {"engine": "test"})) is None
    code, stdout, _ = pack_run(argv, capsys)
    assert code == 0 and "0 built, 4 unchanged" in stdout
    assert json.loads(stamp_path(out).read_text())["report"]["folder"] == str(out)


def test_quick_pack_options_are_the_typer_commands_options() -> None:
    """Each ``pack`` option the quick answer reads names the parameter typer fills; the
    others (shard, scheduler, runner options, help) go the long way; the jobs limit is
    the local runner's."""
    from voiceguide.cli import quick
    from voiceguide.pack.runners import MAX_WORKERS

    typer_options = command_options("pack")
    read = {**{o: (d, False) for o, (d, _) in quick.PACK_VALUES.items()},
            **{o: (d, not flag) for o, (d, flag) in quick.PACK_FLAGS.items()}}
    assert set(typer_options) == set(read) | {"--shard", "--scheduler", "--runner-option"}
    for option, (dest, negative) in read.items():
        assert typer_options[option] == (dest, negative), option
    assert quick.MAX_JOBS == MAX_WORKERS
    for argv in (["pack", "p.yaml", "--shard", "1/2"], ["pack", "p.yaml", "--runner", "dask"],
                 ["pack", "p.yaml", "--runner-option", "queue=fast"],
                 ["pack", "p.yaml", "--out", "s3://bucket/p"], ["pack", "p.yaml", "-j", "0"],
                 ["pack", "p.yaml", "--zip", "--zip"], ["pack", "p.yaml", "--help"],
                 ["pack", "p.yaml", "-o=x"], ["pack", "p.yaml", "-j=2"],
                 ["pack", "p.yaml", "--engine="], ["pack", "p.yaml", "--engine", ""]):
        assert quick.parse_pack(argv) is None, argv


def test_without_out_the_default_folder_is_answered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pack = write_pack(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["pack", "pack.yaml", "--engine", "test"]
    assert pack_run(argv, capsys)[0] == 0
    answered = quick(argv, tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.startswith(f"Pack {Path('output') / 'pack'}: 0 built, 4 unchanged")
    assert pack.exists()


def write_wav(path: Path, level: int) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        up, down = (v.to_bytes(2, "little", signed=True) for v in (level, -level))
        w.writeframes((up * 25 + down * 25) * (22050 * 3 // 50))  # 3 s of a 441 Hz square


def test_beds_exercises_and_damage_that_keeps_size_and_time_are_seen(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path)
    write_wav(tmp_path / "soft.wav", 300)
    write_wav(tmp_path / "loud.wav", 3000)
    (tmp_path / "bed.wav").symlink_to("soft.wav")
    own = tmp_path / "own.yaml"  # a routine with its own bed file beside it
    own.write_text((tmp_path / "reach.yaml").read_text() + "bed: own-bed.wav\n")
    write_wav(tmp_path / "own-bed.wav", 300)
    pack.write_text(pack.read_text().replace("{bed: drone}", "{bed: bed.wav}")
                    + "tracks: [{routine: own, name: Cy}]\n")
    pack.write_text(pack.read_text().replace("defaults: {bed: bed.wav}\n", "")
                    .replace("names: [Ana, Ben]}", "names: [Ana, Ben], beds: [bed.wav]}"))
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    code, stdout, err = pack_run(argv, capsys)
    assert code == 0 and built(stdout) == 5, err
    asked = vg.PackInputs(pack, out, None, {"engine": "test"})
    assert vg.pack_up_to_date(asked) is not None
    (tmp_path / "bed.wav").unlink()  # the same name, another file behind it
    (tmp_path / "bed.wav").symlink_to("loud.wav")
    assert vg.pack_up_to_date(asked) is None
    assert built(pack_run(argv, capsys)[1]) == 4
    write_wav(tmp_path / "own-bed.wav", 3000)  # the routine's own bed
    assert vg.pack_up_to_date(asked) is None
    assert built(pack_run(argv, capsys)[1]) == 1
    # an entry the library loader would find first, even one that is not a file
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "bridge.yaml").mkdir()
    assert vg.pack_up_to_date(asked) is None
    (tmp_path / "exercises" / "bridge.yaml").rmdir()
    assert vg.pack_up_to_date(asked) is not None
    track = next(out.glob("01-*.mp3"))
    st = track.stat()
    with track.open("r+b") as f:  # damage that keeps the size and the time
        f.seek(1000)
        f.write(b"\0\1\2\3")
    os.utime(track, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert vg.pack_up_to_date(asked) is None
    assert built(pack_run(argv, capsys)[1]) == 1


def test_an_input_edited_while_the_pack_builds_gives_no_stamp(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    plan = vg.load_pack(pack, out, None, vg.TrackSettings.from_options({"engine": "test"}))
    (tmp_path / "reach.yaml").write_text((tmp_path / "reach.yaml").read_text() + "# edited\n")
    vg.build_pack(plan)
    assert not stamp_path(out).exists()
    assert vg.pack_up_to_date(vg.PackInputs(pack, out, None, {"engine": "test"})) is None


def test_stamp_trouble_never_stops_a_pack(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    cache = Path(os.environ["VOICEGUIDE_CACHE_DIR"])
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "packs").write_text("not a folder")
    out = os.fsdecode(os.fsencode(tmp_path) + b"/out\xff")  # a name that is not UTF-8

    def cli() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                               out, "--engine", "test"], capture_output=True, check=False)

    first = cli()
    assert first.returncode == 0 and b"4 built" in first.stdout, first.stderr
    (cache / "packs").unlink()
    assert cli().returncode == 0 and stamp_path(Path(out)).is_file()
    again = cli()
    assert again.returncode == 0 and b"0 built, 4 unchanged" in again.stdout
    forged = json.loads(stamp_path(Path(out)).read_text())
    forged["report"]["zip"] = "/etc/passwd"
    stamp_path(Path(out)).write_text(json.dumps(forged))
    assert vg.pack_up_to_date(vg.PackInputs(pack, Path(out), None, {"engine": "test"})) is None


def test_a_damaged_pack_file_is_written_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test", "--zip"]
    assert pack_run(argv, capsys)[0] == 0
    good = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".xml", ".html")}
    for name, data in good.items():  # the same size, other bytes
        (out / name).write_bytes(data[:-8] + b"<!--x-->")
    code, stdout, _ = pack_run(argv, capsys)
    assert code == 0 and "0 built, 4 unchanged" in stdout
    assert {name: (out / name).read_bytes() for name in good} == good


def test_a_damaged_cue_sheet_with_a_forged_digest_has_its_track_built_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An attack: a cue sheet whose chapter starts at 1e308 s, with pack.json's digest
    of it forged to match, stopped the pack with 'internal error (OverflowError)' as it
    wrote the feed; then, checked, with 'damaged; delete it and run again' on every run.
    Its track is built again, as the README says of a damaged sheet."""
    import hashlib

    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    assert pack_run(argv, capsys)[0] == 0
    sheet = next(out.glob("*.cues.json"))
    # a chapter past any track, then (the attack on that fix) a lone surrogate in a title,
    # which stopped every run with an internal UnicodeEncodeError
    for key, value in (("start", 1e308), ("title", "\ud800")):
        data = json.loads(sheet.read_text())
        data["chapters"][0][key] = value
        sheet.write_text(json.dumps(data))
        manifest = json.loads((out / "pack.json").read_text())
        for entry in manifest["tracks"]:
            for k, name in enumerate(entry["sidecars"]):
                if name == sheet.name:
                    entry["sidecar_sha256"][k] = hashlib.sha256(sheet.read_bytes()).hexdigest()
        (out / "pack.json").write_text(json.dumps(manifest))
        code, stdout, err = full_run(argv, out, capsys)
        assert code == 0, err
        assert built(stdout) == 1 and sheet.stem.removesuffix(".cues") in stdout, stdout
        assert json.loads(sheet.read_text())["chapters"][0]["start"] == 0


def test_a_change_to_an_exercise_that_an_exercise_uses_builds_its_tracks_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pack's track was said unchanged when an exercise used by the routine's exercise
    changed: its words stayed the old ones (a code review)."""
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "inner.yaml").write_text(
        "title: Inner\nsteps:\n  - say: Version one.\n")
    (tmp_path / "exercises" / "outer.yaml").write_text(
        "title: Outer\nsteps:\n  - say: Begin.\n  - exercise: inner\n")
    (tmp_path / "rt.yaml").write_text("title: Rt\nsteps:\n  - exercise: outer\n")
    pack = tmp_path / "p.yaml"
    pack.write_text("title: Nest\ntracks: [{routine: rt}]\n")
    out = tmp_path / "out"
    argv = ["pack", str(pack), "--out", str(out), "--engine", "test"]
    code, stdout, err = pack_run(argv, capsys)
    assert code == 0 and built(stdout) == 1, err
    assert built(pack_run(argv, capsys)[1]) == 0
    (tmp_path / "exercises" / "inner.yaml").write_text(
        "title: Inner\nsteps:\n  - say: Version two.\n")
    code, stdout, err = pack_run(argv, capsys)
    assert code == 0 and built(stdout) == 1, (stdout, err)
    assert "Version two." in next(out.rglob("*.vtt")).read_text()


def test_a_pack_built_from_another_folder_rebuilds_nothing_that_did_not_change(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A coach's review: the same pack run from its own folder and from the folder above
    rebuilt every track, as a bed file's path was spelt from where it was built."""
    import wave

    import numpy as np

    packs = tmp_path / "packs"
    packs.mkdir()
    with wave.open(str(packs / "rain.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes((np.random.default_rng(3).standard_normal(66150) * 3000)
                      .astype("<i2").tobytes())
    shutil.copy(ASSETS / "pack" / "reach.yaml", packs / "reach.yaml")
    (packs / "pack.yaml").write_text("title: P\ndefaults: {bed: rain.wav}\n"
                                     "tracks:\n  - {routine: reach, name: Ana}\n")
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    code, stdout, err = pack_run(["pack", "packs/pack.yaml", "--engine", "test", "--out",
                                  str(out)], capsys)
    assert code == 0, err
    assert "1 built" in stdout
    monkeypatch.chdir(packs)
    code, stdout, err = pack_run(["pack", "pack.yaml", "--engine", "test", "--out", str(out)],
                                 capsys)
    assert code == 0, err
    assert "0 built, 1 unchanged" in stdout, stdout


def test_an_app_asks_with_its_options_spelt_as_it_likes(tmp_path: Path) -> None:
    """An app team's review: a pack run from Python with ``{"rate": 150}`` was never up
    to date for ``PackInputs(..., options={"rate": 150})``: the run kept 150.0 and the
    question hashed 150 (so ``pack_up_to_date`` said None each time). A number is one
    request however it is written, as ``track_request`` takes it; another one is not."""
    pack = write_pack(tmp_path)
    out = tmp_path / "out"
    vg.build_pack(vg.load_pack(pack, out_dir=out, options={"engine": "test", "rate": 150}))
    for rate in (150, 150.0, "150", " 150 "):
        asked = vg.PackInputs(pack, out, None, {"engine": "test", "rate": rate, "bed": ""})
        assert vg.pack_up_to_date(asked) is not None, rate
    assert vg.pack_up_to_date(vg.PackInputs(pack, out, None, {"engine": "test",
                                                               "rate": 151})) is None
    with pytest.raises(vg.UsageError, match="pack_up_to_date takes a PackInputs, not str"):
        vg.pack_up_to_date("x")  # type: ignore[arg-type]
    with pytest.raises(vg.UsageError, match="folder is a folder's path"):
        vg.PackInputs(pack, 5)  # type: ignore[arg-type]
