"""Planning a pack without audio (stage: pack): naming, layering, hashes, the manifest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import voiceguide as vg
from voiceguide.errors import AudioInputError
from voiceguide.pack.manifest import up_to_date
from voiceguide.pack.plan import render_name
from voiceguide.speech.piper import bundled_voices

PACK = """\
title: Plan test
defaults: {bed: ocean, rate: 140}
output: "{n:02d}-{name}-{length}"
matrix:
  routines: [r]
  names: [Ana, Ben]
  minutes: [2, 3]
tracks:
  - {routine: r, name: Kim, rate: 120, bed: sounds/brook.ogg, file: "kim"}
"""
ROUTINE = "title: R\nlength: {min: 1, max: 5}\nsteps:\n  - say: Hi {{ name }}.\n" \
          "  - pause: {seconds: 5, min: 2, max: 200}\n"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    (tmp_path / "r.yaml").write_text(ROUTINE)
    (tmp_path / "pack.yaml").write_text(PACK)
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "brook.ogg").write_bytes(b"OggS" + bytes(60))  # planned, not heard
    return tmp_path / "pack.yaml"


def test_the_matrix_and_track_list_expand_with_layered_settings(pack: Path) -> None:
    plan = vg.load_pack(pack, pack.parent / "out")
    # numbered as the file writes them: the matrix first here
    assert [j.stem for j in plan.jobs] == ["01-Ana-2min", "02-Ana-3min", "03-Ben-2min",
                                           "04-Ben-3min", "kim"]
    kim, ana = plan.jobs[4], plan.jobs[0]
    assert (kim.settings.rate, kim.settings.bed) == (120, str(pack.parent / "sounds/brook.ogg"))
    assert (ana.settings.rate, ana.settings.bed, ana.settings.minutes) == (140, "ocean", 2)
    assert len({j.input_hash for j in plan.jobs}) == 5


def test_a_matrix_takes_minutes_and_seconds_as_a_track_does(pack: Path) -> None:
    """An attack on minutes and seconds: a track's `minutes: 2:30` was taken, and the
    matrix's `minutes: [2:30, 2:59]` refused as "must be a number of minutes (got
    '2:30'); write it in minutes"."""
    pack.write_text(PACK.replace("minutes: [2, 3]", "minutes: [2:30, \"2:59\"]"))
    plan = vg.load_pack(pack, pack.parent / "out")
    assert [j.stem for j in plan.jobs[:2]] == ["01-Ana-2.5min", "02-Ana-2m59s"]
    assert plan.jobs[1].settings.minutes == pytest.approx(2 + 59 / 60)


def test_a_length_whose_decimals_read_as_seconds_is_warned(tmp_path: Path) -> None:
    """A coach's review: `minutes: 8.30` built 8:18 (8.3 minutes) without a word, where
    8:30 was meant; quarters and halves are what they say."""
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ndefaults: {minutes: 6.45}\ntracks:\n"
                    "  - {routine: morning-hips, name: Ana, minutes: 8.30}\n"
                    "  - {routine: morning-hips, name: Ben, minutes: 7.5}\n"
                    "  - {routine: morning-hips, name: Cy, minutes: 5.25}\n"
                    "  - {routine: morning-hips, name: Di, minutes: \"4:30\"}\n"
                    "matrix: {routines: [morning-hips], names: [Ed], minutes: [5.1, 6]}\n")
    plan = vg.load_pack(pack, tmp_path / "out")
    assert plan.jobs[0].settings.minutes == 8.3  # as written: a warning, not a change
    said = [w for w in plan.warnings if "as a decimal" in w]
    assert said == [
        f"{pack}:2:21: minutes: 6.45 is 6:27 (minutes as a decimal); for 6 minutes 45 "
        "seconds write 6:45",
        f"{pack}:4:49: minutes: 8.3 is 8:18 (minutes as a decimal); for 8 minutes 30 "
        "seconds write 8:30",
        f"{pack}:8:59: minutes: 5.1 is 5:06 (minutes as a decimal); for 5 minutes 10 "
        "seconds write 5:10"], said


def test_a_track_list_written_first_is_numbered_first(pack: Path) -> None:
    """The `tracks:` list was numbered before the matrix wherever the file wrote it."""
    tracks = PACK[PACK.index("tracks:"):]
    pack.write_text(PACK.replace(tracks, "").replace("matrix:", tracks + "matrix:"))
    plan = vg.load_pack(pack, pack.parent / "out")
    assert [j.stem for j in plan.jobs] == ["kim", "02-Ana-2min", "03-Ana-3min", "04-Ben-2min",
                                           "05-Ben-3min"]


def test_a_listeners_tracks_of_one_routine_get_titles_that_tell_them_apart(
        pack: Path) -> None:
    """Two tracks of one routine for one listener (a matrix one and a listed 12-minute
    one) were both "R for Sam" in the feed, the player and the overview."""
    pack.write_text("title: T\noutput: \"{n:02d}-{name}-{length}\"\n"
                    "matrix: {routines: [r], names: [Ana, Sam]}\n"
                    "tracks:\n  - {routine: r, name: Sam, minutes: 2, bed: ocean}\n"
                    "  - {routine: r, name: Ana, level: advanced}\n")
    titles = {j.stem: j.title for j in vg.load_pack(pack, pack.parent / "out").jobs}
    assert titles == {"01-Ana": "R for Ana · beginner", "02-Sam": "",
                      "03-Sam-2min": "R for Sam · 2 min", "04-Ana": "R for Ana · advanced"}
    # as played, not as written: the routine's own level given again is no difference
    pack.write_text("title: T\ntracks:\n  - {routine: r, name: Sam, bed: rain, file: a}\n"
                    "  - {routine: r, name: Sam, level: beginner, bed: ocean, file: b}\n")
    jobs = vg.load_pack(pack, pack.parent / "out").jobs
    assert [j.title for j in jobs] == ["R for Sam · rain", "R for Sam · ocean"]
    # and with nothing else to tell them apart, the track's number
    pack.write_text("title: T\nmatrix: {routines: [r], names: [Ana]}\n"
                    "tracks:\n  - {routine: r, name: Ana, file: again}\n")
    jobs = vg.load_pack(pack, pack.parent / "out").jobs
    assert [j.title for j in jobs] == ["R for Ana · 1", "R for Ana · 2"]
    # nor does a label make the title another routine has (an attack: "Hips · 6 min")
    (pack.parent / "r2.yaml").write_text(ROUTINE.replace("title: R", "title: R · 2 min"))
    pack.write_text("title: T\ntracks:\n  - {routine: r, minutes: 2, file: a}\n"
                    "  - {routine: r, minutes: 3, file: b}\n  - {routine: r2, file: c}\n")
    jobs = vg.load_pack(pack, pack.parent / "out").jobs
    assert [j.title for j in jobs] == ["R · 2 min", "R · 3 min", "R · 2 min · 3"]


def test_the_input_hash_follows_the_routine_file(pack: Path) -> None:
    before = vg.load_pack(pack).jobs[1].input_hash
    (pack.parent / "r.yaml").write_text(ROUTINE.replace("Hi", "Hello"))
    assert vg.load_pack(pack).jobs[1].input_hash != before


def test_naming_templates_allow_fields_only() -> None:
    assert render_name("{n:02d}-{name}", {"n": 3, "name": "Zoë / x"}) == "03-Zoe-x"
    with pytest.raises(ValueError, match="is not allowed"):
        render_name("{name.__class__}", {"name": "x"})
    # each refusal names the template as written and why ('{name!r}' was said '{name}')
    for template, why in (("{name!r}", "no conversion"), ("{name:>10}", "a format is a width"),
                          ("{n:x}", "a format is a width for {n} only: {n:02}"),
                          ("{ name }", "no field of that name (did you mean 'name'?)")):
        with pytest.raises(ValueError, match=re.escape(f"'{template}' is not allowed ({why}")):
            render_name(template, {"name": "x"})


def test_an_entry_is_up_to_date_only_with_its_file_intact(pack: Path, tmp_path: Path) -> None:
    job = vg.load_pack(pack).jobs[0]
    out = tmp_path / "o"
    out.mkdir()
    (out / "kim.mp3").write_bytes(b"abc")
    (out / "kim.cues.json").write_bytes(b"abc")
    entry = {"input_hash": job.input_hash, "file": "kim.mp3", "bytes": 3,
             "sidecars": ["kim.cues.json"], "title": "Kim", "duration": 60.0,
             "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
             "sidecar_sha256": ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]}
    assert up_to_date(job, entry, out)
    # without its cue sheet, or its digest, it cannot vouch for what the feed is made of
    assert not up_to_date(job, {**entry, "sidecars": [], "sidecar_sha256": []}, out)
    assert not up_to_date(job, {k: v for k, v in entry.items() if k != "sidecar_sha256"}, out)
    (out / "kim.mp3").write_bytes(b"abd")
    assert not up_to_date(job, entry, out)
    assert not up_to_date(job, {**entry, "input_hash": "other"}, out)


def test_a_voice_file_is_taken_from_the_pack_folder_and_hashed(pack: Path) -> None:
    voices = pack.parent / "voices"
    voices.mkdir()
    onnx = voices / "xx_XX-test-low.onnx"
    onnx.write_bytes(b"\x08" + bytes(4095))
    bundled = bundled_voices()["en_US-joe-medium"]
    cfg = bundled.with_name(bundled.name + ".json").read_text()
    onnx.with_name(onnx.name + ".json").write_text(cfg)
    pack.write_text(PACK.replace("rate: 140}", "rate: 140, engine: piper, "
                                 "voice: voices/xx_XX-test-low.onnx}"))
    before = vg.load_pack(pack).jobs[1]
    assert before.settings.voice == str(onnx)
    onnx.with_name(onnx.name + ".json").write_text(cfg.replace('"noise_w": 0.8',
                                                               '"noise_w": 0.7'))
    assert vg.load_pack(pack).jobs[1].input_hash != before.input_hash


def test_a_missing_or_broken_bed_file_is_the_packs_error_at_its_line(tmp_path: Path) -> None:
    """`validate` said "ok" to a pack whose second track had a bed file that was not
    there (or not audio), and `pack` stopped at that track without naming the pack
    file or line (found by a new-user review)."""
    (tmp_path / "fake.mp3").write_text("not audio")
    tracks = ("title: P\ntracks:\n  - {routine: morning-hips, name: Ana}\n"
              "  - routine: morning-hips\n    name: Jose\n    bed: {bed}\n")
    missing = tmp_path / "missing.yaml"
    missing.write_text(tracks.replace("{bed}", "sounds/waves.mp3"))
    with pytest.raises(vg.InvalidInputError,
                       match=r"missing\.yaml:6:10: bed: .*sounds/waves\.mp3: no such bed"):
        vg.load_pack(missing, tmp_path / "out")
    with pytest.raises(vg.InvalidInputError, match="no such bed"):
        vg.check_file(missing, "test", measure=False)  # --quick, too
    fake = tmp_path / "fake.yaml"
    fake.write_text(tracks.replace("{bed}", "fake.mp3"))
    with pytest.raises(AudioInputError, match=r"track 2 .*fake\.mp3: not a readable audio"):
        vg.check_file(fake, "test", kind="pack")


def test_a_listener_given_twice_is_said_and_a_name_clash_says_what_to_add(
        tmp_path: Path) -> None:
    """`names: [Zoë, José, Zoë]` built two identical tracks without a word (now a
    warning: a schedule may repeat a session on purpose), and a clash of names under
    `{routine}-{name}` advised adding `{name}`, already there (found by a new-user
    review; a reviewer found the first fix refused a repeated session)."""
    twice = tmp_path / "twice.yaml"
    twice.write_text("title: P\nmatrix:\n  routines: [morning-hips]\n"
                     "  names: [Zoë, José, Zoë]\n")
    plan = vg.load_pack(twice, tmp_path / "out")
    assert len(plan.jobs) == 3
    (said,) = plan.warnings
    assert "tracks 1 and 3 are the same routine with the same settings" in said
    schedule = tmp_path / "schedule.yaml"  # Monday and Wednesday: the same session
    schedule.write_text('title: P\noutput: "{n:02d}-{routine}"\ntracks:\n'
                        "  - {routine: morning-hips}\n  - {routine: bedtime-hips}\n"
                        "  - {routine: morning-hips}\n")
    assert len(vg.load_pack(schedule, tmp_path / "out").jobs) == 3
    clash = tmp_path / "clash.yaml"
    clash.write_text('title: P\noutput: "{routine}-{name}"\ntracks:\n'
                     "  - {routine: morning-hips, name: Zoë}\n"
                     "  - {routine: morning-hips, name: Zoe, minutes: 6}\n")
    with pytest.raises(vg.InvalidInputError) as caught:
        vg.load_pack(clash, tmp_path / "out")
    assert str(caught.value).endswith("add {length} or {n} to the template")
    beds = tmp_path / "beds.yaml"  # what tells them apart is the bed
    beds.write_text('title: P\noutput: "{routine}-{name}"\ntracks:\n'
                    "  - {routine: morning-hips, name: Ana, bed: rain}\n"
                    "  - {routine: morning-hips, name: Ana, bed: ocean}\n")
    with pytest.raises(vg.InvalidInputError, match=r"add \{bed\} or \{n\} to the template$"):
        vg.load_pack(beds, tmp_path / "out")


def test_a_bad_bed_is_said_where_it_is_written(tmp_path: Path) -> None:
    """In the defaults, or in the matrix's beds: not at the track's line."""
    for text, where in (("defaults: {bed: no.wav}\ntracks:\n  - {routine: morning-hips}\n",
                         "2:17"),
                        ("matrix:\n  routines: [morning-hips]\n  beds: [rain, no.wav]\n",
                         "4:16")):
        pack = tmp_path / "p.yaml"
        pack.write_text("title: P\n" + text)
        with pytest.raises(vg.InvalidInputError, match=rf"p\.yaml:{where}: bed: "):
            vg.load_pack(pack, tmp_path / "out")


def test_tracks_in_a_feed_that_apple_podcasts_skips_are_said(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: morning-hips, format: opus}\n"
                    "  - {routine: bedtime-hips}\n  - {routine: morning-hips, format: wav}\n"
                    "  - {routine: bedtime-hips, format: m4b}\n"
                    "  - {routine: morning-hips, format: m4a}\n")
    (said,) = vg.load_pack(pack, tmp_path / "out").warnings
    assert "3 track(s) in m4b, opus, wav: Apple Podcasts does not play them" in said
    pack.write_text("title: P\ntracks:\n  - {routine: morning-hips}\n"
                    "  - {routine: bedtime-hips, format: m4a}\n")
    assert vg.load_pack(pack, tmp_path / "out").warnings == []


def test_a_feed_that_dates_episodes_after_today_says_so(tmp_path: Path) -> None:
    """'published:' today with three tracks dates two of them in the days after, and
    podcast apps may hide them until then (a players-and-platforms audit)."""
    import datetime

    today = datetime.date.today()
    pack = tmp_path / "p.yaml"
    body = "tracks:\n  - {routine: morning-hips}\n  - {routine: bedtime-hips}\n" \
           "  - {routine: morning-hips, minutes: 6}\n"
    body = f"author: Kim\nemail: kim@example.org\n{body}"
    pack.write_text(f"title: P\npublished: {today:%Y-%m-%d}\n{body}")
    (said,) = vg.load_pack(pack, tmp_path / "out").feed_warnings("https://example.org/p")
    earlier = today - datetime.timedelta(days=2)
    assert "feed.xml dates 2 of 3 episodes after today" in said
    assert f"set 'published: {earlier:%Y-%m-%d}' or earlier" in said
    pack.write_text(f"title: P\npublished: {earlier:%Y-%m-%d}\n{body}")
    assert vg.load_pack(pack, tmp_path / "out").feed_warnings("https://example.org/p") == []
    # each listener's feed of a grouped pack counts (a coach's review: "dates 2 episode(s)"
    # where all four, in three feeds, were after today)
    later = today + datetime.timedelta(days=3)
    grouped = body.replace("{routine: morning-hips}", "{routine: morning-hips, name: Ana}"
                           ).replace("bedtime-hips}", "bedtime-hips, name: Ben}").replace(
        "minutes: 6}", "minutes: 6, name: Cy}") + "  - {routine: bedtime-hips, name: Ana}\n"
    pack.write_text(f"title: P\npublished: {later:%Y-%m-%d}\ngroup_by: name\n{grouped}")
    (said,) = vg.load_pack(pack, tmp_path / "out").feed_warnings("https://example.org/p")
    assert "the 3 feeds date 4 of 4 episodes after today" in said, said
    assert f"set 'published: {today - datetime.timedelta(days=1):%Y-%m-%d}'" in said, said


def test_a_feed_for_podcast_apps_from_the_starter_pack_asks_for_its_owner(
        tmp_path: Path) -> None:
    """A new-user review: the starter pack went out to podcast apps with 'author: you'
    and no email (its own comment says Apple asks for one), warned only of the date."""
    pack = vg.new_pack(tmp_path / "clients.yaml")
    plan = vg.load_pack(pack, tmp_path / "out")
    assert plan.feed_warnings(None) == []  # not for podcast apps: the folder or serve
    said = plan.feed_warnings("https://example.org/c")
    assert said[:2] == [
        f"{pack}: no 'email:', so feed.xml names no owner; Apple Podcasts asks for one "
        "(email: you@example.org)",
        f"{pack}: 'author: you' is what podcast apps show as the pack's maker; write your "
        "name"]
    pack.write_text(pack.read_text().replace("author: you", "author: Kim Lee").replace(
        'email: ""', "email: kim@example.org").replace("title:", "published: 2025-02-01\ntitle:"))
    assert vg.load_pack(pack, tmp_path / "out").feed_warnings("https://example.org/c") == []


def test_a_pack_description_with_a_control_character_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text('title: P\ndescription: "Hello\\0there"\ntracks:\n'
                    "  - {routine: morning-hips}\n")
    with pytest.raises(vg.InvalidInputError, match="description: must not contain control "
                                                   "characters"):
        vg.load_pack(pack, tmp_path / "out")
    pack.write_text("title: P\ndescription: |\n  Two lines,\n  for the feed.\ntracks:\n"
                    "  - {routine: morning-hips}\n")
    vg.load_pack(pack, tmp_path / "out")  # lines are fine


def test_a_pack_language_is_a_language_code(tmp_path: Path) -> None:
    """An attack: `language: 'en"><x'` went (escaped) into the feed and the player's
    lang attribute; a language code is letters, digits and hyphens (BCP 47). A routine
    reads `en_US` as en-US, and so does a pack (the feed says en-US)."""
    pack = tmp_path / "p.yaml"
    for code, ok in (('"en\\"><x"', False), ("english please", False), ("pt-BR", True),
                     ("de", True), ("en_US", True), ("en_", False)):
        pack.write_text(f"title: P\nlanguage: {code}\ntracks:\n  - {{routine: morning-hips}}\n")
        if ok:
            model = vg.load_pack(pack, tmp_path / "out").model
            assert model.language == code.replace("_", "-")
        else:
            with pytest.raises(vg.InvalidInputError, match=r"p.yaml:2:11: language: must be a "
                                                           r"language code such as en"):
                vg.load_pack(pack, tmp_path / "out")


def test_names_that_differ_only_in_case_or_are_reserved_make_distinct_portable_files(
        tmp_path: Path) -> None:
    """'Ana' and 'ana' are one file on Windows, macOS and a phone's SD card; CON.mp3 is
    a device to Windows; Łukasz was 'ukasz' (found by a players-and-platforms audit)."""
    pack = tmp_path / "p.yaml"
    pack.write_text('title: P\noutput: "{routine}-{name}"\nmatrix:\n'
                    "  routines: [morning-hips]\n  names: [Ana, ana]\n")
    with pytest.raises(vg.InvalidInputError, match="would both be named 'morning-hips-Ana' "
                                                   "and 'morning-hips-ana', one name on"):
        vg.load_pack(pack, tmp_path / "out")
    pack.write_text('title: P\noutput: "{name}"\nmatrix:\n'
                    "  routines: [morning-hips]\n  names: [Con, aux, Łukasz, Søren, Straße]\n")
    stems = [j.stem for j in vg.load_pack(pack, tmp_path / "out").jobs]
    assert stems == ["Con_", "aux_", "Lukasz", "Soren", "Strasse"]


def test_the_pack_api_takes_paths_as_text(pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend passes paths as text: load_pack, default_pack_folder and PackInputs
    raised AttributeError ('str' object has no attribute 'stem')."""
    monkeypatch.chdir(pack.parent)
    plan = vg.load_pack("pack.yaml", "out")
    assert [j.stem for j in plan.jobs] == [j.stem for j in vg.load_pack(pack, "out").jobs]
    assert vg.default_pack_folder("pack.yaml") == Path("output/pack")
    asked = vg.PackInputs("pack.yaml", "out")  # type: ignore[arg-type]
    assert asked.pack_path == Path("pack.yaml") and asked.folder == Path("out")
    assert vg.pack_up_to_date(asked) is None  # not built yet: asked, not failed


def _problems_of(pack: Path, tmp_path: Path) -> list[str]:
    """The problems loading ``pack`` says (it must fail)."""
    with pytest.raises(vg.InvalidInputError) as caught:
        vg.load_pack(pack, tmp_path / "out")
    return caught.value.problems


def test_a_pack_with_several_problems_says_them_all_at_once(tmp_path: Path) -> None:
    """A new-user review: validate showed one problem of a pack per run (three runs for
    three), while a routine's are all said at once."""
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ngroup_by: name\ntracks:\n"
                    "  - {routine: morning-hipz, name: Ana}\n"
                    "  - {routine: morning-hips, name: Ben, bed: gone.wav}\n"
                    "  - {routine: morning-hips, name: Zoë}\n"
                    "  - {routine: morning-hips, name: zoe}\n")
    problems = _problems_of(pack, tmp_path)
    assert [p.split(": ")[1] for p in problems] == ["tracks[0].routine", "bed", "group_by"]
    assert [p.split(":")[1] for p in problems] == ["4", "5", "7"]
    assert "did you mean 'morning-hips'" in problems[0] and "gone.wav" in problems[1]
    # a coach's review: a bad default bed hid the folder clash until a third run
    pack.write_text(pack.read_text().replace("group_by: name\n",
                                             "group_by: name\ndefaults: {bed: ../x.wav}\n"))
    problems = _problems_of(pack, tmp_path)
    assert [p.split(": ")[1] for p in problems] == [
        "bed", "tracks[0].routine", "bed", "group_by"]  # line order
    assert [p.split(":")[1] for p in problems] == ["3", "5", "6", "8"]
    assert "gone.wav: no such bed file" in problems[2]
    rows = "".join(f"  - {{routine: nope-{i}}}\n" for i in range(22))
    pack.write_text(f"title: P\ntracks:\n{rows}")
    problems = _problems_of(pack, tmp_path)
    assert len(problems) == 21  # bounded, and said to be (it was not)
    assert problems[-1].endswith(": and more problems after these; mend these "
                                 "and try again")


def test_a_misspelt_routine_in_the_matrix_is_said_at_its_item_with_every_routine_near(
        tmp_path: Path) -> None:
    """`routines: [evening-hips, morning-hip]` was said at the `routines:` line, as
    'routine', with 'did you mean 'evening-hips'?' (beside the pack) although
    morning-hips is in the library (a new-user review)."""
    (tmp_path / "evening-hips.yaml").write_text(ROUTINE)
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\nmatrix:\n  routines: [evening-hips, morning-hip]\n"
                    "  names: [Ana]\n")
    problems = _problems_of(pack, tmp_path)
    assert problems == [
        f"{pack}:3:28: matrix.routines[1]: no routine named 'morning-hip' beside the pack (in "
        f"{tmp_path}) or in the routine folders (did you mean 'morning-hips', 'evening-hips'?)"]


def test_a_file_the_pack_looks_for_beside_it_is_said_so_with_where_it_is_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A coach's review: a pack in err/ naming hip-melt, which was in the folder run in,
    said 'for the file here, give its name: hip-melt.yaml', and that said 'no such file'
    (the pack looks beside itself); its profile: the same."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "err").mkdir()
    (tmp_path / "hip-melt.yaml").write_text(ROUTINE)
    (tmp_path / "sam.yaml").write_text("name: Sam\n")
    pack = Path("err/p.yaml")
    moved = "is in the folder you ran this in: put it beside the pack"
    for routine in ("hip-melt", "hip-melt.yaml"):
        pack.write_text(f"title: P\ntracks:\n  - {{routine: {routine}, name: Ana}}\n")
        problems = _problems_of(pack, tmp_path)
        assert len(problems) == 1 and "beside the pack (in err/)" in problems[0], problems
        assert f"'hip-melt.yaml' {moved}" in problems[0] and "here" not in problems[0]
    pack.write_text("title: P\nprofile: sam.yaml\ntracks:\n  - {routine: hip-melt, name: A}\n")
    (Path("err") / "hip-melt.yaml").write_text(ROUTINE)
    with pytest.raises(vg.InvalidInputError, match=rf"profile: no such file 'sam.yaml' beside "
                                                   rf"the pack \(in err/\); 'sam.yaml' {moved}"):
        vg.load_pack(pack, tmp_path / "out")


def test_a_tracks_unknown_key_says_the_key_it_means_or_the_keys_a_track_takes(
        tmp_path: Path) -> None:
    """A new-user review: `speed: 100` and `language: de` in a pack's track said only
    "unknown key 'speed'"; a word for the rate is said as 'rate', a track's language as
    its routine's, and a key near none of a track's as the keys it takes."""
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ndefaults: {wpm: 120}\ntracks:\n"
                    "  - {routine: morning-hips, name: Kim, speed: 100}\n"
                    "  - {routine: morning-hips, name: Kim, tempo: 100}\n"
                    "  - {routine: morning-hips, name: Kim, language: de}\n"
                    "  - {routine: morning-hips, name: Kim, colour: red}\n")
    problems = _problems_of(pack, tmp_path)
    rate = [f"unknown key '{k}' (did you mean 'rate'?)" for k in ("wpm", "speed", "tempo")]
    said = [p.split(": ", 2)[2] for p in problems]
    assert said[:3] == rate
    assert said[3] == ("unknown key 'language': a track speaks its routine's language: use "
                       "a routine written in it (hueften-sanft is German, caderas-suaves "
                       "Spanish, hanches-douces French, anche-morbide Italian, "
                       "quadris-suaves Portuguese; 'voiceguide list' shows each routine's "
                       "language)")
    assert said[4].startswith("unknown key 'colour'; use one of: name, voice, rate, ")
    assert said[4].endswith(", engine, routine, file")
    assert vg.load_routine("hueften-sanft").spec.language == "de"  # as the message says
    assert vg.load_routine("caderas-suaves").spec.language == "es"
    assert vg.load_routine("hanches-douces").spec.language == "fr"
    assert vg.load_routine("anche-morbide").spec.language == "it"
    assert vg.load_routine("quadris-suaves").spec.language == "pt-BR"
