"""Target lengths for every shipped routine, and scheduler properties (issue 4)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from voiceguide import PhraseCache, TrackSettings, load_routine, plan_track
from voiceguide.errors import ScheduleError
from voiceguide.script.expand import expand
from voiceguide.timeline import schedule

ROUTINES = sorted((ROOT / "routines").glob("*.yaml"))


def assert_sides_equal(tl: object) -> None:
    """Both sides last the same, interval for interval."""
    spans = tl.sides  # type: ignore[attr-defined]
    for a0, a1, b0, b1 in spans:
        assert a1 - a0 == b1 - b0

        def lengths(lo: int, hi: int) -> list[int]:
            return [i.end - i.start for i in tl.intervals  # type: ignore[attr-defined]
                    if lo <= i.start < hi]

        assert lengths(a0, a1) == lengths(b0, b1)


@pytest.mark.parametrize("path", ROUTINES, ids=[p.stem for p in ROUTINES])
def test_minutes_hits_three_targets_and_refuses_outside(path: Path, espeak: object,
                                                         tmp_path: Path) -> None:
    length = yaml.safe_load(path.read_text())["length"]
    lo, hi = length["min"], length["max"]
    cache = PhraseCache(tmp_path)
    for minutes in (lo, (lo + hi) / 2, hi):
        plan = plan_track(load_routine(path), TrackSettings(minutes=minutes), engine=espeak,  # type: ignore[arg-type]
                          cache=cache)
        assert abs(plan.timeline.duration - minutes * 60) <= 2.0, (minutes, plan.timeline.duration)
        assert_sides_equal(plan.timeline)
    with pytest.raises(ScheduleError, match=r"out of reach.*can last from"):
        plan_track(load_routine(path), TrackSettings(minutes=min(hi * 3, 180)), engine=espeak,  # type: ignore[arg-type]
                   cache=cache)


def measure(text: str, speed: float) -> int:
    return int(len(text) * 1500 / speed) + 2000


phrase = st.sampled_from(["In.", "Lift up slowly.", "Breathe out, all the way.", "Hold.", "Go."])
step = st.recursive(
    st.one_of(
        st.builds(lambda t: {"say": t}, phrase),
        st.builds(lambda s: {"pause": s}, st.floats(0.5, 20).map(lambda x: round(x, 3))),
        st.builds(lambda s, c: {"hold": {"seconds": s, "say": "Hold.", "cues": c}},
                  st.integers(8, 60),
                  st.lists(st.just({"halfway": True, "say": "Halfway."}), max_size=1)),
        st.builds(lambda i, o, n: {"breathe": {"in": i, "out": o, "cycles": n}},
                  st.integers(3, 8), st.integers(3, 8), st.integers(1, 4)),
        st.builds(lambda n, a, b: {"repeat": {"count": n, "phases": [
            {"say": "Lift.", "seconds": a}, {"say": "Lower.", "seconds": b}]}},
            st.integers(1, 5), st.integers(2, 6), st.integers(2, 6)),
        st.just({"chime": "bell"}),
    ),
    lambda inner: st.one_of(
        st.builds(lambda s: {"section": "Part", "steps": s}, st.lists(inner, min_size=1,
                                                                      max_size=3)),
    ),
    max_leaves=8,
)
sides_step = st.builds(
    lambda s: {"sides": {"steps": [{"say": "The {{ side }} side, slowly now."}, *s]}},
    st.lists(step.filter(lambda s: "section" not in s), min_size=1, max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(step, sides_step), min_size=1, max_size=6))
def test_scheduler_properties(tmp_path_factory: pytest.TempPathFactory, steps: list) -> None:
    path = tmp_path_factory.mktemp("r") / "r.yaml"
    path.write_text(yaml.safe_dump({"title": "Random", "steps": steps}))
    tl = schedule(expand(load_routine(path), TrackSettings()), measure, 22050)
    speech = sorted((c for c in tl.cues), key=lambda c: c.start)
    for a, b in itertools.pairwise(speech):
        assert a.end <= b.start
    ivs = tl.intervals
    assert ivs[0].start == 0 and ivs[-1].end == tl.total
    for a, b in itertools.pairwise(ivs):
        assert a.end == b.start
    assert sum(i.end - i.start for i in ivs) == tl.total
    assert_sides_equal(tl)
    assert len(tl.sides) == sum(1 for s in steps if "sides" in s)
