"""Real engines, real MP3: timing measured in the decoded audio (issues 2, 4 and 15: the
same checks hold for espeak and for the Piper neural engine)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.conftest import ASSETS, Voice, build, decode, sheet_of
from voiceguide.script.timed import HOLD_SETTLE

TOL = 0.020


@pytest.fixture(scope="module", params=["espeak", pytest.param("piper", marks=pytest.mark.slow)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, dict, Voice, float]:
    out = tmp_path_factory.mktemp(f"timing-{request.param}")
    import os

    os.environ["VOICEGUIDE_CACHE_DIR"] = str(out / "cache")
    result = build(ASSETS / "timing.yaml", out, engine=request.param)
    assert sheet_of(result.path)["voice"] == {"espeak": "gmw/en-us",
                                              "piper": "en_US-joe-medium"}[request.param]
    y = decode(result.path)
    return result.path, sheet_of(result.path), Voice.detect(y), y.size / 22050


def test_total_duration_matches_plan(built: tuple[Path, dict, Voice, float]) -> None:
    _, sheet, _, decoded = built
    assert abs(decoded - sheet["duration"]) <= 0.050


def test_five_second_pause_is_silence(built: tuple[Path, dict, Voice, float]) -> None:
    _, sheet, voice, _ = built
    pause = next(i for i in sheet["intervals"] if i["kind"] == "pause" and i["seconds"] == 5)
    before = voice.offset(pause["start"] - 3, pause["start"] + 0.5)
    after = voice.onset(pause["end"] - 0.5, pause["end"] + 3)
    assert before is not None and after is not None
    assert abs((after - before) - 5.0) <= 0.050
    assert not voice.any(pause["start"] + 0.03, pause["end"] - 0.03)


def test_every_cue_starts_where_the_sheet_says(built: tuple[Path, dict, Voice, float]) -> None:
    _, sheet, voice, _ = built
    cues = [c for c in sheet["cues"] if c["kind"] == "speech"]
    for prev, cue in zip([None, *cues], cues, strict=False):
        lo = max(cue["start"] - 0.1, prev["end"] if prev else 0.0)
        onset = voice.onset(lo, cue["end"])
        assert onset is not None, cue
        assert abs(onset - cue["start"]) <= TOL, (cue, onset)


def test_holds_last_their_declared_length(built: tuple[Path, dict, Voice, float]) -> None:
    _, sheet, voice, _ = built
    holds = [i for i in sheet["intervals"] if i["kind"] == "hold"]
    assert [h["seconds"] for h in holds] == [30, 10, 10]
    for h in holds:
        # the words, HOLD_SETTLE s to get into the position, then the hold's seconds
        words_end = h["start"] - HOLD_SETTLE
        end_of_start_words = voice.offset(words_end - 3, words_end + 0.1)
        release_onset = voice.onset(h["end"] - 0.1, h["end"] + 2)
        assert end_of_start_words is not None and release_onset is not None
        assert abs((release_onset - end_of_start_words) - HOLD_SETTLE - h["seconds"]) <= TOL


def test_breath_and_rep_cues_land_on_their_boundaries(
    built: tuple[Path, dict, Voice, float],
) -> None:
    _, sheet, voice, _ = built
    phases = [i for i in sheet["intervals"] if i["kind"] in ("breath", "phase")]
    assert [p["seconds"] for p in phases if p["kind"] == "breath"] == [4, 7, 8] * 3
    assert len([p for p in phases if p["kind"] == "phase"]) == 6
    for p in phases:
        onset = voice.onset(p["start"] - 0.1, p["start"] + 1.0)
        assert onset is not None and abs(onset - p["start"]) <= TOL, p
    starts = [p["start"] for p in phases if p["kind"] == "breath"]
    periods = [b - a for a, b in zip(starts[::3], starts[3::3], strict=False)]
    assert all(abs(x - 19.0) <= 1e-3 for x in periods)


def test_sides_are_equal_and_speech_never_overlaps(
    built: tuple[Path, dict, Voice, float],
) -> None:
    _, sheet, voice, _ = built
    cues = [c for c in sheet["cues"] if c["kind"] == "speech"]
    switch = next(i for i, c in enumerate(cues) if c["text"].startswith("Switch to"))
    left, right = cues[switch - 3 : switch], cues[switch + 1 : switch + 4]
    assert next(c["text"] for c in left).endswith("left leg, slowly and gently.")
    assert next(c["text"] for c in right).endswith("right leg, slowly and gently.")

    def heard(side: list[dict]) -> float:
        a = voice.onset(side[0]["start"] - 0.05, side[0]["end"])
        b = voice.offset(side[-1]["start"], side[-1]["end"] + 0.1)
        assert a is not None and b is not None
        return b - a

    assert abs(heard(left) - heard(right)) <= TOL
    chapters = [c["title"] for c in sheet["chapters"]]
    assert "Leg stretch, left side" in chapters and "Leg stretch, right side" in chapters
    cues = sorted(sheet["cues"], key=lambda c: c["start"])
    for a, b in itertools.pairwise(cues):
        assert a["end"] <= b["start"]


def test_second_build_reuses_every_phrase(tmp_path: Path) -> None:
    first = build(ASSETS / "timing.yaml", tmp_path)
    second = build(ASSETS / "timing.yaml", tmp_path)
    assert first.stats.synthesized > 0 and first.stats.cache_hits == 0
    assert second.stats.synthesized == 0
    assert second.stats.cache_hits == first.stats.synthesized
    assert second.duration == first.duration
    assert first.path.read_bytes() == second.path.read_bytes()
