"""How pack runs behave (issues 12, 17, 18): failures with and without --keep-going,
shards, a re-run that loads no audio stack, untrusted manifests, a full disk, a track
and its sidecars written as one unit. Test engine: what is tested here is the pack
engine, not the sound."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import voiceguide as vg
from tests.conftest import ASSETS, ROOT, run_cli
from voiceguide.errors import ExitCode

PACK = ASSETS / "pack"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_pack(folder: Path, body: str) -> Path:
    for name in ("reach.yaml", "sway.yaml", "breathe.yaml"):
        shutil.copy(PACK / name, folder / name)
    path = folder / "pack.yaml"
    path.write_text("title: Runs\n" + body)
    return path


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder`` for the test (skipped where mounting is
    not allowed: it needs root), unmounted after it."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


IMPOSSIBLE = """\
tracks:
  - {routine: reach, name: Ana, minutes: 1}
  - {routine: reach, name: Zed, minutes: 60}
  - {routine: sway, name: Ana, minutes: 1}
  - {routine: breathe, name: Ana, minutes: 1}
"""


def test_keep_going_when_every_track_fails_leaves_the_folder_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every track failing said "1 of 1 tracks failed; the others are in out": there are
    no others. Nor is there a pack to publish: it published an empty feed and player and
    took the last good run's track away; the folder now stays as that run left it."""
    out = tmp_path / "out"
    good = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    assert run(["pack", str(good), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "01-reach-Ana-1min.mp3" in before and "feed.xml" in before
    for tracks, head in (("  - {routine: reach, name: Zed, minutes: 60}\n", "the track"),
                         ("  - {routine: reach, name: Zed, minutes: 60}\n"
                          "  - {routine: sway, name: Zed, minutes: 60}\n", "all 2 tracks")):
        pack = write_pack(tmp_path, "tracks:\n" + tracks)
        for folder in (out, tmp_path / "new"):
            code, _, err = run(["pack", str(pack), "--out", str(folder), "--engine", "test",
                                "--keep-going"], capsys)
            assert code == ExitCode.SCHEDULE
            assert err.strip().splitlines()[0] == f"Error: {head} failed; {folder} is as it was:"
            assert "the others" not in err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert not [p for p in (tmp_path / "new").iterdir() if not p.name.startswith(".")]


def test_keep_going_keeps_a_failed_tracks_earlier_build_in_the_pack(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's typo in one routine, then `pack --keep-going`: the run removed that
    routine's track, built and published the week before, from the folder and the feed.
    Its earlier build (intact, as recorded) stays in the pack until it builds again."""
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                "  - {routine: sway, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    track = (out / "01-reach-Ana-1min.mp3").read_bytes()
    reach = tmp_path / "reach.yaml"
    typo = "  - say: '{{ nosuch.x }}'\n"
    reach.write_text(reach.read_text().replace("steps:\n", "steps:\n" + typo, 1))
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test",
                        "--keep-going"], capsys)
    assert code != 0 and "1 of 2 tracks failed" in err and "nosuch" in err
    assert (out / "01-reach-Ana-1min.mp3").read_bytes() == track
    manifest = json.loads((out / "pack.json").read_text())
    assert [t["file"] for t in manifest["tracks"]] == ["01-reach-Ana-1min.mp3",
                                                       "02-sway-Ana-1min.mp3"]
    assert "01-reach-Ana-1min.mp3" in (out / "feed.xml").read_text()
    reach.write_text(reach.read_text().replace(typo, ""))  # mended: the pack as it was
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    assert (out / "01-reach-Ana-1min.mp3").read_bytes() == track


def test_keep_going_names_the_failed_tracks_when_the_zip_fails_after_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: `pack --keep-going --zip` on a full disk said only the zip's error
    (exit 9, nothing on stdout): the tracks that had failed were never named. They are,
    with the track's own exit code, and what stopped the pack's files is said after."""
    import voiceguide.pack.publish as publish

    def full(*_: object, **__: object) -> None:
        raise vg.OutputError("pack.zip: the disk is full; free some space")

    monkeypatch.setattr(publish, "write_zip", full)
    pack = write_pack(tmp_path, IMPOSSIBLE)
    code, _, err = run(["pack", str(pack), "--out", str(tmp_path / "out"), "--engine", "test",
                        "--keep-going", "--zip"], capsys)
    assert code == ExitCode.SCHEDULE, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("Warning: ")]
    assert lines[0].startswith("Error: 1 of 4 tracks failed; the others are in"), err
    assert "track 2 (02-reach-Zed-60min): 60:00 is not possible" in lines[1], err
    assert lines[2] == ("Error: then the pack's files could not all be written: pack.zip: "
                        "the disk is full; free some space"), err


def test_a_cache_the_pack_cannot_write_in_is_said_once_for_all_its_workers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: with the phrase cache a file, `pack --jobs 2` printed the warning twice,
    once a worker and without its `Warning:`, and `--json` did not list it."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(afile))
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                "  - {routine: reach, name: Ben, minutes: 1}\n")
    code, stdout, err = run(["pack", str(pack), "--out", str(tmp_path / "out"), "--engine",
                             "test", "--jobs", "2", "--json"], capsys)
    assert code == 0, err
    said = f"the phrase cache cannot keep phrases ({afile}: is a file, not a folder)"
    assert err.count(said) == 1 and f"Warning: {said}" in err, err
    assert all(line.startswith("Warning: ") for line in err.splitlines() if line), err
    assert any(w.startswith(said) for w in json.loads(stdout)["warnings"])


def test_keep_going_builds_the_others_and_reports_the_failure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """And says what the tracks built warned of, and the pack's late warnings, with
    --json its document too: a new user's review found only the two Error: lines (a
    track's 'designed for 0.75 to 1.5 minutes' and 'feed.xml has relative links' lost)
    and nothing at all on stdout with --json."""
    pack = write_pack(tmp_path, IMPOSSIBLE.replace("sway, name: Ana, minutes: 1",
                                                   "sway, name: Ana, minutes: 2"))
    out = tmp_path / "out"
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test",
                             "--keep-going"], capsys)
    assert code == ExitCode.SCHEDULE  # the failure's own exit code
    assert sorted(p.name for p in out.glob("*.mp3")) == [
        "01-reach-Ana-1min.mp3", "03-sway-Ana-2min.mp3", "04-breathe-Ana-1min.mp3"]
    lines = [line for line in err.strip().splitlines() if not line.startswith("Warning: ")]
    assert lines[0].startswith("Error: 1 of 4 tracks failed; the others are in")
    # the track is named where the pack file writes it
    assert lines[1].startswith(f"Error: {pack}:4:5: track 2 (02-reach-Zed-60min): 60:00 is "
                               "not possible for 'Reach'")
    assert len(lines) == 2 and "Traceback" not in err
    # named as the failure is: the pack file's place (a coach's review: which track?)
    designed = f"{pack}:5:5: track 3 (03-sway-Ana-2min): 'Sway' is designed for 0.75 to 1.5"
    assert err.count(designed) == 1 and err.count("feed.xml has relative links") == 1, err
    assert stdout.startswith(f"Pack {out}: 3 built"), stdout
    shutil.rmtree(out)
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test",
                             "--keep-going", "--json"], capsys)
    doc = json.loads(stdout)
    assert code == ExitCode.SCHEDULE and sorted(doc["built"]) == [
        "01-reach-Ana-1min", "03-sway-Ana-2min", "04-breathe-Ana-1min"]
    assert [f["track"] for f in doc["failed"]] == ["02-reach-Zed-60min"]
    assert "60:00 is not possible" in doc["failed"][0]["error"]
    assert any(designed in w for w in doc["warnings"]) and designed in err
    assert "Error: 1 of 4 tracks failed" in err
    # the others are published and listed; the failed one is not
    manifest = json.loads((out / "pack.json").read_text())
    assert [t["n"] for t in manifest["tracks"]] == [1, 3, 4]
    assert (out / "index.html").is_file() and (out / "feed.xml").is_file()


def test_keep_going_in_python_hands_back_what_was_built(tmp_path: Path) -> None:
    """An app team's review: build_pack(keep_going=True) raised PackFailed, and the result
    of every track that did build (stems, warnings, phrases) was lost to the app. The
    error carries the run's result."""
    import voiceguide as vg
    from voiceguide.pack.results import PackFailed

    pack = write_pack(tmp_path, IMPOSSIBLE)
    with pytest.raises(PackFailed) as caught:
        vg.build_pack(vg.load_pack(pack, tmp_path / "out", options={"engine": "test"}), jobs=1,
                      keep_going=True)
    result = caught.value.result
    assert result is not None
    assert sorted(result.built) == ["01-reach-Ana-1min", "03-sway-Ana-1min",
                                    "04-breathe-Ana-1min"]
    assert [f.stem for f in result.failed] == ["02-reach-Zed-60min"]
    assert result.synthesized + result.cache_hits > 0
    assert any("feed.xml has relative links" in w for w in result.warnings)  # published
    # every track failing publishes nothing, so says nothing of a feed's links
    with pytest.raises(PackFailed) as caught:
        none = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Zed, minutes: 60}\n")
        vg.build_pack(vg.load_pack(none, tmp_path / "new", options={"engine": "test"}),
                      jobs=1, keep_going=True)
    assert caught.value.result is not None and not caught.value.result.built
    assert not any("feed.xml" in w for w in caught.value.result.warnings)


def test_keep_going_goes_on_past_a_bug_in_one_track_with_one_job_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import voiceguide.pack.runners as runners

    build_job = runners.build_job

    def buggy(job: Any, *args: Any) -> Any:
        if job.n == 2:
            raise RuntimeError("a bug")
        return build_job(job, *args)

    monkeypatch.setattr(runners, "build_job", buggy)
    pack = write_pack(tmp_path, IMPOSSIBLE.replace("minutes: 60", "minutes: 1"))
    out = tmp_path / "out"
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test",
                        "--jobs", "1", "--keep-going"], capsys)
    assert code == ExitCode.ERROR
    assert len(list(out.glob("*.mp3"))) == 3  # the others were built, as with --jobs 2
    assert "track 2 (02-reach-Zed-1min): internal error (RuntimeError: a bug); rerun " \
           "as 'voiceguide --debug pack ... --jobs 1' and report it" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_without_keep_going_the_first_failure_stops_the_pack(
        jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path, IMPOSSIBLE)
    out = tmp_path / "out"
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test",
                        "--jobs", jobs], capsys)
    assert code == ExitCode.SCHEDULE
    assert err.strip().splitlines() == [err.strip().splitlines()[0]]  # one line
    assert err.startswith(f"Error: {pack}:4:5: track 2 (02-reach-Zed-60min): 60:00 is not "
                          "possible")
    # the longest track is tried first, so the pack stopped before building most tracks
    assert len(list(out.glob("*.mp3"))) < 3
    assert not (out / "feed.xml").exists()


def test_shards_build_disjoint_slices_then_one_run_publishes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "whole"
    assert run(["pack", str(PACK / "pack.yaml"), "--out", str(whole), "--engine", "test"],
               capsys)[0] == 0
    out = tmp_path / "sharded"
    built: list[str] = []
    for i in (1, 2, 3):
        code, stdout, err = run(["pack", str(PACK / "pack.yaml"), "--out", str(out),
                                 "--engine", "test", "--shard", f"{i}/3"], capsys)
        assert code == 0, err
        assert "4 built, 0 unchanged" in stdout
        shard = json.loads((out / f"pack.shard-{i}-of-3.json").read_text())
        built += [t["file"] for t in shard["tracks"]]
        assert [t["n"] for t in shard["tracks"]] == [i, i + 3, i + 6, i + 9]
    assert len(set(built)) == 12
    assert not (out / "feed.xml").exists()  # shards do not publish
    code, stdout, _ = run(["pack", str(PACK / "pack.yaml"), "--out", str(out), "--engine",
                           "test"], capsys)
    assert code == 0 and "0 built, 12 unchanged" in stdout
    for p in whole.iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name
    assert run(["pack", str(PACK / "pack.yaml"), "--shard", "4/3"], capsys)[0] == 2


def test_a_rerun_with_nothing_to_do_loads_no_audio_stack(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    args = [sys.executable, "-X", "importtime", "-m", "voiceguide", "pack",
            str(PACK / "pack.yaml"), "--out", str(out), "--engine", "test"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "0 built, 12 unchanged" in again.stdout
    imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines()
                if line.startswith("import time:")}
    assert "numpy" in {line.split("|")[-1].strip() for line in first.stderr.splitlines()}
    assert not {"numpy", "scipy", "matplotlib", "lameenc"} & imported


def test_a_count_too_large_is_refused_before_any_row_is_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    many = ", ".join(f"n{i}" for i in range(100))
    minutes = ", ".join(str(1 + i / 10) for i in range(100))
    pack = write_pack(tmp_path, f"matrix:\n  routines: [{many}]\n  names: [{many}]\n"
                                f"  minutes: [{minutes}]\n  levels: [beginner, advanced]\n")
    code, _, err = run(["pack", str(pack), "--engine", "test"], capsys)  # 2 million rows
    assert code == ExitCode.INVALID_INPUT
    assert "the pack makes 2000000 tracks; the most is 10000" in err
    assert f"{pack}:3:" in err  # where the matrix is


def test_untrusted_manifests_delete_nothing_outside_or_foreign(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                "  - {routine: sway, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    good = json.loads((out / "pack.json").read_text())
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    digest = good["tracks"][0]["sha256"]
    # 1. a manifest naming a file outside the folder is ignored, with a warning
    for bad_name in ("../precious.txt", str(outside), "sub/../../precious.txt"):
        doc = {**good, "tracks": [*good["tracks"], {**good["tracks"][0], "file": bad_name,
                                                    "input_hash": "x"}]}
        (out / "pack.json").write_text(json.dumps(doc))
        code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"],
                                capsys)
        assert code == 0, err
        assert "Warning: pack.json: track file" in err and "is ignored" in err
        assert "2 built" in stdout  # nothing was trusted, so nothing was skipped either
        assert outside.read_text() == "keep me"
    # 2. a stale entry whose file is not the one the tool wrote stays
    foreign = out / "99-foreign.mp3"
    foreign.write_bytes(b"someone else's file")
    stale = {**good["tracks"][0], "n": 99, "file": foreign.name, "input_hash": "old",
             "sidecars": [], "sidecar_sha256": []}
    # 3. a stale entry that is a symlink out of the folder, recorded with the hash of
    # its target, is not followed
    link = out / "98-link.mp3"
    target = tmp_path / "target.mp3"
    target.write_bytes((out / good["tracks"][0]["file"]).read_bytes())
    link.symlink_to(target)
    linked = {**stale, "n": 98, "file": link.name, "sha256": digest}
    # 4. a stale entry the tool wrote (hash matches) goes, with its sidecars
    mine = out / "97-mine.mp3"
    shutil.copy(out / good["tracks"][0]["file"], mine)
    cues = out / "97-mine.cues.json"
    cues.write_text("{}")
    import hashlib

    ours = {**stale, "n": 97, "file": mine.name, "sha256": digest,
            "sidecars": [cues.name], "sidecar_sha256": [hashlib.sha256(b"{}").hexdigest()]}
    doc = {**good, "tracks": [*good["tracks"], stale, linked, ours]}
    (out / "pack.json").write_text(json.dumps(doc))
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
    assert code == 0, err
    assert "0 built, 2 unchanged, 1 removed" in stdout
    assert foreign.read_bytes() == b"someone else's file"
    assert link.is_symlink() and target.is_file()
    assert not mine.exists() and not cues.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("duration", "abc"), ("duration", None), ("duration", 1e308), ("duration", -5),
    ("title", ["x"]), ("title", "x" * 5_000_000), ("description", {"a": 1}),
    ("title", "nul\u0000"),
    ("input_hash", ["a"]), ("sidecar_sha256", 5), ("sidecar_sha256", "zz"),
    ("bytes", True), ("level", {"a": 1}), ("bed", "\x1b[31m"), ("rate", "fast\u202e"),
])
def test_a_tampered_entry_is_not_trusted_published_or_a_crash(
        field: str, value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    good = json.loads((out / "pack.json").read_text())
    bad = {**good["tracks"][0], field: value}
    for where in ("pack.json", ".voiceguide-journal.jsonl"):  # as an interrupted run left
        if where == "pack.json":
            (out / where).write_text(json.dumps({**good, "tracks": [bad]}))
        else:
            (out / where).write_text(json.dumps(bad) + "\n")
        code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"],
                           capsys)
        assert code == 0 and "Traceback" not in err, err
        assert "Warning:" in err and "is ignored" in err
        again = json.loads((out / "pack.json").read_text())["tracks"][0]
        assert again[field] == good["tracks"][0][field]  # what the track's files say
        assert "x" * 1000 not in (out / "feed.xml").read_text()


def test_typographic_spaces_and_emoji_joiners_in_a_routine_keep_a_pack_up_to_date(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A no-break space in a routine's description made its manifest entry 'tampered':
    the pack was built again at every full run (a review of the manifest checks)."""
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    reach = tmp_path / "reach.yaml"
    reach.write_text(reach.read_text().replace(
        "A tiny test routine", "A 1\u00a0min test routine \U0001f9d8\u200d\u2640\ufe0f"))
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    shutil.rmtree(tmp_path / "cache" / "packs")  # no stamp: the full run checks each track
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
    assert code == 0 and "0 built, 1 unchanged" in stdout and "is ignored" not in err, err


def test_a_tampered_caption_file_is_built_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pack called a replaced .vtt 'unchanged': only the track's digest was compared
    (found by an attack; a single build compares the sidecars too)."""
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    (vtt,) = out.glob("*.vtt")
    good = vtt.read_bytes()
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:05.000\nEVIL\n")
    code, stdout, _ = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
    assert code == 0 and "1 built" in stdout and vtt.read_bytes() == good


@pytest.mark.parametrize("dropped", [("sidecars", "sidecar_sha256"), ("sidecar_sha256",)])
def test_an_entry_that_cannot_vouch_for_its_cue_sheet_is_built_again(
        dropped: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An entry without its sidecars was an internal error (KeyError), and one without
    their digests published a cue sheet replaced by anything (KeyError: 'chapters'); both
    are now built again (a code review)."""
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    doc = json.loads((out / "pack.json").read_text())
    for key in dropped:
        del doc["tracks"][0][key]
    (out / "pack.json").write_text(json.dumps(doc))
    (cues,) = out.glob("*.cues.json")
    good = cues.read_bytes()
    cues.write_text('{"title": "x"}')
    shutil.rmtree(tmp_path / "cache" / "packs")  # no stamp: the full run checks each track
    code, stdout, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
    assert code == 0 and "1 built" in stdout, err
    assert cues.read_bytes() == good and "Reach" in (out / "feed.xml").read_text()


@pytest.mark.parametrize("stamp", ['{"files": 5}', "null", "true", '{"files": [1]}'])
def test_a_tampered_publish_stamp_is_ignored(
        stamp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    assert run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)[0] == 0
    (out / ".voiceguide-published.json").write_text(stamp)
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert (out / "feed.xml").is_file()


def test_zip_does_not_follow_symlinks_out(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    out.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (out / "notes.txt").symlink_to(secret)
    # nor does it take a file the pack did not make (an attack: an --out folder that held
    # id_rsa gave a zip, sent to a client, that held it too)
    (out / "id_rsa").write_text("private key")
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test", "--zip"],
                        capsys)
    assert code == 0, err
    with zipfile.ZipFile(out / "Runs.zip") as z:
        names = {Path(n).name for n in z.namelist()}
        assert "01-reach-Ana-1min.mp3" in names
        assert "notes.txt" not in names and "id_rsa" not in names
        assert all(b"private" not in z.read(n) for n in z.namelist())
        # everything the pack published beside it
        made = {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")
                and p.name not in ("id_rsa", "notes.txt", "Runs.zip")}
        assert names == made, names ^ made
    # a manifest forged to name another file as a track's sidecar (its digest matching):
    # the zip takes only the files named after a track (the attack on this change)
    import hashlib

    from voiceguide.pack.fresh import stamp_path

    (out / "attacker.html").write_text("<script>1</script>")
    manifest = json.loads((out / "pack.json").read_text())
    manifest["tracks"][0]["sidecars"].append("attacker.html")
    manifest["tracks"][0]["sidecar_sha256"].append(
        hashlib.sha256((out / "attacker.html").read_bytes()).hexdigest())
    (out / "pack.json").write_text(json.dumps(manifest))
    stamp_path(out).unlink(missing_ok=True)
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test", "--zip"],
                        capsys)
    assert code == 0, err
    with zipfile.ZipFile(out / "Runs.zip") as z:
        assert "attacker.html" not in {Path(n).name for n in z.namelist()}


def test_a_full_disk_exits_9_and_keeps_the_previous_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with small_disk(tmp_path / "disk", "700k") as disk:
        pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                    "  - {routine: sway, name: Ana, minutes: 1.5}\n")
        code, _, err = run(["pack", str(pack), "--out", str(disk / "out"), "--engine", "test",
                            "--keep-going"], capsys)
        assert code == ExitCode.OUTPUT, err
        assert "the disk is full" in err and "internal error" not in err
        assert not [p for p in (disk / "out").iterdir() if p.name.startswith(".voiceguide-tmp")]
        # the same through atomic_write: the error closing the file does not hide it
        from voiceguide.errors import OutputError
        from voiceguide.io.atomic import write_bytes

        for p in (disk / "out").iterdir():
            p.unlink()
        old = disk / "old.txt"
        old.write_text("previous")
        with pytest.raises(OutputError, match="the disk is full"):
            write_bytes(old, b"y" * (1 << 20))
        assert old.read_text() == "previous"


def test_a_failure_while_writing_sidecars_keeps_the_old_track(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import voiceguide as vg
    from voiceguide.errors import OutputError
    from voiceguide.export import sidecars

    routine = vg.load_routine(PACK / "reach.yaml")
    out = tmp_path / "out"
    vg.build_track(routine, vg.TrackSettings(engine="test", name="Ana"), out, stem="t")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = sidecars.write_bytes

    def fail_on_vtt(path: Path, data: bytes) -> None:
        if path.suffix == ".vtt":
            raise OutputError(f"{path}: the disk is full; free some space and build again")
        real(path, data)

    monkeypatch.setattr(sidecars, "write_bytes", fail_on_vtt)
    with pytest.raises(OutputError):
        vg.build_track(routine, vg.TrackSettings(engine="test", name="Ben"), out, stem="t")
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # not a new MP3 beside old cue sheets, and no temporary file


def test_tracks_go_to_a_journal_longest_first_and_the_manifest_is_written_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: the manifest costs O(1) per track (a journal line), not a rewrite of a
    growing pack.json per track; the longest tracks are built first."""
    import voiceguide as vg
    from voiceguide.pack.dest import LocalDest
    from voiceguide.pack.manifest import JOURNAL, Journal

    out = tmp_path / "out"
    events: list[tuple[str, Any]] = []
    real_append, real_write = Journal.append, LocalDest.write_bytes

    def append(self: Journal, entry: dict[str, Any]) -> None:
        real_append(self, entry)
        lines = self.path.read_text().splitlines()
        events.append(("journal", (entry["minutes"], len(lines))))

    def write_bytes(self: LocalDest, name: str, data: bytes) -> None:
        events.append(("write", name))
        real_write(self, name, data)

    monkeypatch.setattr(Journal, "append", append)
    monkeypatch.setattr(LocalDest, "write_bytes", write_bytes)
    plan = vg.load_pack(PACK / "pack.yaml", out, None,
                        vg.TrackSettings.from_options({"engine": "test"}))
    vg.build_pack(plan, jobs=1)
    journal = [data for kind, data in events if kind == "journal"]
    assert [lines for _, lines in journal] == list(range(1, 13))  # one line per track
    minutes = [m for m, _ in journal]
    assert minutes == sorted(minutes, reverse=True) and minutes[0] > minutes[-1]
    writes = [name for kind, name in events if kind == "write"]
    assert writes.count("pack.json") == 1
    first_write = next(i for i, (kind, _) in enumerate(events) if kind == "write")
    assert all(kind == "journal" for kind, _ in events[:first_write])  # written at the end
    assert len(json.loads((out / "pack.json").read_text())["tracks"]) == 12
    assert not (out / JOURNAL).exists()  # folded into pack.json


def _which_worker(job: Any, progress: Any) -> tuple[int, int]:
    """A pool job: this process's id and how many jobs it has run so far."""
    global _JOBS_HERE
    _JOBS_HERE += 1
    return os.getpid(), _JOBS_HERE


_JOBS_HERE = 0


def test_pool_workers_start_once_and_stay_warm(tmp_path: Path) -> None:
    """Issue 18: --jobs 2 starts two worker processes for the whole pack, each building
    track after track (its engine stays loaded), not a process per track."""
    import voiceguide as vg
    from voiceguide.pack.workers import WorkerPool

    plan = vg.load_pack(PACK / "pack.yaml", tmp_path / "out", None,
                        vg.TrackSettings.from_options({"engine": "test"}))
    with WorkerPool(2, _which_worker) as pool:
        done = [data for kind, _, data in pool.run(plan.jobs) if kind == "done"]
    assert len(done) == 12
    pids = {pid for pid, _ in done}
    assert len(pids) == 2 and os.getpid() not in pids
    assert sorted(n for _, n in done) == sorted(
        n for pid in pids for n in range(1, 1 + sum(p == pid for p, _ in done)))


def test_a_stopped_run_of_a_changed_pack_still_removes_the_dropped_tracks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ben leaves the pack; the run that would remove his tracks is stopped (Ctrl-C)
    after one track. It wrote a manifest of only what it had finished, so the next run
    no longer knew Ben's tracks: they stayed, and went into the zip (found by a
    robustness attack). The old manifest now stays until a run goes through."""
    from voiceguide.pack.manifest import Journal

    both = "tracks:\n" + "".join(f"  - {{routine: {r}, name: {n}, minutes: 1}}\n"
                                 for r in ("reach", "sway") for n in ("Ana", "Ben"))
    path = write_pack(tmp_path, both)
    out = tmp_path / "out"
    argv = ["pack", str(path), "--out", str(out), "--engine", "test", "--jobs", "1"]
    assert run(argv, capsys)[0] == 0
    bens = sorted(p.name for p in out.glob("*Ben*.mp3"))
    assert len(bens) == 2
    path.write_text("title: Runs\ntracks:\n  - {routine: reach, name: Ana, minutes: 1.5}\n"
                    "  - {routine: sway, name: Ana, minutes: 1.5}\n")
    real = Journal.append

    def stop_after_one(self: Journal, entry: dict[str, Any]) -> None:
        real(self, entry)
        raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "append", stop_after_one)
    assert run(argv, capsys)[0] == 130
    monkeypatch.setattr(Journal, "append", real)
    code, stdout, err = run([*argv, "--zip"], capsys)
    assert code == 0, err
    assert not list(out.glob("*Ben*")), sorted(p.name for p in out.iterdir())
    assert "4 removed" in stdout, stdout  # Ben's two and the 1-minute ones of Ana
    import zipfile

    with zipfile.ZipFile(next(out.glob("*.zip"))) as z:
        assert not [n for n in z.namelist() if "Ben" in n]


def test_a_full_temporary_folder_is_named_not_the_roomy_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg writes an M4A in the temporary folder first: with that disk full, the error
    blamed the track's path, on a disk with room (found by a robustness attack)."""
    import tempfile

    with small_disk(tmp_path / "disk", "200k") as disk:
        monkeypatch.setattr(tempfile, "tempdir", str(disk))
        code, _, err = run(["build", str(PACK / "sway.yaml"), "--engine", "test",
                            "--minutes", "1.5", "--format", "m4a", "--out",
                            str(tmp_path / "out")], capsys)
        assert code == ExitCode.OUTPUT, err
        assert err.strip().splitlines() == [
            f"Error: {disk}: the disk of the temporary folder is full; free some space "
            "there, or set TMPDIR to a folder on a roomier disk"], err


_DEAF_POOL = """
import json, signal, time
from pathlib import Path
from voiceguide.pack.workers import WorkerPool
from tests.test_pack_runs import _which_worker

def state(pid):
    fields = dict(line.split(":\\t") for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":\\t" in line)
    bit = 1 << (signal.SIGINT - 1)
    return [bool(int(fields["SigBlk"], 16) & bit), bool(int(fields["SigIgn"], 16) & bit)]

if __name__ == "__main__":
    # as the command line has it (a suite run in the background inherits it ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with WorkerPool(2, _which_worker) as pool:
        at_start = [state(w.proc.pid) for w in pool._workers]
        parent = [signal.getsignal(signal.SIGINT) is not signal.SIG_IGN,
                  signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())]
        deadline = time.monotonic() + 60
        while True:  # spawned, imported, serving
            serving = [state(w.proc.pid) for w in pool._workers]
            # ignored, then unblocked: a look between the two saw [True, True] (a
            # fresh clone's run on a busy machine)
            if all(ignored and not blocked for blocked, ignored in serving) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    print(json.dumps([at_start, parent, serving]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_pool_workers_are_deaf_to_ctrl_c_from_their_first_instant(tmp_path: Path) -> None:
    """Ctrl-C reaches every process in the terminal's group; a worker still starting
    (before it set itself to ignore it) printed Python's traceback of its start-up
    (found by a robustness attack). The parent alone decides when the pack stops. In a
    fresh process: the first worker started multiprocessing's resource tracker, which
    unblocked Ctrl-C again on its way."""
    script = tmp_path / "pool.py"
    script.write_text(_DEAF_POOL)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120, check=True)
    at_start, parent, serving = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(blocked or ignored for blocked, ignored in at_start), at_start
    assert parent == [True, True]  # the parent still takes its own Ctrl-C
    assert serving == [[False, True]] * 2, serving


def test_an_error_named_with_its_track_keeps_its_kind_and_exit_code() -> None:
    """Naming the track an error happened in made every error of a class with its own
    constructor a plain VoiceguideError (exit 1, not caught as what it was): a track's
    invalid input exited 1, a length out of reach lost its range (a review)."""
    import tblib.pickling_support

    from voiceguide.errors import (
        AudioInputError,
        InvalidInputError,
        OtherKindError,
        ScheduleError,
        UsageError,
        VoiceguideError,
    )
    from voiceguide.lengths import LengthOutOfReach
    from voiceguide.pack.runners import in_track

    # as Dask leaves them (its reducers made a copy share the original's fields, and the
    # original was renamed too: found when the suite ran this after the Dask tests)
    tblib.pickling_support.install(InvalidInputError, OtherKindError, ScheduleError,
                                   UsageError, AudioInputError)
    job = vg.load_pack(PACK / "pack.yaml").jobs[0]
    for exc in (InvalidInputError("bad"), OtherKindError("other"), ScheduleError("long"),
                LengthOutOfReach("long", (1.0, 2.0)), UsageError("use"),
                AudioInputError("bed")):
        exc.warnings = ["a warning"]
        named: VoiceguideError = in_track(job, exc)
        assert type(named) is type(exc) and named.exit_code == exc.exit_code
        assert str(named) == f"{job.where}: {exc}" and named.warnings == ["a warning"]
        if isinstance(exc, InvalidInputError):
            assert named.problems == [str(named)]  # type: ignore[attr-defined]
        if isinstance(exc, LengthOutOfReach):
            assert named.reachable == (1.0, 2.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("grouped", [False, True])
def test_a_pack_run_with_nothing_to_do_names_its_files_as_the_run_that_wrote_them(
        grouped: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's PackResult.files were paths in the pack's folder after a run that wrote
    them, and bare names (the zip among them) after one with nothing to do (a code
    review)."""
    import voiceguide as vg

    monkeypatch.chdir(tmp_path)
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                      "  - {routine: sway, name: Ben, minutes: 1}\n"
                      + ("group_by: name\n" if grouped else ""))
    plan = vg.load_pack(pack, Path("out"), None, {"engine": "test"})
    first = vg.build_pack(plan, make_zip=True)
    again = vg.build_pack(vg.load_pack(pack, Path("out"), None, {"engine": "test"}),
                          make_zip=True)
    assert not again.built and sorted(again.files) == sorted(first.files)
    assert all(f.is_file() for f in again.files) and (again.zip, again.zips) == \
        (first.zip, first.zips)


def test_an_app_building_a_pack_gets_the_warnings_the_cli_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A new-user review: build_pack returned `warnings: []` where `voiceguide pack` on
    the same pack warned of the feed's relative links."""
    import voiceguide as vg

    monkeypatch.chdir(tmp_path)
    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, format: opus}\n")
    result = vg.build_pack(vg.load_pack(pack, Path("out"), None, {"engine": "test"}))
    assert run_cli(["pack", str(pack), "--engine", "test", "--out", "cli", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["warnings"]
    assert result.warnings == printed and len(printed) == 2, printed
    assert "1 track(s) in opus: Apple Podcasts does not play them" in printed[0]
    assert printed[1].startswith("feed.xml has relative links")
    result = vg.build_pack(vg.load_pack(pack, Path("out"), None, {"engine": "test"}),
                           base_url="https://example.org/p")
    assert not any("relative links" in w for w in result.warnings)


def test_a_pack_says_what_its_tracks_builds_warned_of_once_each_and_again_when_up_to_date(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A coach's review: `build` warned of "five times" said as written before a fitted
    repeat, `pack` of the same routine said nothing, and the client's track said five
    and played six."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "knees.yaml").write_text(
        "title: Knees\nlength: {min: 0.3, max: 0.5}\nsteps:\n  - say: We lift five times.\n"
        "  - repeat: {count: 5, min: 3, max: 8, phases: [{say: Lift., seconds: 3}]}\n")
    pack = write_pack(tmp_path, "author: K\nemail: k@example.org\ntracks:\n"
                      "  - {routine: knees, name: Ana, minutes: 0.5}\n"
                      "  - {routine: knees, name: Ben}\n  - {routine: knees, name: 李雷}\n")
    said = []
    for _ in range(2):  # built, then answered as up to date
        assert run_cli(["pack", str(pack), "--engine", "test", "--out", "o", "--json"]) == 0
        said.append(json.loads(capsys.readouterr().out)["warnings"])
    assert said[0] == said[1], said
    honest = [w for w in said[0] if "'five times' is said as written" in w]
    assert len(honest) == 1
    # each once, with the tracks it was given for (a coach's review: whose was it?); the
    # routine named from its folder: a track's cue sheet does not give away the coach's
    assert honest[0].startswith(f"{pack}:5:5: track 1 (01-knees-Ana-0.5min) and 2 more (02-"
                                "knees-Ben, 03-knees-listener-"), honest
    assert ": knees.yaml:4:10: steps[0].say" in honest[0]
    assert any(w.startswith(f"{pack}:7:5: track 3 (03-knees-listener-")
               and "'李雷' has no letters" in w for w in said[0]), said[0]


def test_a_second_pack_run_into_the_same_folder_waits_for_the_first(tmp_path: Path) -> None:
    """An attack: two packs sent to one --out at once wrote over each other, leaving a
    pack.json of one pack beside the other's unlisted tracks, and a zip one run reported
    had gone. A run holds the folder's lock from its first write to its last; another
    says it waits (on stderr with --quiet too: it waited in silence), and starts when
    the lock is let go."""
    import time

    from filelock import FileLock

    from voiceguide.pack.lock import LOCK_NAME

    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    out = tmp_path / "out"
    out.mkdir()
    held = FileLock(out / LOCK_NAME)  # as a first run holds it
    held.acquire()
    proc = subprocess.Popen([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                             str(out), "--engine", "test", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        time.sleep(3)
        assert proc.poll() is None  # waiting
        assert not (out / "pack.json").exists() and not list(out.glob("*.mp3"))
    finally:
        held.release()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"Warning: waiting for another pack run that is writing to {out}" in stderr
    assert json.loads((out / "pack.json").read_text())["title"] == "Runs"


def test_the_same_shard_started_twice_waits_while_other_shards_run(tmp_path: Path) -> None:
    """Shards took no lock: the same shard started again while it ran (a batch
    scheduler's retry) built its tracks and wrote its journal and manifest twice at once.
    Each shard holds a lock of its own: the second run of shard 1 of 2 waits and says so,
    while shard 2 of 2 runs meanwhile."""
    import time

    from filelock import FileLock

    from voiceguide.pack.lock import lock_name

    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                "  - {routine: reach, name: Ben, minutes: 1}\n")
    out = tmp_path / "out"
    out.mkdir()
    held = FileLock(out / lock_name((1, 2)))  # as the first run of shard 1 holds it
    held.acquire()
    argv = [sys.executable, "-m", "voiceguide", "pack", str(pack), "--out", str(out),
            "--engine", "test", "--quiet", "--shard"]
    proc = subprocess.Popen([*argv, "1/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        other = subprocess.run([*argv, "2/2"], capture_output=True, text=True, cwd=tmp_path,
                               timeout=120, check=False)
        assert other.returncode == 0, other.stderr
        assert (out / "pack.shard-2-of-2.json").is_file()
        time.sleep(1)
        assert proc.poll() is None  # waiting
        assert not (out / "pack.shard-1-of-2.json").exists()
    finally:
        held.release()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"Warning: waiting for another pack run that is writing to {out} (shard 1 of " \
           "2)" in stderr
    assert (out / "pack.shard-1-of-2.json").is_file()


def test_a_whole_run_and_a_shard_wait_for_each_other(tmp_path: Path) -> None:
    """A shard and a whole run of the same pack started at once both built tracks 02 and
    04 (each held a lock of its own). A shard waits while a whole run holds the folder's
    lock; a whole run waits for a shard that holds its own."""
    import time

    from filelock import FileLock

    from voiceguide.pack.lock import LOCK_NAME, lock_name

    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                                "  - {routine: reach, name: Ben, minutes: 1}\n")
    argv = [sys.executable, "-m", "voiceguide", "pack", str(pack), "--engine", "test",
            "--quiet", "--out"]
    for k, (held_name, extra, made) in enumerate((
            (LOCK_NAME, ["--shard", "1/2"], "pack.shard-1-of-2.json"),  # a whole run holds
            (lock_name((2, 2)), [], "pack.json"))):  # shard 2 of 2 runs
        out = tmp_path / f"out{k}"
        out.mkdir()
        held = FileLock(out / held_name)
        held.acquire()
        proc = subprocess.Popen([*argv, str(out), *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        try:
            time.sleep(4)
            assert proc.poll() is None, proc.communicate()  # waiting
            assert not (out / made).exists() and not list(out.glob("*.mp3"))
        finally:
            held.release()
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert f"Warning: waiting for another pack run that is writing to {out}" in stderr
        assert (out / made).is_file()


def test_a_folder_or_link_where_the_pack_lock_goes_is_one_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The attack on the lock: a folder or a link at .voiceguide-pack.lock was 'internal
    error (IsADirectoryError)', exit 1."""
    from voiceguide.pack.lock import LOCK_NAME

    pack = write_pack(tmp_path, "tracks:\n  - {routine: reach, name: Ana, minutes: 1}\n")
    for k, plant in enumerate((Path.mkdir, lambda p: p.symlink_to(tmp_path / "nowhere"))):
        out = tmp_path / f"out{k}"
        out.mkdir()
        plant(out / LOCK_NAME)
        code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test"], capsys)
        assert code == ExitCode.OUTPUT, err
        assert f"{out / LOCK_NAME}: cannot take the pack folder's lock" in err
        assert "internal error" not in err and not (tmp_path / "nowhere").exists()
    # a folder where no lock file can be made waited for ever, "waiting for another pack
    # run" (an attack: --out /proc/self); it is an output error at once
    if Path("/proc/self").is_dir():
        made = subprocess.run([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                               "/proc/self", "--engine", "test"], capture_output=True,
                              text=True, timeout=120, check=False)
        assert made.returncode == ExitCode.OUTPUT, made.stderr
        assert "cannot take the pack folder's lock" in made.stderr
        assert "waiting" not in made.stderr


def test_a_zip_with_the_same_files_is_left_as_it_was(tmp_path: Path) -> None:
    """A coach's review: renaming one listener rewrote another's 7.8 MB zip with the same
    bytes and a new modification time, and a sync tool sent it again. The same files
    leave the zip as it was; a changed one makes a new zip."""
    import time
    import zipfile

    from voiceguide.pack.publish import write_zip

    (tmp_path / "a.mp3").write_bytes(os.urandom(200_000))
    (tmp_path / "feed.xml").write_text("<rss/>")
    first = write_zip(tmp_path, "p.zip", ["a.mp3", "feed.xml"])
    was = first.stat()
    time.sleep(0.02)
    write_zip(tmp_path, "p.zip", ["a.mp3", "feed.xml"])
    now = first.stat()
    assert (now.st_ino, now.st_mtime_ns) == (was.st_ino, was.st_mtime_ns)
    (tmp_path / "feed.xml").write_text("<rss>new</rss>")
    write_zip(tmp_path, "p.zip", ["a.mp3", "feed.xml"])
    with zipfile.ZipFile(first) as z:
        (feed,) = [n for n in z.namelist() if n.endswith("/feed.xml")]
        assert z.read(feed) == b"<rss>new</rss>"


def test_a_rerun_says_the_warnings_of_the_tracks_it_keeps(tmp_path: Path) -> None:
    """An app team's review: a second build_pack had track_warnings == [] where the first
    said '--rate 260 is faster than calm guidance'; a track kept says its build's
    warnings again, as an up-to-date build does."""
    pack = write_pack(tmp_path, "defaults: {engine: test}\ntracks:\n"
                      "  - {routine: reach, name: Ana, minutes: 1, rate: 260}\n"
                      "  - {routine: sway, name: Ana, minutes: 1}\n")
    first = vg.build_pack(vg.load_pack(pack, tmp_path / "out"), jobs=1)
    assert any("faster than calm guidance" in w for w in first.track_warnings), first
    again = vg.build_pack(vg.load_pack(pack, tmp_path / "out"), jobs=1)
    assert again.built == [] and len(again.skipped) == 2
    assert again.track_warnings == first.track_warnings


def test_a_listener_whose_only_track_failed_gets_no_empty_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pack stopped by one listener's track (60 minutes of a routine that cannot last
    them) left that listener's folder behind, empty (a new user's review)."""
    pack = write_pack(tmp_path, "group_by: name\n" + IMPOSSIBLE.replace(
        "  - {routine: reach, name: Ana, minutes: 1}\n", ""))
    out = tmp_path / "out"
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test", "--jobs",
                        "1"], capsys)
    assert code == ExitCode.SCHEDULE and "60:00 is not possible" in err
    assert not (out / "zed").exists()
    code, _, err = run(["pack", str(pack), "--out", str(out), "--engine", "test", "--jobs",
                        "1", "--keep-going"], capsys)
    assert code == ExitCode.SCHEDULE and not (out / "zed").exists()
    assert len(list((out / "ana").glob("*.mp3"))) == 2
