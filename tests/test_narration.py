"""Guidance a person can follow with eyes closed, checked on every shipped routine with the
real engine: full wording first, every breath cue said, a calm pace, room between
sentences, time and open eyes for standing and kneeling work, lengths that fit."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import voiceguide as vg
from tests.conftest import ROOT, Voice, decode, run_cli
from voiceguide.languages import get_language
from voiceguide.routine.load import iter_steps
from voiceguide.routine.steps import ExerciseRef, Section, posture_of
from voiceguide.script.speakable import number_words
from voiceguide.settings import MAX_RATE, MIN_RATE
from voiceguide.timeline import GENTLE_SPEED, Timeline

pytestmark = pytest.mark.shared_phrases

ROUTINES = sorted((ROOT / "routines").glob("*.yaml"))
EXERCISES = ROOT / "routines" / "exercises"
LEVELS = ("beginner", "advanced")


# every routine at each level it plays (the advanced routine has no beginner steps of its
# own: it is refused at the beginner level, see test_build)
CASES = [(p.stem, level) for p in ROUTINES for level in LEVELS
         if level == "advanced" or vg.load_routine(p).spec.level == "beginner"]


@pytest.fixture(scope="module")
def plans(espeak: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    cache = vg.PhraseCache(tmp_path_factory.mktemp("narration-cache"))
    return {(name, level): vg.plan_track(vg.load_routine(name), vg.TrackSettings(level=level),
                                         engine=espeak, cache=cache)
            for name, level in CASES}


def _wordings(data: Any) -> list[list[str]]:
    """Every list of wordings ('say: [a, b, c]' and breath words) in a routine's data."""
    found: list[list[str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("say", "in", "out", "hold", "hold_out", "each", "switch", "release") \
                    and isinstance(value, list) and all(isinstance(v, str) for v in value):
                found.append(value)
            else:
                found += _wordings(value)
    elif isinstance(data, list):
        for item in data:
            found += _wordings(item)
    return found


def _speech(tl: Timeline) -> list[str]:
    return [c.text for c in tl.speech_cues()]


@pytest.mark.parametrize(("name", "level"), CASES)
def test_the_first_occurrence_of_every_step_speaks_its_full_wording(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    plan = plans[(name, level)]
    tl = plan.timeline
    data = [yaml.safe_load((ROOT / "routines" / f"{name}.yaml").read_text())]
    used = {s.exercise for _, s in iter_steps(plan.routine.spec.steps, ("steps",))
            if isinstance(s, ExerciseRef)}
    data += [yaml.safe_load((EXERCISES / f"{ex}.yaml").read_text()) for ex in sorted(used)
             if (EXERCISES / f"{ex}.yaml").is_file()]  # else defined in the routine
    lists = [v for d in data for v in _wordings(d)]
    # the occurrences of one field of one file, on one side, in the order they are heard
    chapters = sorted(tl.chapters, key=lambda c: c.start)
    groups: dict[tuple[str, str], list[str]] = {}
    for cue in tl.speech_cues():
        chapter = next(c.title for c in reversed(chapters) if c.start <= cue.start)
        side = next((s for s in ("left", "right") if chapter.endswith(f", {s} side")), "")
        groups.setdefault((cue.where, side), []).append(cue.text)
    checked = 0
    for (_where, side), texts in groups.items():
        sides = [(side, "right" if side == "left" else "left")] if side else \
            [("left", "right"), ("right", "left")]
        for variants in lists:
            for s_, o_ in sides:
                forms = [v.replace("{{ side }}", s_).replace("{{ other_side }}", o_)
                         for v in variants]
                if any("{" in f for f in forms) or not all(
                        any(t == f or t.endswith(" " + f) for f in forms) for t in texts):
                    continue
                assert texts[0] == forms[0] or texts[0].endswith(" " + forms[0]), \
                    (variants, texts[:3])
                checked += 1
    assert checked > 0


@pytest.mark.parametrize(("name", "level"), CASES)
def test_no_breath_cue_is_missing(plans: dict[tuple[str, str], Any], name: str,
                                  level: str) -> None:
    tl = plans[(name, level)].timeline
    sr = tl.sample_rate
    starts = {c.start for c in tl.speech_cues()}
    breaths = [i for i in tl.intervals if i.kind == "breath"]
    assert all(i.start in starts for i in breaths)  # every breathe phase opens with its cue
    for hold in (i for i in tl.intervals if i.kind == "hold"):
        paced = sorted(c.start for c in tl.speech_cues()
                       if hold.start <= c.start < hold.end and c.where.endswith("hold.breath"))
        if not paced:
            continue
        steps = [round((b - a) / sr, 3) for a, b in itertools.pairwise(paced)]
        # the in/out pattern repeats without a gap: no phase is left without its cue
        assert all(s in (4.0, 6.0) for s in steps), steps
        assert all(a != b for a, b in itertools.pairwise(steps)), steps
        last_phase = 6.0 if not steps or steps[-1] == 4.0 else 4.0
        assert (hold.end - paced[-1]) / sr < last_phase + 6.0 / 2  # no phase missing at the end


@pytest.mark.parametrize(("name", "level"), CASES)
def test_a_calm_pace_with_room_between_sentences(plans: dict[tuple[str, str], Any], name: str,
                                                 level: str) -> None:
    plan = plans[(name, level)]
    tl = plan.timeline
    # German, Spanish, Italian and Portuguese words are longer: at the same espeak speed
    # the sample routines are heard at 123-133 words per minute (English ones at 135-150)
    low = 135 if plan.routine.spec.language == "en" else 120
    assert low <= tl.heard_rate() <= 150
    cues = tl.speech_cues()
    # 0.4 s between sentences; a countdown's numbers, a second apart, 0.2 s at least
    gaps = [(b.start - a.end) / tl.sample_rate for a, b in itertools.pairwise(cues)
            if not (a.count and b.count)]
    assert min(gaps) >= 0.4 - 1 / tl.sample_rate
    counts = [(b.start - a.end) / tl.sample_rate for a, b in itertools.pairwise(cues)
              if a.count and b.count]
    assert min(counts, default=1.0) >= 0.2 - 1 / tl.sample_rate
    assert all(c.speed == 1.0 for c in cues)  # nothing hurried, and no other warning than
    # that this level is the routine's other one played as written (asked for here)
    assert not [w for w in plan.warnings if "no steps or words of its own" not in w]


def _exercises(routine: vg.Routine, level: str) -> dict[str, str]:
    """The exercises a level plays, in order: title -> posture."""
    postures: dict[str, str] = {}

    def visit(steps: list[Any]) -> None:
        for step in steps:
            if step.level not in (None, level):
                continue
            if isinstance(step, ExerciseRef):
                ex, _ = routine.library.instantiate(step.exercise, step.params, level)
                assert ex is not None
                postures[ex.model.title] = posture_of(ex.model.position)
            elif isinstance(step, Section):
                visit(step.steps)

    visit(routine.spec.steps)
    return postures


@pytest.mark.parametrize(("name", "level"), CASES)
def test_standing_and_kneeling_work_gets_open_eyes_and_time_to_move(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    plan = plans[(name, level)]
    tl, routine = plan.timeline, plan.routine
    postures = _exercises(routine, level)
    chapters = {c.title: c for c in tl.chapters}
    previous = routine.spec.start
    for title in postures:
        posture = postures[title]
        chapter = chapters[title]
        if posture in ("standing", "kneeling"):
            eyes = [c.text for c in tl.speech_cues() if c.end <= chapter.end
                    and ("open your eyes" in c.text.lower() or "close your eyes" in c.text.lower())]
            assert eyes and "open your eyes" in eyes[-1].lower(), (title, eyes)
            if posture != previous:
                moves = [i for i in tl.intervals if i.kind == "transition"
                         and chapter.start <= i.start < chapter.end]
                assert moves and (moves[0].end - moves[0].start) / tl.sample_rate >= 4.0
        if posture != "any":
            previous = posture


@pytest.mark.parametrize(("name", "level"), CASES)
def test_the_side_a_chapter_names_is_the_side_its_words_put_the_listener_on(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    """A listening audit: the chapter "Side bend, left side" said "Settle onto your right
    side, so that your left hip points to the ceiling": a listener who looks at the
    player's chapter list lies on the wrong side. Words that put the listener on a side
    ('onto your left side', 'Lie on your right side') name the chapter's side."""
    tl = plans[(name, level)].timeline
    checked = 0
    for chapter in tl.chapters:
        named = re.search(r", (left|right) side$", chapter.title)
        if named is None:
            continue
        for cue in tl.speech_cues():
            if chapter.start <= cue.start < chapter.end:
                for said in re.findall(r"\b(?:onto|on) your (left|right) side\b", cue.text):
                    assert said == named.group(1), (chapter.title, cue.text)
                    checked += 1
    if name == "five-somatic-hip-exercises":
        assert checked >= 2  # the side bend, each side


@pytest.mark.parametrize(("name", "level"), CASES)
def test_an_exercise_is_named_before_the_listener_is_asked_to_move(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    """Where am I going first: an exercise that starts with a change of posture names
    itself (its first sentence) before the words and the time to move; only the cue to
    open the eyes comes before it, for kneeling and standing work ("Standing lunge. Stand
    tall..." was heard with the eyes still closed)."""
    plan = plans[(name, level)]
    tl = plan.timeline
    language = get_language(plan.routine.spec.language)
    moving = [language.phrases[k] for k in language.phrases
              if k.startswith(("move_", "eyes_"))]
    eyes_open = language.phrases["eyes_open"]
    checked = 0
    exercises = _exercises(plan.routine, level)
    for chapter in (c for c in tl.chapters if c.title in exercises):
        moves = [i for i in tl.intervals if i.kind == "transition" and i.label.startswith(
            "move to") and chapter.start <= i.start < chapter.end]
        if not moves:
            continue
        said = [c for c in tl.speech_cues() if chapter.start <= c.start < chapter.end]
        if any(c.text in eyes_open for c in said):  # then before anything else
            assert said[0].text in eyes_open, (chapter.title, said[0].text)
            said = said[1:]
        first = said[0]
        title_words = set(re.findall(r"\w+", chapter.title.lower()))
        assert first.end <= moves[0].start, (chapter.title, first.text)
        assert not any(m in first.text for m in moving), (chapter.title, first.text)
        assert re.findall(r"\w+", first.text.lower())[0] in title_words, \
            (chapter.title, first.text)
        checked += 1
    assert checked or name in NO_MOVES or (name, level) in NO_MOVES, name


@pytest.mark.parametrize(("name", "level"), CASES)
def test_a_listener_who_may_be_standing_is_down_before_the_first_breath_or_hold(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    """A routine that starts anywhere (``start: any``) moves the listener into position
    before it asks for its first breath, repetition or hold: the five routines in other
    languages breathed three times before "Lie on your back" (an audit)."""
    plan = plans[(name, level)]
    if plan.routine.spec.start != "any":
        return
    tl = plan.timeline
    first_move = next(i for i in tl.intervals if i.kind == "transition"
                      and i.label.startswith("move to"))
    first_work = next(i for i in tl.intervals if i.kind in ("breath", "phase", "hold"))
    assert first_move.start < first_work.start, (name, first_move, first_work)


NO_MOVES = {"somatic-awareness", "bedtime-hips", "morning-hips",
            ("five-somatic-hip-exercises", "beginner"), "hanches-douces", "hueften-sanft",
            "caderas-suaves", "anche-morbide", "quadris-suaves"}
"""Routines (or a routine at a level) whose exercises never change posture, so the test
above checks nothing: five-somatic's arrival brings the listener down to the mat before
its eyes close, and only its advanced level sits up; so do the five routines in other
languages (which breathed before the listener was down, until 0.3.5)."""


@pytest.mark.parametrize("path", ROUTINES, ids=[p.stem for p in ROUTINES])
def test_every_routine_builds_at_the_slowest_and_fastest_rate(
        path: Path, espeak: Any, tmp_path: Path) -> None:
    """At the lowest documented rate (80 then) every shipped routine failed: its breath
    phrases no longer fit their breaths, and a slow German "zwei" not its second of a
    countdown. Now the range is what the library can do, and a countdown's numbers keep
    a count's gap. A countdown sped up to fit is sped up as one: a listening audit heard
    hueften-sanft's "drei, zwei (x1.15), eins (x1.30)" hurry at --rate 100. Its last
    number kept a count's gap too, the release taken for its next beat: at --rate 100
    the release came 0.34 s after "eins"; now half a second at least."""
    cache = vg.PhraseCache(tmp_path)
    for rate, level in itertools.product((MIN_RATE, MAX_RATE), LEVELS):
        if (path.stem, level) not in CASES:  # a level it is refused at
            continue
        plan = vg.plan_track(vg.load_routine(path), vg.TrackSettings(rate=rate, level=level),
                             engine=espeak, cache=cache)
        cues = plan.timeline.speech_cues()
        sr = plan.timeline.sample_rate
        for a, b in itertools.pairwise(cues):  # 0.4 s between sentences, 0.2 s in a count
            least = (0.2 if b.count else 0.5) if a.count else 0.4
            assert b.start - a.end >= least * sr - 1, (a, b)
            if a.count and b.count and b.start - a.start <= 1.5 * sr:  # one countdown
                assert a.speed == b.speed, (path.stem, rate, level, a, b)
        # nothing hurried past what passes unwarned: a phrase with a shorter wording says
        # it instead (at --rate 100 "Breathe in, and lift your head and top foot." was
        # sped up 1.2x to fill 89% of its in-breath, heard by a listening audit)
        assert max(c.speed for c in cues) <= GENTLE_SPEED, (path.stem, rate, level)
        assert not [w for w in plan.warnings if "faster to fit" in w], plan.warnings
        # and every cue leaves room to breathe or move (a language audit at --rate 120:
        # "Inhala, arquea un poco la espalda." filled 87% of its in-breath, and four more
        # cues of the shipped routines 85-92% at --rate 100, each warned of)
        assert not [w for w in plan.warnings if "leaving no room" in w], plan.warnings


@pytest.mark.parametrize("path", ROUTINES, ids=[p.stem for p in ROUTINES])
def test_a_later_repetition_leaves_room_to_breathe_at_a_slow_rate(
        path: Path, espeak: Any, tmp_path: Path) -> None:
    """A Piper listening audit at --rate 100 (espeak too): the fourth bridge of
    morning-hips rotated back to its full wording, "Breathe out, and roll down, bone by
    bone.", 5.5 s of its 6 s out-breath with the next words 0.5 s after, where the routine
    has "Out, and roll down." (NARRATION: a cue fits its phase with room to breathe; 89%
    of an inhale is too long). The full wording is still said first, whatever it fills;
    a later repetition says it only with room, else a shorter wording."""
    plan = vg.plan_track(vg.load_routine(path), vg.TrackSettings(rate=MIN_RATE),
                         engine=espeak, cache=vg.PhraseCache(tmp_path))
    tl = plan.timeline
    said = {c.start: c for c in tl.speech_cues()}
    heard: set[str] = set()
    for phase in (i for i in tl.intervals if i.kind == "phase"):
        cue = said.get(phase.start)
        if cue is None:
            continue
        if cue.text in heard:  # said before: a later repetition's
            assert cue.end - cue.start <= 0.8 * (phase.end - phase.start), (path.stem, cue)
        heard.add(cue.text)


def test_counts_and_lengths_come_from_the_routine(plans: dict[tuple[str, str], Any]) -> None:
    beginner = _speech(plans[("five-somatic-hip-exercises", "beginner")].timeline)[0]
    advanced = _speech(plans[("five-somatic-hip-exercises", "advanced")].timeline)[0]
    assert "four slow movements" in beginner and "five slow movements" in advanced
    told = 0
    for (name, level), plan in plans.items():
        said = re.search(r"\b([a-z-]+) (?:easy )?minutes", " ".join(_speech(plan.timeline)))
        if said:  # "about fifteen minutes" is the length of the track as built
            assert said.group(1) == number_words(round(plan.duration / 60),
                                                 plan.routine.spec.language), (name, level)
            told += 1
    assert told >= 4


NUMBERS = """\
title: Numbers
length: {min: 2, max: 4}
steps:
  - say: We will lift five times.
  - repeat:
      count: 5
      min: 3
      max: 8
      phases: [{say: Lift., seconds: 3}, {say: Lower., seconds: 3}]
  - say: Now breathe for 4 breaths.
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
  - hold: {seconds: 30, min: 20, max: 40, say: Hold here for thirty seconds.}
  - say: Place your two hands on your knees, and breathe in for a count of four.
  - repeat:
      count: 2
      min: 1
      max: 4
      phases: [{say: Press., seconds: 3}]
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
  - say: "Lift again, {{ reps | words }} times."
  - repeat: {count: 3, min: 2, max: 5, phases: [{say: Up., seconds: 2}]}
  - say: We lifted {{ reps | words }} times. Five fingers rest.
"""


def test_a_number_said_as_written_that_the_fit_can_change_is_warned_with_the_fix(
        tmp_path: Path) -> None:
    """A new-user review: "We will lift five times." before a repeat of 5 (3 to 8) said
    five and played seven at another length, and validate said nothing. A count taken
    from the routine ({{ reps | words }}, now also outside an exercise) says what plays."""
    path = tmp_path / "n.yaml"
    path.write_text(NUMBERS)
    warned = vg.validate_file(path, engine="test")
    assert [w.split(": ", 2)[1:] for w in warned if "honest" in w] == [
        ["steps[0].say", "'five times' is said as written, but the fit may change the "
         "repetitions (3 to 8 when fitted): say '{{ reps | words }}' (NARRATION: honest "
         "numbers)"],
        ["steps[2].say", "'4 breaths' is said as written, but the fit may change the breaths "
         "(2 to 8 when fitted): say '{{ cycles | words }}' (NARRATION: honest numbers)"],
        ["steps[4].hold", "'thirty seconds' is said as written, but the fit may change the "
         "hold (20 to 40 seconds when fitted): say '{{ seconds | words }}' (NARRATION: "
         "honest numbers)"]]
    for minutes in (2, 4):
        plan = vg.plan_track(vg.load_routine(path), {"engine": "test", "minutes": minutes})
        said = _speech(plan.timeline)
        # the next repeat's count (after the last one, the last's), not the routine's first
        # (an attack and a review: the first said three where five played)
        ups = number_words(said.count("Up."))
        assert f"Lift again, {ups} times." in said and \
            f"We lifted {ups} times. Five fingers rest." in said, said


def test_a_count_said_another_way_is_warned_too(tmp_path: Path) -> None:
    """A listening audit: "We will breathe four times." before a fitted breathing, and
    "Five more lifts." before a fitted repeat, played five breaths and seven lifts with no
    warning. "Five more seconds" counts a hold's seconds, not the lifts."""
    path = tmp_path / "n.yaml"
    path.write_text("""\
title: More
length: {min: 2, max: 5}
steps:
  - say: We will breathe four times.
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
  - say: Five more lifts.
  - repeat: {count: 5, min: 3, max: 8, phases: [{say: Lift., seconds: 3}]}
  - say: Stay five more seconds, then lift.
  - repeat: {count: 5, min: 3, max: 8, phases: [{say: Up., seconds: 3}]}
  - say: Take four deep, slow breaths with me.
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
  - say: We will do five slow circles. Rest here for five more slow breaths.
  - repeat: {count: 5, min: 3, max: 8, phases: [{say: Circle the pelvis., seconds: 3}]}
  - say: Tap your fingers four times.
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
""")
    warned = [w.split(": ", 2)[1:] for w in vg.validate_file(path, engine="test")
              if "honest" in w]
    # and (a coach's review, and the attack after) adjectives with commas, a count of what
    # the repeat says ('circle'), and not a count of breaths or of taps
    assert [(where, why.split(" is said")[0]) for where, why in warned] == [
        ("steps[0].say", "'four times'"), ("steps[2].say", "'Five more lifts'"),
        ("steps[6].say", "'four deep, slow breaths'"), ("steps[8].say", "'five slow circles'")]
    assert "fit may change the breaths" in warned[0][1]
    assert "fit may change the repetitions" in warned[1][1]


def test_a_count_said_after_the_step_it_counts_is_warned_too(tmp_path: Path) -> None:
    """A coach's review: "That was four rocks." after a fitted repeat of 4 (3 to 8) was
    not checked; only words before a step were. The step just before the words counts;
    one further back does not ("Tap your fingers four times." after a breathing, with
    the rocking two steps back, is no count of the rocks)."""
    path = tmp_path / "after.yaml"
    path.write_text("""\
title: After
length: {min: 2, max: 5}
steps:
  - say: Rock your knees side to side.
  - repeat: {count: 4, min: 3, max: 8, phases: [{say: Rock to the left., seconds: 3},
                                                {say: And to the right., seconds: 3}]}
  - say: That was four rocks. Rest now.
  - breathe: {in: 4, out: 6, cycles: 4, min_cycles: 2, max_cycles: 8}
  - say: You took four slow breaths with me.
  - say: Tap your fingers four times.
  - pause: {seconds: 60, min: 30, max: 200}
""")
    warned = [w.split(": ", 2)[1:] for w in vg.validate_file(path, engine="test")
              if "honest" in w]
    assert [(where, why.split(" is said")[0]) for where, why in warned] == [
        ("steps[2].say", "'four rocks'"), ("steps[4].say", "'four slow breaths'")]
    assert "the fit may change the repetitions" in warned[0][1]
    assert "the fit may change the breaths" in warned[1][1]


def test_minutes_said_as_written_are_warned_where_the_length_is_fitted(tmp_path: Path
                                                                      ) -> None:
    """A coach's review: "about a minute" before a hold of 60 s (40 to 90 when fitted),
    and "ten minutes" in the welcome of a routine that --minutes fits to 8 to 12, played
    79 s and 12 minutes with no warning. NARRATION: never speak the minutes the build can
    change as a literal. A length outside the fitted range ("two minutes" when the track
    is 8 to 12) or one the routine computes is no warning; a German one inside it is. Nor
    are (an attack on the first version) 'a ten-minute walk', '8.5 minutes', 'nine or so
    minutes', 'eight to ten minutes', 'a few minutes'."""
    path = tmp_path / "m.yaml"
    path.write_text("""\
title: Minutes
length: {min: 8, max: 12}
steps:
  - say: Welcome. For the next ten minutes, we move slowly.
  - say: This is {{ minutes | words }} minutes long, two minutes of it breathing.
  - say: Stay here for about a minute.
  - hold: {seconds: 60, min: 40, max: 90, say: Hold.}
  - say: And two more minutes.
  - hold: {seconds: 60, min: 40, max: 90, say: Hold.}
  - say: Stay here for about a minute.
  - hold: {seconds: 60, say: Hold.}
  - say: Try this after a ten-minute walk. Rest for 8.5 minutes, or nine or so minutes.
  - say: Most people need eight to ten minutes, a minute or so, a few minutes, to sleep.
  - pause: {seconds: 400, min: 250, max: 600}
""")
    warned = [w.split(": ", 2)[1:] for w in vg.validate_file(path, engine="test")
              if "honest" in w]
    assert [(where, why.split(" is said")[0]) for where, why in warned] == [
        ("steps[0].say", "'ten minutes'"), ("steps[2].say", "'a minute'")]
    assert "--minutes fits the track to 8 to 12 minutes: say '{{ minutes | words }} " \
        "minutes'" in warned[0][1]
    assert "the fit may change the hold (40 to 90 seconds" in warned[1][1]
    german = tmp_path / "de.yaml"
    german.write_text("language: de\n" + path.read_text().replace(
        "For the next ten minutes", "In den nächsten zehn Minuten").replace(
        "about a minute.\n  - hold: {seconds: 60, min", "etwa eine Minute.\n  - hold: "
        "{seconds: 60, min"))
    warned = [w.split(": ", 2)[1:] for w in vg.validate_file(german, engine="espeak")
              if "honest" in w]
    assert [(where, why.split(" is said")[0]) for where, why in warned] == [
        ("steps[0].say", "'zehn Minuten'"), ("steps[2].say", "'eine Minute'")]
    assert "say '{{ minutes | words }} Minuten'" in warned[0][1]


@pytest.mark.slow
@pytest.mark.parametrize("path", ROUTINES, ids=[p.stem for p in ROUTINES])
def test_every_reachable_length_lands_within_two_seconds(path: Path, espeak: Any,
                                                        tmp_path: Path) -> None:
    routine = vg.load_routine(path)
    cache = vg.PhraseCache(tmp_path)
    lo, hi = vg.plan_track(routine, vg.TrackSettings(minutes=routine.spec.length.min + 1),
                           engine=espeak, cache=cache).fit.reachable
    worst = 0.0
    for target in range(int(lo) // 15 * 15 + 15, int(hi), 15):
        plan = vg.plan_track(routine, vg.TrackSettings(minutes=target / 60), engine=espeak,
                             cache=cache)
        worst = max(worst, abs(plan.duration - target))
        assert not [w for w in plan.warnings if "not possible" in w]
    assert worst <= 2.0
    print(f"{path.stem}: {lo:.0f}-{hi:.0f} s, worst miss {worst:.2f} s")


def test_a_pause_after_a_sentence_is_exactly_its_seconds(tmp_path: Path) -> None:
    doc = {"title": "Pause check", "bed": "none", "room_tone": False, "steps": [
        {"say": "Settle in, and let your breath slow down."}, {"pause": 3},
        {"say": "Now begin."}]}
    result = vg.build_track(vg.load_routine(doc), vg.TrackSettings(), tmp_path)
    voice = Voice.detect(decode(result.path))
    first, second = result.timeline.speech_cues()[:2]
    sr = result.timeline.sample_rate
    heard_end = voice.offset(first.start / sr, first.end / sr + 0.5)
    heard_next = voice.onset(first.end / sr, second.end / sr)
    assert heard_end is not None and heard_next is not None
    assert abs((heard_next - heard_end) - 3.0) <= 0.02
    pause = next(i for i in result.sheet["intervals"] if i["kind"] == "pause"
                 and i["seconds"] == 3)
    assert pause["start"] == round(first.end / sr, 4)  # the speech interval ends with the voice
    assert abs(pause["end"] - pause["start"] - 3.0) <= 1e-3


def _needs_speed_up(espeak: Any, tmp_path: Path) -> Path:
    """A routine with a breath cue that fits its phase only at 1.2x."""
    from voiceguide.speech.bank import SpeechBank

    text = "Breathe in slowly, and fill the whole belly with air."
    bank = SpeechBank(espeak, espeak.default_voice, vg.TrackSettings().rate, None)
    room = (bank.measure(text, 1.15) + bank.measure(text, 1.2)) / 2 / bank.sample_rate
    path = tmp_path / "hurried.yaml"
    path.write_text(yaml.safe_dump({"title": "Hurried", "steps": [
        {"say": "Welcome."},
        {"breathe": {"in": round(room + 0.4, 3), "out": 6, "cycles": 1,
                     "say": {"in": text, "out": "Out."}}}]}))
    return path


def test_validate_agrees_with_build(espeak: Any, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    example = tmp_path / "readme.yaml"
    example.write_text(re.search(r"```yaml\n(title: Short hip break.*?)```", readme, re.S)
                       .group(1))  # type: ignore[union-attr]
    assert vg.validate_file(example) == []
    built = vg.build_track(vg.load_routine(example), vg.TrackSettings(), tmp_path / "out")
    assert built.plan.warnings == [] and built.path.is_file()
    hurried = _needs_speed_up(espeak, tmp_path)
    warned = vg.validate_file(hurried)
    assert len(warned) == 1 and "1.20x faster" in warned[0]
    assert run_cli(["build", str(hurried), "--out", str(tmp_path / "o2")]) == 0
    err = capsys.readouterr().err
    assert f"Warning: {warned[0]}" in err


@pytest.mark.slow
def test_script_shows_the_fitted_plan_and_its_total_is_the_built_length(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["script", "five-somatic-hip-exercises", "--minutes", "13"]) == 0
    text = capsys.readouterr().out
    assert "[transition: move to lying 10 s]" in text and "[hold " in text
    assert "[breath in 4 s]" in text
    assert "[transition: switch sides 4 s]" in text
    total = re.search(r"^Total (\d+):(\d+\.\d)$", text, re.M)
    assert total
    seconds = int(total.group(1)) * 60 + float(total.group(2))
    assert seconds == 13 * 60  # to the tenth, as the fit lands to the sample
    assert run_cli(["build", "five-somatic-hip-exercises", "--minutes", "13", "--out",
                    str(tmp_path), "--format", "wav"]) == 0
    built = decode(tmp_path / "five-somatic-hip-exercises-13min.wav").size
    assert built == 13 * 60 * 22050


def test_a_name_the_voice_cannot_say_is_left_out_with_a_warning() -> None:
    """A name in letters the voice cannot read (سارا, 李雷) was dropped from the
    narration without a word, while the title kept it (found by an app-team review)."""
    import voiceguide as vg

    routine = vg.load_routine("morning-hips")
    plan = vg.plan_track(routine, vg.TrackSettings(name="李雷", engine="test"), cache=False)
    assert plan.warnings == ["the name '李雷' has no letters the voice can say; the narration "
                             "leaves it out (the title keeps it)"]
    assert not any("李" in s.text for s in plan.timeline.cues if s.kind == "speech")
    named = vg.plan_track(routine, vg.TrackSettings(name="Zoë", engine="test"), cache=False)
    assert named.warnings == []
    # an app team's review: a name of punctuation was said ("Good morning,? ..."), and
    # the part of "Ana 李" the voice cannot read left out without a word
    for name in ("?", "..", "*"):
        plan = vg.plan_track(routine, vg.TrackSettings(name=name, engine="test"), cache=False)
        first = next(c.text for c in plan.timeline.cues if c.kind == "speech")
        assert first.startswith("Good morning. ") and plan.warnings == [
            f"the name '{name}' has no letters the voice can say; the narration leaves it "
            "out (the title keeps it)"], (first, plan.warnings)
    plan = vg.plan_track(routine, vg.TrackSettings(name="Ana 李", engine="test"), cache=False)
    assert plan.warnings == ["the name 'Ana 李': the voice cannot say '李', which the "
                             "narration leaves out: it says 'Ana' (the title keeps the "
                             "whole name)"]
    # and what held it is not said either: "Ana (李)" was "Good morning, Ana ( )."
    plan = vg.plan_track(routine, vg.TrackSettings(name="Ana (李)", engine="test"),
                         cache=False)
    assert next(c.text for c in plan.timeline.cues if c.kind == "speech").startswith(
        "Good morning, Ana. ")
    for name in ("Zoë 🧘\u200d♀️", "O'Brien", "Łukasz"):  # an emoji is no letter
        plan = vg.plan_track(routine, vg.TrackSettings(name=name, engine="test"), cache=False)
        assert plan.warnings == [], (name, plan.warnings)


@pytest.mark.parametrize(("name", "level"), CASES)
def test_each_routine_as_written_lasts_inside_its_designed_range(
        plans: dict[tuple[str, str], Any], name: str, level: str) -> None:
    """validate told a coach (a new user's review) that two bundled routines, as
    written, lasted outside the `length:` they declare (7:12 against 8-12, 18:33 against
    14-18), so their tracks were fitted away from what the routine says."""
    assert not plans[(name, level)].notes
