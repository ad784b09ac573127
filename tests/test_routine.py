"""Routines from files, dicts and text; exercises with parameters (stage: routine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from voiceguide import InvalidInputError, Routine, load_routine
from voiceguide.routine.catalogue import library_dirs


def test_a_routine_from_a_dict_needs_no_file() -> None:
    routine = load_routine({"title": "Short break", "steps": [{"say": "Hello."}]})
    assert routine.id == "short-break" and routine.path is None
    assert routine.spec.steps[0].say == "Hello."  # type: ignore[union-attr]


def test_errors_in_a_dict_say_which_field() -> None:
    with pytest.raises(InvalidInputError) as exc:
        Routine.from_dict({"title": "x", "steps": [{"hold": -3}]})
    assert "steps[0].hold.seconds: must be more than 0 seconds (got -3)" in exc.value.problems[0]


def test_errors_in_yaml_text_give_line_and_column() -> None:
    text = "title: T\nsteps:\n  - say: Hi.\n  - paws: 3\n"
    with pytest.raises(InvalidInputError) as exc:
        Routine.from_yaml(text, name="mine.yaml")
    assert exc.value.problems[0].startswith("mine.yaml:4:5: steps[1]: a step needs one of")
    assert "('paws': did you mean 'pause'?)" in exc.value.problems[0]


def test_exercise_parameters_follow_the_level() -> None:
    routine = load_routine("five-somatic-hip-exercises")
    loaded, problems = routine.library.instantiate("side-bend", {}, "advanced")
    assert not problems and loaded is not None and loaded.params["reps"] == 6
    loaded, _ = routine.library.instantiate("side-bend", {"reps": 3}, "advanced")
    assert loaded is not None and loaded.params["reps"] == 3


def test_an_unknown_exercise_suggests_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("title: T\nsteps:\n  - exercise: side-bnd\n")
    with pytest.raises(InvalidInputError) as exc:
        Routine.from_file(path, library_dirs())
    assert exc.value.problems[0] == (
        f"{path}:3:15: steps[0].exercise: unknown exercise 'side-bnd' (did you mean "
        "'side-bend'?)")


def test_an_unknown_exercise_is_said_with_the_other_problems_of_the_file(
        tmp_path: Path) -> None:
    """A coach's review: a misspelt key and a misspelt exercise took two runs of
    validate (the exercise was looked up only once the file's structure was right)."""
    path = tmp_path / "r.yaml"
    path.write_text("title: T\nsteps:\n  - breathe: {in: 4, out: 6, min_cylces: 1}\n"
                    "  - section: Hips\n    steps:\n      - sides:\n          steps:\n"
                    "            - exercise: side-bnd\n  - exercise: bridge\n")
    with pytest.raises(InvalidInputError) as exc:
        Routine.from_file(path, library_dirs())
    assert len(exc.value.problems) == 2, exc.value.problems
    assert "steps[0].breathe.min_cylces: unknown key" in exc.value.problems[0]
    assert exc.value.problems[1] == (
        f"{path}:8:25: steps[1].steps[0].sides.steps[0].exercise: unknown exercise "
        "'side-bnd' (did you mean 'side-bend'?)")


def test_a_routines_exercise_params_are_checked_where_the_routine_sets_them() -> None:
    """`params: {hold: 300}` was reported at the exercise file's line the coach never
    edited, and a misspelt `params: {hlod: 30}` was taken without a word (found by a
    new-user review)."""
    import voiceguide as vg

    def problems(params: str) -> list[str]:
        with pytest.raises(vg.InvalidInputError) as caught:
            vg.Routine.from_yaml("title: P\nsteps:\n  - say: Hello.\n"
                                 f"  - exercise: figure-four\n    params: {params}\n",
                                 [ROOT / "routines" / "exercises"], name="mine.yaml")
        return caught.value.problems

    # said at the parameter, in the routine's words, not at the library file's line
    # (a coach's review: '...figure-four.yaml:12:13: steps[1].sides.steps[1].hold: ...')
    assert problems("{hold: 300}") == [
        "mine.yaml:5:20: steps[1].params.hold: figure-four's hold can be 20 to 45 (got 300)"]
    assert problems("{hlod: 30}") == [
        "mine.yaml:5:14: steps[1].params.hlod: 'hlod' is not a parameter of figure-four "
        "(did you mean 'hold'?); it has hold"]
    vg.Routine.from_yaml("title: P\nsteps:\n  - exercise: figure-four\n"
                         "    params: {hold: 30}\n", [ROOT / "routines" / "exercises"])


@pytest.mark.parametrize(("text", "fix"), [
    ("steps:\n\t- say: Hi.\n", "indent with spaces, not tabs"),
    ("steps:\n  - say: Rest here: breathe.\n", "put text with ': ' in it in quotes"),
    ("steps:\n  - say: {{ phrase('halfway') }} now.\n", "must be in quotes"),
    ("steps:\n  - say: {{ name }}\n", "must be in quotes"),
    ("steps:\n  - say: Hi.\n   - say: Ho.\n", "the items of one list start in the same column"),
    ('steps:\n  - say: "Hi.\n  - say: Ho.\n', "close the quote"),
    ("steps:\n  - say: \"{{ phrase('halfway') }}\" now.\n", "put all of it inside the quotes"),
    ("steps:\n  - say: {% if name %}Hi{% endif %}\n", "(a template) must be in quotes"),
    ("steps:\n  - say: [beat] now\n", "text that starts with '{' or '[' must be in quotes"),
], ids=["tab", "colon", "template", "template-alone", "indent", "quote", "after-quote",
        "template-statement", "brackets"])
def test_the_commonest_yaml_slips_say_their_fix(text: str, fix: str) -> None:
    """A tab, a colon in text, a template not in quotes: the parser's words ("mapping
    values are not allowed here") named no fix (found by a new-user review)."""
    with pytest.raises(InvalidInputError) as caught:
        Routine.from_yaml("title: T\n" + text, name="mine.yaml")
    message = str(caught.value)
    assert message.startswith("mine.yaml:") and fix in message, message
    assert "\n" not in message


def test_an_item_indented_too_deep_is_told_the_indentation_not_to_quote_a_template(
        tmp_path: Path) -> None:
    """A `- pause: {seconds: 6, ...}` one level too deep in the starter was told to put
    a template in quotes: the hint fired on any '{' in the line (a new-user review)."""
    from voiceguide import new_routine

    path = new_routine(tmp_path / "x.yaml")
    lines = path.read_text().splitlines()
    pause = "      - pause: {seconds: 6, min: 4, max: 30}"
    (at,) = [i for i, line in enumerate(lines) if line == pause]
    lines[at] = "  " + lines[at]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInputError) as caught:
        load_routine(path)
    assert str(caught.value) == (
        f"{path}:{at + 1}:9: YAML syntax error: expected <block end>, but found '-' (while "
        "parsing a block mapping); check the indentation: the items of one list start in "
        "the same column")


def test_a_position_in_other_words_suggests_ours() -> None:
    """`start: sitting` suggested 'standing' (closer in spelling than 'seated')."""
    with pytest.raises(InvalidInputError, match=r"did you mean 'seated'\?"):
        Routine.from_yaml("title: T\nstart: sitting\nsteps:\n  - say: Hi.\n")


def test_a_routine_given_as_data_is_skipped_when_up_to_date(tmp_path: Path) -> None:
    """An app's audit: track_request refused a routine given as a dict, so the README's
    own example (a dict) could not skip an unchanged track. Its data is hashed: the
    same data in another key order is the same request, a changed word another."""
    import voiceguide as vg

    data = {"title": "Evening", "steps": [{"say": "Rest, {{ name }}."}, {"pause": 2}]}
    req = vg.track_request(data, {"engine": "test", "name": "Ana"}, out_dir=tmp_path)
    assert req.routine_path is None and req.path == tmp_path / "evening-Ana.mp3"
    assert vg.up_to_date(req) is None
    vg.build_track(data, vg.TrackSettings(**req.settings), tmp_path, stem=req.stem,
                   input_hash=req.input_hash)
    assert vg.up_to_date(req) is not None
    same = {"steps": data["steps"], "title": "Evening"}
    assert vg.up_to_date(vg.track_request(same, {"name": "Ana", "engine": "test"},
                                          out_dir=tmp_path)) is not None
    changed = {**data, "steps": [{"say": "Rest now, {{ name }}."}, {"pause": 2}]}
    assert vg.up_to_date(vg.track_request(changed, {"engine": "test", "name": "Ana"},
                                          out_dir=tmp_path)) is None
    with pytest.raises(InvalidInputError, match=r"steps\[0\]\.hold"):
        vg.track_request({"title": "T", "steps": [{"hold": "long"}]})
    # a whole number written as a float is the same routine (a JSON body's 2.0)
    floats = {**data, "steps": [data["steps"][0], {"pause": 2.0}]}
    assert vg.track_request(floats, {"engine": "test", "name": "Ana"},
                            out_dir=tmp_path).input_hash == req.input_hash
    # the exercises of a routine loaded with its own library are those files (a review:
    # an edit of one left the track "up to date")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "my-ex.yaml").write_text("title: Mine\nsteps:\n  - say: Reach up.\n")
    mine = Routine.from_dict({"title": "Mine", "steps": [{"exercise": "my-ex"}]}, [lib])
    before = vg.track_request(mine, {"engine": "test"}, out_dir=tmp_path).input_hash
    (lib / "my-ex.yaml").write_text("title: Mine\nsteps:\n  - say: Reach up high.\n")
    assert vg.track_request(mine, {"engine": "test"}, out_dir=tmp_path).input_hash != before


def test_an_exercise_named_as_a_routine_says_how_to_use_it() -> None:
    """A coach's review: `voiceguide show figure-four` said only "no routine named"."""
    with pytest.raises(InvalidInputError, match=r"^'figure-four' is an exercise, not a routine "
                                                r"\(.*figure-four\.yaml\): use it in a routine "
                                                r"as '- exercise: figure-four'"):
        load_routine("figure-four")


def test_yaml_text_given_as_a_routine_name_points_to_from_yaml() -> None:
    """`load_routine(text)` answered "no routine named '<the whole text>'"."""
    with pytest.raises(InvalidInputError, match=r"^'title: T\.\.\.' is not a routine name or "
                                                r"file; .* use Routine\.from_yaml\(text\)$"):
        load_routine("title: T\nsteps:\n  - say: Hi.\n")


def test_the_api_takes_a_routine_already_loaded(tmp_path: Path) -> None:
    """outline(routine) said "'Routine(id=...' is not a routine name or file", and
    load_routine(routine) raised OSError (file name too long)."""
    import voiceguide as vg

    routine = load_routine("morning-hips")
    assert load_routine(routine) is routine
    assert vg.outline(routine, engine="test") == vg.outline("morning-hips", engine="test")
    # settings second, as script_text and plan_track take them (an app team's review:
    # "'minutes': Input should be a valid number" for a dict of settings)
    assert vg.outline("morning-hips", {"engine": "test", "minutes": 6}) == \
        vg.outline("morning-hips", 6, engine="test") != vg.outline(routine, engine="test")
    with pytest.raises(vg.UsageError, match=r"^minutes given beside settings"):
        vg.outline(routine, {"minutes": 6}, settings={"engine": "test"})
    with pytest.raises(vg.UsageError, match=r"^level given beside settings: give it in "):
        vg.outline(routine, {"minutes": 6}, "advanced")  # (it said 'minutes ... ignored')
    asked = vg.track_request(routine, {"engine": "test"}, out_dir=tmp_path)
    assert asked == vg.track_request("morning-hips", {"engine": "test"}, out_dir=tmp_path)
    data = {"title": "T", "steps": [{"say": "Hi."}]}
    assert vg.track_request(load_routine(data)) == vg.track_request(data)  # as its data
    with pytest.raises(InvalidInputError, match="longer than a file or folder name may be"):
        load_routine("x" * 300)  # too long for a file name: not an OSError
    with pytest.raises(InvalidInputError, match="not int"):
        load_routine(7)  # type: ignore[arg-type]


def test_an_apps_request_does_not_take_the_default_profile_of_its_machine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """track_request applied the profile of whoever ran the server (name, rate, bed)
    to every user's request, where plan_track and build_track did not; the command
    line's build still reads it."""
    import voiceguide as vg

    profile = tmp_path / "profile.yaml"
    profile.write_text("name: Mallory\nrate: 200\n")
    monkeypatch.setenv("VOICEGUIDE_PROFILE", str(profile))
    asked = vg.track_request("morning-hips", {"minutes": 5}, out_dir=tmp_path)
    assert "name" not in asked.settings and "rate" not in asked.settings
    assert asked.path.name == "morning-hips-5min.mp3"
    assert vg.track_request("morning-hips", {"minutes": 5}, out_dir=tmp_path,
                            default_profile=True).settings["name"] == "Mallory"
    assert vg.track_request("morning-hips", {}, str(profile), tmp_path).settings["rate"] == 200


def test_a_number_of_thousands_of_digits_from_an_app_is_an_input_error() -> None:
    """A dict routine with 10**5000 raised a bare ValueError (Python will not write such
    an int as text), which a backend turns into an HTTP 500."""
    import voiceguide as vg

    with pytest.raises(InvalidInputError, match="holds a number too large"):
        load_routine({"title": "T", "steps": [{"pause": 10**5000}]})
    with pytest.raises(vg.UsageError, match=r"'rate' must be between 100 and 300 \(got a "
                                            r"number too large\)"):
        vg.track_request("morning-hips", {"rate": 10**5000})


def test_a_routine_given_as_data_holds_plain_data() -> None:
    """A generator of 2,000,000 steps loaded in 14 s and 1 GB (the bound on values counts
    lists), itertools.repeat ended in a bare MemoryError, bytes were not counted as text:
    a routine given as data holds what YAML would give, else an input error at once."""
    import itertools
    import types

    step = {"say": "Hello."}
    for bad, said in (((step for _ in range(2_000_000)), "holds a generator"),
                      (itertools.repeat(step), "holds a repeat"),
                      (b"word " * 10, "holds a bytes")):
        with pytest.raises(InvalidInputError, match=said):
            load_routine({"title": "T", "description": "", "steps": bad} if said != "holds a bytes"
                         else {"title": "T", "description": bad, "steps": [step]})
    with pytest.raises(InvalidInputError, match="a key that is not text"):
        load_routine({"title": "T", 1: 2, "steps": [step]})
    # a read-only mapping at the top is fine: it is read as a dict
    assert load_routine(types.MappingProxyType({"title": "T", "steps": [step]})).spec.title == "T"


def test_a_say_is_checked_as_the_text_or_the_list_it_is() -> None:
    """`say` takes text or a list of texts: a line too long got two problems, one at
    'say.constrained-str' and one saying it 'must be a list'; a list with a number in it
    was said to be no text as a whole, not at the item."""
    with pytest.raises(InvalidInputError) as exc:
        load_routine({"title": "T", "steps": [{"say": "word " * 500}]})
    assert [p.split(": ", 1)[1] for p in exc.value.problems] == [
        "steps[0].say: is too long (at most 2000 characters)"]
    with pytest.raises(InvalidInputError) as exc:
        load_routine({"title": "T", "steps": [{"say": ["Fine.", 3]}]})
    assert [p.split(": ", 1)[1] for p in exc.value.problems] == [
        "steps[0].say[1]: must be text (got 3)"]


def test_a_word_in_capitals_is_still_the_word() -> None:
    """`first: Right` was refused with "did you mean 'right'?": a word's case is not a
    mistake worth stopping a build for (a word that is not one still is)."""
    routine = load_routine({"title": "T", "level": "Beginner", "steps": [
        {"chime": "Bowl"}, {"sides": {"first": "Right", "steps": [{"say": "{{ side }}"}]}}]})
    assert routine.spec.level == "beginner"
    assert routine.spec.steps[1].sides.first == "right"  # type: ignore[union-attr]
    # in lists too, and the built-in beds' names (an attack found both still refused)
    from voiceguide.pack.model import Pack

    pack = Pack.model_validate({"title": "P", "matrix": {
        "routines": ["r"], "levels": ["Beginner", "ADVANCED"], "beds": ["Rain"]}})
    assert pack.matrix is not None and pack.matrix.levels == ["beginner", "advanced"]
    from voiceguide import TrackSettings

    assert TrackSettings.from_options({"bed": "Rain"}).bed == "rain"
    import voiceguide as vg  # the same request: one hash, one file (a review)

    asked = [vg.track_request("morning-hips", {"bed": bed, "level": level})
             for bed, level in (("Rain", "Beginner"), ("rain", "beginner"))]
    assert asked[0] == asked[1]
    with pytest.raises(InvalidInputError, match=r"steps\[0\]\.sides\.first: must be one of "):
        load_routine({"title": "T", "steps": [
            {"sides": {"first": "Derecha", "steps": [{"say": "{{ side }}"}]}}]})


def test_text_that_goes_into_tags_and_lexicon_words_are_checked_where_written() -> None:
    """An attack: a lone surrogate in a routine's description or author crashed the MP3
    writer ('internal error'); they are bounded as the title is (escapes are taken and
    cleaned where printed, as in the title). Two lexicon words differing only in case
    gave two routines one input hash and different speech (the last written won)."""
    for field, value in (("description", "x\udfff"), ("author", "a\udc80"),
                         ("description", "x" * 4001), ("author", "a" * 121)):
        with pytest.raises(InvalidInputError, match=rf"{field}: (holds a character that "
                           r"is not text|is too long)"):
            load_routine({"title": "T", field: value, "steps": [{"say": "Hi."}]})
    lines = load_routine({"title": "T", "description": "One.\nTwo.\tThree.",
                          "steps": [{"say": "Hi."}]})
    assert lines.spec.description == "One.\nTwo.\tThree."
    with pytest.raises(InvalidInputError, match="'Hip' and 'hip' are one word"):
        load_routine({"title": "T", "lexicon": {"Hip": "hyp", "hip": "heep"},
                      "steps": [{"say": "Hip hip."}]})


@pytest.mark.parametrize(("step", "said"), [
    ("pause: 1e9", "4:12: steps[1].pause: must be a mapping of keys (got '1e9'); write it "
                   "as pause: {seconds: 5} (YAML reads 1e9 as text, not a number)"),
    ("breathe: 5", "4:14: steps[1].breathe: must be a mapping of keys (got 5); write it as "
                   "breathe: {in: 4, out: 6, cycles: 3}"),
    # a number in quotes is text for its quotes (an attack: "YAML reads 5 as text")
    ("hold: '30'", "4:11: steps[1].hold: must be a mapping of keys (got '30'); write it as "
                   "hold: {seconds: 30} (or remove the quotes: a number in quotes is text)"),
    ("breathe: '5'", "4:14: steps[1].breathe: must be a mapping of keys (got '5'); write it "
                     "as breathe: {in: 4, out: 6, cycles: 3}"),
])
def test_a_number_where_a_mapping_belongs_is_shown_the_form(step: str, said: str) -> None:
    """`pause: 1e9` said only "must be a mapping of keys (got '1e9')" (a new-user
    review): YAML 1.1 reads 1e9 as text, and the form was not shown."""
    with pytest.raises(InvalidInputError) as caught:
        Routine.from_yaml(f"title: T\nsteps:\n  - say: Hi.\n  - {step}\n", name="mine.yaml")
    assert caught.value.problems == [f"mine.yaml:{said}"]


def test_a_misspelt_key_inside_a_step_is_offered_only_that_steps_keys() -> None:
    """`hold: {secnds: 5}` asked "did you mean 'seconds', 'section'?": 'section' is no
    key of a hold (a new-user review)."""
    with pytest.raises(InvalidInputError) as caught:
        Routine.from_yaml("title: T\nsteps:\n  - say: Hi.\n  - hold: {secnds: 5}\n",
                          name="mine.yaml")
    assert caught.value.problems == [
        "mine.yaml:4:12: steps[1].hold.secnds: unknown key 'secnds' (did you mean "
        "'seconds'?)"]


def test_a_value_outside_its_range_says_the_two_ways_to_mend_it() -> None:
    """A new-user review: "hold: 'seconds' (90) is outside min..max (20..60)" named the
    place, not the fix; it says which bound to move, and where the value may be."""
    with pytest.raises(InvalidInputError) as exc:
        Routine.from_yaml("title: T\nsteps:\n"
                          "  - hold: {seconds: 90, min: 20, max: 60}\n"
                          "  - hold: {seconds: 10, min: 20, max: 60}\n"
                          "  - breathe: {in: 4, out: 4, cycles: 9, min_cycles: 2, max_cycles: 5}\n"
                          "  - repeat: {count: 1, min: 2, max: 5,\n"
                          "             phases: [{say: Up., seconds: 3}]}\n",
                          name="m3.yaml")
    assert exc.value.problems == [
        "m3.yaml:3:11: steps[0].hold: 'seconds' (90) is outside min..max (20..60); raise max "
        "to 90 or set seconds within 20..60",
        "m3.yaml:4:11: steps[1].hold: 'seconds' (10) is outside min..max (20..60); lower min "
        "to 10 or set seconds within 20..60",
        "m3.yaml:5:14: steps[2].breathe: 'cycles' (9) is outside min_cycles..max_cycles "
        "(2..5); raise max_cycles to 9 or set cycles within 2..5",
        "m3.yaml:6:13: steps[3].repeat: 'count' (1) is outside min..max (2..5); lower min to 1 "
        "or set count within 2..5"]
