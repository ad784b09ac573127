"""What the library says to an app: its settings and arguments named as Python spells
them (the command line's options inside ``cli_messages``), a form's empty field not
given, and an argument of the wrong kind a ``UsageError`` naming it (an app team's
review of the Python API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import voiceguide as vg
from tests.conftest import run_cli

PACK = Path(__file__).parent / "assets" / "pack" / "pack.yaml"
TINY: dict[str, Any] = {"title": "Tiny", "steps": [
    {"say": "Hello{% if name %}, {{ name }}{% endif %}."},
    {"hold": {"seconds": 10, "say": "Hold."}}]}


def test_messages_name_keywords_for_an_app_and_options_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """"leave --minutes out" answered ``plan_track(r, {"minutes": 8})``, "--rate 250 is
    faster" a ``{"rate": 250}``, "use --force" a ``write_profile_template(path)``."""
    with pytest.raises(vg.LengthOutOfReach) as caught:
        vg.plan_track(TINY, {"engine": "test", "minutes": 8})
    said = str(caught.value)
    assert "leave 'minutes' out" in said and "--" not in said, said
    with vg.cli_messages(), pytest.raises(vg.UsageError) as flagged:  # as the command
        vg.build_pack(vg.load_pack(PACK), jobs=0)  # line (or an app's own) says them
    assert str(flagged.value) == "--jobs must be between 1 and 32 (got 0)"
    with pytest.raises(vg.UsageError, match=r"^'jobs' must be between 1 and 32 \(got 0\)$"):
        vg.build_pack(vg.load_pack(PACK), jobs=0)
    # a warning is kept in the cue sheet, the same bytes whoever builds: said alike
    for front in (False, True):
        with vg.cli_messages(front):
            warned = vg.plan_track(TINY, {"engine": "test", "rate": 250}).warnings
        assert any(w.startswith("a rate of 250 words per minute is faster than calm")
                   for w in warned), warned
    profile = tmp_path / "p.yaml"
    vg.write_profile_template(str(profile))  # a str, as every other path argument
    with pytest.raises(vg.UsageError, match="already exists; use force=True to replace it"):
        vg.write_profile_template(profile)
    with pytest.raises(vg.UsageError, match=r"^track_name='a/b' is a path, not a file's "
                                            r"name: .* \(the folder is 'out_dir'\)$"):
        vg.track_request(TINY, {}, out_dir=tmp_path, track_name="a/b")
    # the command line names its options, and leaves the library as it found it
    routine = tmp_path / "tiny.yaml"
    routine.write_text("title: Tiny\nsteps:\n  - say: Hello.\n  - hold: {seconds: 10, "
                       "say: Hold.}\n")
    assert run_cli(["show", str(routine), "--engine", "test", "--minutes", "8"]) == \
        vg.ExitCode.SCHEDULE
    err = capsys.readouterr().err
    assert "leave --minutes out" in err and err.startswith("Error: "), err
    assert run_cli(["init", str(profile)]) == vg.ExitCode.USAGE
    assert "use --force to replace it" in capsys.readouterr().err
    with pytest.raises(vg.UsageError, match="use force=True"):
        vg.write_profile_template(profile)


def test_a_forms_empty_field_is_not_given_to_a_build_as_to_a_request(tmp_path: Path) -> None:
    """``{"minutes": ""}`` was a request to ``track_request`` and "'minutes' must be a
    number (got '')" to ``plan_track``: an app that sends its form to both broke."""
    form = {"engine": "test", "minutes": "", "level": "", "format": "", "rate": "",
            "loudness": "", "name": "Ana"}
    request = vg.track_request(TINY, form, out_dir=tmp_path)
    plan = vg.plan_track(TINY, form)
    assert plan.settings.given() == {"engine": "test", "name": "Ana"}
    assert request.settings == {"engine": "test", "name": "Ana"}


def test_a_running_engine_other_than_the_settings_one_is_refused() -> None:
    """An espeak engine shared by a server built a request for piper: the track was
    espeak's, its settings said piper, and ``up_to_date`` then found it built."""
    from voiceguide.speech.testtone import ToneEngine

    with pytest.raises(vg.UsageError, match=r"engine= is a running test engine, but the "
                                            r"settings ask for 'espeak'"):
        vg.plan_track(TINY, {}, engine=ToneEngine())
    assert vg.plan_track(TINY, {"engine": "test"}, engine=ToneEngine()).duration > 10


@pytest.mark.parametrize(("call", "said"), [
    (lambda o: vg.track_request(TINY, {}, out_dir=o, track_name=5),
     "'track_name' is a file's name (text) or None, not int"),
    (lambda o: vg.build_track(TINY, {"engine": "test"}, o, stem=5),
     "stem is a file's name (text) or None, not int"),
    (lambda o: vg.parse_shard(5), "'shard' is text such as '1/4', not int"),
    (lambda o: vg.default_pack_folder(5), "pack_path is a pack file's path (a str or a Path), "
                                        "not int"),
    (lambda o: vg.track_tags("x"), "track_tags takes what plan_track returns, not str"),
    (lambda o: vg.write_profile_template(o, formats=["flac"]),
     "'format': unknown format 'flac'; use one of m4a, m4b, mp3, opus, wav"),
    (lambda o: vg.PhraseCache(o, max_bytes=-1), "PhraseCache's max_bytes is a whole number "
                                                "of bytes, at least 1 (or None for the "
                                                "default), not -1"),
    (lambda o: vg.voice_samples("hi", o, rate="fast", voice="gmw/en"),
     "'rate' must be a whole number (got 'fast')"),
    (lambda o: vg.voice_samples("hi", o, rate=900, voice="gmw/en"),
     "'rate' must be between 100 and 300 (got 900)"),
], ids=["track_name", "stem", "shard", "pack_folder", "track_tags", "profile_formats",
        "cache_bytes", "rate_text", "rate_900"])
def test_an_argument_of_the_wrong_kind_is_a_usage_error_naming_it(call: Any, said: str,
                                                                   tmp_path: Path) -> None:
    """Each was an AttributeError or a TypeError from deep inside (or, rate=900, a
    sample spoken at 900 words a minute without a word)."""
    with pytest.raises(vg.UsageError) as caught:
        call(tmp_path / "o")
    assert str(caught.value) == said
    assert not (tmp_path / "o").exists()  # refused before any work


def test_a_strict_length_a_little_beyond_reach_says_the_range_a_picker_takes() -> None:
    """``strict_minutes`` a little past the longest length was a plain ``ScheduleError``
    without ``.reachable`` ("the nearest is 8:21; it can last 4:39 to 8:23", where 8:23
    builds and 9:00 said "4:40 to 8:23"): now the same ``LengthOutOfReach`` as further
    off, with the same range."""
    routine = {"title": "Elastic", "steps": [
        {"say": "Hello."}, {"hold": {"seconds": 60, "min": 40, "max": 90, "say": "Hold."}}]}
    with pytest.raises(vg.LengthOutOfReach) as far:
        vg.plan_track(routine, {"engine": "test", "minutes": 9})
    shortest, longest = far.value.reachable
    for seconds in (longest + 2, shortest - 2):
        with pytest.raises(vg.LengthOutOfReach) as near:
            vg.plan_track(routine, {"engine": "test", "minutes": seconds / 60,
                                    "strict_minutes": True})
        assert near.value.reachable == (shortest, longest)
        assert str(near.value).split("; ", 1)[1] == str(far.value).split("; ", 1)[1]
    # and without strict_minutes it builds the nearest, as before
    plan = vg.plan_track(routine, {"engine": "test", "minutes": (longest + 2) / 60})
    assert abs(plan.duration - longest) < 0.5


def test_a_file_name_given_with_its_suffix_names_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An app team's review: ``stem="evening.mp3"`` wrote ``evening.mp3.mp3`` (and so did
    ``--track-name evening.mp3``), and ``stem="evening.wav"`` an MP3 named
    ``evening.wav.mp3``. The format's own suffix names the file; another audio format's
    is refused before any work, as a path ending in it is."""
    built = vg.build_track(TINY, {"engine": "test"}, tmp_path, stem="evening.mp3")
    assert built.path == tmp_path / "evening.mp3"
    request = vg.track_request(TINY, {"engine": "test"}, out_dir=tmp_path,
                               track_name="evening.mp3")
    assert request.path == built.path
    with pytest.raises(vg.UsageError, match=r"^stem='evening.wav': the track's format is "
                                            r"mp3, but the name ends in .wav; name it "
                                            r"evening, or set the format"):
        vg.build_track(TINY, {"engine": "test"}, tmp_path / "no", stem="evening.wav")
    assert not (tmp_path / "no").exists()
    # and a folder named as a track: refused by build_track as by track_request (it made
    # a folder "o.mp3" with the track in it)
    for call in (lambda: vg.build_track(TINY, {"engine": "test"}, tmp_path / "o.mp3"),
                 lambda: vg.track_request(TINY, {"engine": "test"}, out_dir=tmp_path / "o.mp3")):
        with pytest.raises(vg.UsageError, match=r"o.mp3 looks like a track's file name, but "
                                                r"the output is a folder \('out_dir'\)"):
            call()
    assert not (tmp_path / "o.mp3").exists()
    routine = tmp_path / "tiny.yaml"
    routine.write_text("title: Tiny\nsteps:\n  - say: Hello.\n")
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(tmp_path / "cli"),
                    "--track-name", "morning.mp3", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [
        "morning.cues.json", "morning.lrc", "morning.mp3", "morning.vtt"]
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(tmp_path / "cli"),
                    "--track-name", "morning.opus"]) == vg.ExitCode.USAGE
    assert "Error: --track-name 'morning.opus': the track's format is mp3, but the name " \
           "ends in .opus; name it morning, or set the format that writes .opus " \
           "(--format)" in capsys.readouterr().err


def test_a_plan_and_a_render_print_in_one_line() -> None:
    """``repr`` of a TrackPlan was 3.9 kB and of a Rendered 39 kB (the script, the clips,
    the mixer): an app's log line or a notebook cell filled the screen."""
    import io

    plan = vg.plan_track(TINY, {"engine": "test"})
    rendered = vg.render_track(plan, io.BytesIO())
    for shown in (repr(plan), repr(rendered)):
        assert "\n" not in shown and len(shown) < 160, shown
    assert repr(plan) == (f"TrackPlan(routine='tiny', duration={plan.duration:.2f}, "
                          "voice='tone/low', warnings=0)")
    assert repr(rendered) == (f"Rendered(path=None, size={rendered.size}, format='mp3', "
                              f"loudness={round(rendered.loudness or 0, 1)})")


def test_a_cli_messages_block_that_ends_takes_only_its_own_setting_away() -> None:
    """Two threads' blocks overlapping: the first to end took the other's setting away
    (a review: a block that asked for Python's names was given options, and options
    stayed on after the only block that asked for them had ended); "no" was on."""
    from voiceguide.errors import cli_messages_on

    first, second = vg.cli_messages(True), vg.cli_messages(False)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second is open
    assert cli_messages_on() is False  # the second's own
    second.__exit__(None, None, None)
    assert cli_messages_on() is False
    with vg.cli_messages():
        with vg.cli_messages(False):
            assert cli_messages_on() is False
        assert cli_messages_on() is True
        with pytest.raises(ValueError), vg.cli_messages(False):
            raise ValueError
        assert cli_messages_on() is True
    assert cli_messages_on() is False
    with pytest.raises(vg.UsageError, match="on is True or False, not str 'no'"), \
            vg.cli_messages("no"):  # type: ignore[arg-type]
        pass
    assert cli_messages_on() is False


def test_a_packs_track_names_the_pack_files_fields_not_options_pack_lacks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pack's track said "leave --minutes out" and "(from --level, ...)": options the
    ``pack`` command has not; the pack file's ``minutes:`` and ``level:`` were meant."""
    (tmp_path / "tiny.yaml").write_text("title: Tiny\nlevel: advanced\nsteps:\n"
                                        "  - say: Hello.\n  - hold: {seconds: 10, say: Hold.}\n")
    pack = tmp_path / "pack.yaml"
    for track, said, wrong in (("minutes: 8", "leave 'minutes' out", "--minutes"),
                               ("level: beginner", "the beginner level would play", "--level")):
        pack.write_text(f"title: P\ntracks:\n  - routine: tiny\n    {track}\n")
        for argv in (["validate", str(pack)],
                     ["pack", str(pack), "--engine", "test", "--out", str(tmp_path / "o")]):
            assert run_cli(argv) != 0
            err = capsys.readouterr().err
            assert f"{pack.name}:3:5: track 1" in err and said in err, err
            assert wrong not in err and err.startswith("Error: "), err
    from voiceguide.errors import file_fields, option

    with vg.cli_messages(), file_fields():  # a pack file's field, as written there
        assert (option("engine", "piper"), option("minutes")) == ("engine: piper", "'minutes'")
