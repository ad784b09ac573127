"""The pronunciation lexicon: what the engine is given changes, nothing else does; it is
part of the phrase cache key, bounded like any shared file, and the default one makes
espeak's "pelvis" heard as "pelvis" (pocketsphinx, real track)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import voiceguide as vg
from tests.asr import transcribe, words
from tests.conftest import ROOT, SR, decode, espeak_phonemes, run_cli, sheet_of
from voiceguide.pack.phrases import MissingPhrases, clip_bank, synthesize
from voiceguide.routine.lexicon import DEFAULT_LEXICONS, Lexicon, Pronunciation, track_lexicon
from voiceguide.script.expand import expand
from voiceguide.script.items import walk_speech
from voiceguide.script.speakable import speakable
from voiceguide.speech.bank import SpeechBank
from voiceguide.speech.testtone import ToneEngine


class Recording(ToneEngine):
    """The test engine, remembering what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list[str] = []

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        self.given.append(text)
        return super().synthesize(text, voice, rate)


def _lexicon(**entries: str | dict[str, str]) -> Lexicon:
    return Lexicon.layered({w: Pronunciation.model_validate(
        {"say": e} if isinstance(e, str) else e) for w, e in entries.items()})


def test_whole_words_in_any_case_a_capital_kept() -> None:
    lex = Lexicon.layered(_lexicon(pelvis="pelvus", psoas="SO-az").entries,
                          {"hip joint": Pronunciation(say="hip joynt")})
    said = lex.spoken("Pelvis, pelvis. PELVIS! pelvises, the pelvis's rim, mid-pelvis; "
                      "psoas and the hip\njoint.", "espeak")
    assert said == ("Pelvus, pelvus. Pelvus! pelvises, the pelvis's rim, mid-pelvus; "
                    "SO-az and the hip joynt.")


def test_an_engine_gets_its_own_entry_and_phonemes_unchanged() -> None:
    lex = _lexicon(pelvis={"say": "pel-vis", "espeak": "[[p'Elv@s]]"})
    assert lex.spoken("Pelvis.", "espeak") == "[[p'Elv@s]]."
    assert lex.spoken("Pelvis.", "piper") == "Pel-vis."
    only = _lexicon(pelvis={"espeak": "pelvus"})
    assert only.spoken("pelvis", "piper") == "pelvis"


def test_routine_wins_over_user_over_default(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert track_lexicon({}).spoken("pelvis", "espeak") == "pelvus"  # the default
    assert track_lexicon({}, "es").spoken("pelvis", "espeak") == "pelvis"  # English only
    user = tmp_path / "lexicon.yaml"
    user.write_text("lexicon:\n  pelvis: PELL-viss\n  sacrum: SAY-krum\n")
    monkeypatch.setenv("VOICEGUIDE_LEXICON", str(user))
    assert track_lexicon({}).spoken("pelvis sacrum", "espeak") == "PELL-viss SAY-krum"
    routine = {"pelvis": Pronunciation(say="pel")}
    assert track_lexicon(routine).spoken("pelvis sacrum", "espeak") == "pel SAY-krum"


def test_script_text_cannot_pass_phonemes_to_the_engine() -> None:
    assert speakable("Say [[h@l'oU]] [[[x]]]") == "Say [h@l'oU] [x]"


ROUTINE = """\
title: Pelvis
lexicon:
  pelvis: pelvus
steps:
  - section: Pelvis and hips
    steps:
      - say: Let your pelvis rest.
"""


def test_only_what_the_engine_is_given_changes(tmp_path: Path) -> None:
    engine = Recording()
    routine = vg.Routine.from_yaml(ROUTINE, id="pelvis")
    result = vg.build_track(routine, vg.TrackSettings(engine="test"), tmp_path, engine=engine,
                            cache=vg.PhraseCache(tmp_path / "cache"))
    assert engine.given == ["Let your pelvus rest."]
    sheet = sheet_of(result.path)
    assert [c["text"] for c in sheet["cues"] if c["kind"] == "speech"] == [
        "Let your pelvis rest."]
    assert [c["title"] for c in sheet["chapters"]] == ["Pelvis and hips"]
    assert sheet["title"] == "Pelvis" and result.path.name == "pelvis.mp3"
    vtt = result.path.with_suffix(".vtt").read_text()
    assert "Let your pelvis rest." in vtt and "pelvus" not in vtt


def test_the_lexicon_is_part_of_the_phrase_cache_key(tmp_path: Path) -> None:
    cache = vg.PhraseCache(tmp_path / "cache")
    settings = vg.TrackSettings(engine="test", format="wav", loudness="off")

    def made(text: str) -> int:
        engine = Recording()
        routine = vg.Routine.from_yaml(text, id="pelvis")
        vg.plan_track(routine, settings, engine=engine, cache=cache)
        return len(engine.given)

    assert made(ROUTINE) == 1
    assert made(ROUTINE) == 0  # from the cache
    assert made(ROUTINE.replace("pelvis: pelvus", "pelvis: pel-viss")) == 1
    assert made(ROUTINE.replace("lexicon:\n  pelvis: pelvus\n", "")) == 1
    assert made(ROUTINE) == 0


def test_phrases_made_apart_from_the_track_are_named_by_what_the_engine_is_given() -> None:
    engine = Recording()
    lexicon = _lexicon(pelvis="pelvus")
    text = "Let your pelvis rest."
    asking = clip_bank(engine, "tone/low", 140, {})
    asking.lexicon = lexicon  # as plan_track sets it
    with pytest.raises(MissingPhrases) as missing:
        asking.prefetch([text])
    (ref,) = missing.value.refs
    assert ref.text == "Let your pelvus rest."
    pcm, spoke = synthesize(engine, ref)
    assert spoke and engine.given == [ref.text]
    given = clip_bank(engine, "tone/low", 140, {ref.key: pcm})
    given.lexicon = lexicon
    given.prefetch([text])
    here = SpeechBank(engine, "tone/low", 140, None, lexicon=lexicon)
    assert given.clip(text).tobytes() == here.clip(text).tobytes()


def test_the_user_lexicon_is_part_of_a_build_input_hash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "lexicon.yaml"
    monkeypatch.setenv("VOICEGUIDE_LEXICON", str(user))
    routine = ROOT / "routines" / "bedtime-hips.yaml"
    before = vg.track_request(routine).input_hash
    user.write_text("lexicon:\n  hips: hipps\n")
    assert vg.track_request(routine).input_hash != before


BAD = [
    ("  pel1vis: pelvus\n", 3, 3, "lexicon.pel1vis: 'pel1vis' is not a word: use letters, "
     "with apostrophes or hyphens inside a word and single spaces between words, as the "
     "word is written in the narration"),
    ("  pelvis: pel<vis\n", 3, 11, "lexicon.pelvis.say: 'pel<vis' is neither a respelling "
     "(letters, spaces, hyphens and apostrophes: 'PELL-vus') nor phonemes in double "
     "brackets (\"[[p'ElvIs]]\")"),
    ("  pelvis: {sey: pelvus}\n", 3, 12, "lexicon.pelvis.sey: unknown key 'sey' (did you "
     "mean 'say'?)"),
    ("  pelvis: {}\n", 3, 11, "lexicon.pelvis: give 'say' (a respelling), or 'espeak' or "
     "'piper'"),
    (f"  {'a' * 41}: x\n", 3, 3, f"lexicon.{'a' * 41}: a word is at most 40 characters "
     "(got 41); respell single words or short phrases"),
    (f"  pelvis: {'a' * 101}\n", 3, 11, "lexicon.pelvis.say: is at most 100 characters "
     "(got 101); respell one word at a time"),
    ("".join(f"  w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}: x\n" for i in range(501)), 3, 3,
     "lexicon: has 501 words; at most 500 are allowed: keep the lexicon to words the voice "
     "says badly"),
]


@pytest.mark.parametrize(("entries", "line", "col", "message"), BAD)
def test_a_bad_routine_lexicon_is_one_error_line_at_its_place(
        entries: str, line: int, col: int, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"title: T\nlexicon:\n{entries}steps:\n  - say: Hi.\n")
    assert run_cli(["validate", "--quick", str(path)]) == 3
    assert capsys.readouterr().err.strip() == f"Error: {path}:{line}:{col}: {message}"


def test_a_bad_user_lexicon_stops_a_build_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    user = tmp_path / "lexicon.yaml"
    user.write_text("lexicon:\n  pelvis: 42x\n")
    monkeypatch.setenv("VOICEGUIDE_LEXICON", str(user))
    routine = ROOT / "routines" / "bedtime-hips.yaml"
    assert run_cli(["build", str(routine), "--engine", "test", "-o", str(tmp_path / "o")]) == 3
    assert capsys.readouterr().err.strip() == (
        f"Error: {user}:2:11: lexicon.pelvis.say: '42x' is neither a respelling (letters, "
        "spaces, hyphens and apostrophes: 'PELL-vus') nor phonemes in double brackets "
        "(\"[[p'ElvIs]]\")")


def test_validate_and_schema_know_the_user_lexicon(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "lexicon.yaml"
    good.write_text("lexicon:\n  pelvis: pelvus\n  psoas: {say: SO-az, espeak: \"[[s'oU@s]]\"}\n")
    assert run_cli(["validate", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {good} (lexicon)"
    bad = tmp_path / "words.yaml"
    bad.write_text("lexicon:\n  pelvis: {sey: x}\n")
    assert run_cli(["validate", str(bad)]) == 3
    assert capsys.readouterr().err.strip() == (
        f"Error: {bad}:2:12: lexicon.pelvis.sey: unknown key 'sey' (did you mean 'say'?)")
    schema = vg.json_schema("lexicon")
    jsonschema.validate(yaml.safe_load(good.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(bad.read_text()), schema)


def test_espeak_reads_phonemes_from_the_lexicon(espeak: Any) -> None:
    # espeak-ng's own phonemes for "pelvis": the same samples as the word itself
    word = espeak.synthesize("Feet up toward the pelvis.", "gmw/en-us", 140)
    phonemes = espeak.synthesize("Feet up toward the [[p'ElvIs]].", "gmw/en-us", 140)
    schwa = espeak.synthesize("Feet up toward the [[p'Elv@s]].", "gmw/en-us", 140)
    assert word.tobytes() == phonemes.tobytes() != schwa.tobytes()


def test_digits_joined_by_a_hyphen_are_said_without_dash(espeak: Any, tmp_path: Path) -> None:
    # a Piper listening audit: "Seated 90-90" was said "ninety dash ninety" by espeak-ng
    # and by Piper (which reads text through it), "1-2-3" with two dashes, and German
    # "Bindestrich"; the listener hears the numbers, the transcript keeps what is written
    for voice, written, heard in (("gmw/en-us", "Sit in the 90-90 pose.", "Sit in the 90 90 pose."),
                                  ("gmw/en-us", "Count 1-2-3, and lift.", "Count 1 2 3, and lift."),
                                  ("gmw/en-us", "Lift 5-10 times.", "Lift 5 10 times."),
                                  ("gmw/de", "Sitz in der 90-90 Haltung.",
                                   "Sitz in der 90 90 Haltung.")):
        bank = SpeechBank(espeak, voice, 140, None)
        assert bank.clip(written).tobytes() == bank.clip(heard).tobytes(), written
    engine = Recording()
    data = {"title": "Ninety", "steps": [{"say": "Sit in the 90-90 pose, hip-width apart."}]}
    result = vg.build_track(vg.Routine.from_dict(data, id="ninety"),
                            vg.TrackSettings(engine="test", format="wav", loudness="off"),
                            tmp_path, engine=engine, cache=vg.PhraseCache(tmp_path / "cache"))
    assert engine.given == ["Sit in the 90 90 pose, hip-width apart."]
    assert [c["text"] for c in sheet_of(result.path)["cues"] if c["kind"] == "speech"] == [
        "Sit in the 90-90 pose, hip-width apart."]


PELVIS = [  # every sentence of the library that says "pelvis"
    "Let your pelvis and your legs feel heavy, and let the breath slow down.",
    "Draw both feet up toward your pelvis.",
    "Feet up toward the pelvis.",
    "Now notice your thighs, your hips, and your pelvis. Is anything holding on?",
]


def _heard(tmp_path: Path, espeak: Any, texts: list[str]) -> list[str]:
    data = {"title": "Pelvis", "steps": [{"say": t} for t in PELVIS]}
    settings = vg.TrackSettings(format="wav", loudness="off")  # quick: the voice is the same
    result = vg.build_track(vg.Routine.from_dict(data, id="pelvis"), settings, tmp_path,
                            engine=espeak)
    y = decode(result.path)
    heard = []
    for cue in sheet_of(result.path)["cues"]:
        a, b = int((cue["start"] - 0.3) * SR), int((cue["end"] + 0.3) * SR)
        heard.append(transcribe(y[a:b], SR, texts))
    return heard


@pytest.mark.slow
def test_with_the_default_lexicon_pelvis_is_heard_in_the_espeak_track(
        espeak: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "pelvis" in DEFAULT_LEXICONS["en"]
    # the language model: the cue texts of the routines that say "pelvis"
    texts = [t for name in ("five-somatic-hip-exercises", "somatic-awareness")
             for level in ("beginner", "advanced")
             for t in walk_speech(expand(vg.load_routine(name),
                                         vg.TrackSettings(level=level)).root)]
    assert set(PELVIS) <= set(texts)
    heard = _heard(tmp_path / "with", espeak, texts)
    assert all("pelvis" in words(h) for h in heard), heard
    user = tmp_path / "lexicon.yaml"  # the word as written: the lexicon made the difference
    user.write_text("lexicon:\n  pelvis: pelvis\n")
    monkeypatch.setenv("VOICEGUIDE_LEXICON", str(user))
    heard = _heard(tmp_path / "without", espeak, texts)
    assert sum("pelvis" in words(h) for h in heard) < len(PELVIS), heard



def test_a_lexicon_the_environment_names_must_be_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """$VOICEGUIDE_LEXICON pointing at a missing file or a folder was ignored without a
    word (the build went on without the user's pronunciations); it is an error naming
    the file. Without the variable, no lexicon file is fine."""
    routine = ROOT / "tests" / "assets" / "pack" / "reach.yaml"
    argv = ["build", str(routine), "--engine", "test", "--out", str(tmp_path / "out")]
    for named, said in ((tmp_path / "missing.yaml", "no such lexicon file"),
                        (tmp_path, "is a folder")):
        monkeypatch.setenv("VOICEGUIDE_LEXICON", str(named))
        capsys.readouterr()
        assert run_cli(argv) == 3
        err = capsys.readouterr().err
        assert err.startswith(f"Error: {named}") and said in err
    monkeypatch.delenv("VOICEGUIDE_LEXICON")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no lexicon.yaml
    assert run_cli(argv) == 0


def test_a_lexicon_cannot_multiply_the_speech(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """'a' respelled as 98 letters made 500 of them 49,000 characters: three phrases of a
    3 kB file took 24 s and 2.7 GB before the length check, eight an internal
    MemoryError. A respelled phrase may be at most about twice as long as written."""
    routine = tmp_path / "lex.yaml"
    routine.write_text(yaml.safe_dump({"title": "L", "lexicon": {"a": "la" * 49},
                                       "steps": [{"say": " ".join(["a"] * 250)}] * 3}))
    argv = ["build", str(routine), "--engine", "test", "-o", str(tmp_path / "o")]
    assert run_cli(argv) == 3
    err = capsys.readouterr().err
    assert err == f"Error: {routine}:2:3: lexicon: 'a' is said with 98 characters; keep a " \
        "respelling about as long as the word it replaces (at most 66 here)\n", err
    # entries each within the bound still add up in a phrase of nothing else
    routine.write_text(routine.read_text().replace("la" * 49, "la" * 33))
    assert run_cli(argv) == 3
    err = capsys.readouterr().err
    assert err.startswith("Error: the pronunciation lexicon makes the phrase") and \
        "16749 characters long from 499, the most by 'a' (66 characters for 1)" in err, err
    assert not (tmp_path / "o").exists()
    from voiceguide.routine.lexicon import Lexicon, Pronunciation

    said = Lexicon({"pelvis": Pronunciation(espeak="[[p'ElvIs]]")}).spoken(
        "Tilt the pelvis.", "espeak")  # a respelling twice the word's length is fine
    assert said == "Tilt the [[p'ElvIs]]."


def _ipa(text: str) -> str:
    """espeak-ng's phonemes (IPA) for ``text`` in US English."""
    return espeak_phonemes([text], ipa=True)[0]


def test_close_your_eyes_and_a_name_with_a_diaeresis_are_said_right() -> None:
    """A Piper audit: espeak-ng, and Piper through it, said "Close your eyes." with the
    adjective (klˈoʊs, "near"), the most common instruction of eyes-closed guidance,
    and a listener's "Chloë" as "KLAH-eh". An English track gives the engines the verb
    and such a name without the diaeresis; "close" as "near" stays."""
    lexicon = track_lexicon({}, "en", {})
    for text, wrong, right in (("Close your eyes.", "klˈoʊs", "klˈoʊz"),
                               ("Gently close the knees.", "klˈoʊs", "klˈoʊz"),
                               ("Welcome, Chloë.", "klˈɑːɛ", "klˈoʊi"),
                               ("Welcome, Noël.", "nˈɑːɛl", "nˈoʊl")):
        assert wrong in _ipa(text), text  # as the engine would say it unhelped
        said = _ipa(lexicon.spoken(text, "espeak"))
        assert right in said and wrong not in said, (text, said)
        assert lexicon.spoken(text, "piper") == lexicon.spoken(text, "espeak")
    assert lexicon.spoken("Stay close to the floor.", "espeak") == "Stay close to the floor."
    assert track_lexicon({}, "de", {}).spoken("Chloë, schließe die Augen.", "espeak") == \
        "Chloë, schließe die Augen."
    # names espeak says better with their diaeresis keep it (a review: "Anaïs" was
    # "AN-ize" once it went), and a routine's own word wins over a longer default entry
    assert lexicon.spoken("Anaïs, Loïc and Zoë.", "espeak") == "Anaïs, Loïc and Zoë."
    own = track_lexicon({"close": Pronunciation(say="kloze"),
                         "noël": Pronunciation(say="no ell")}, "en", {})
    assert own.spoken("Close your eyes, Noël.", "espeak") == "Kloze your eyes, No ell."


def test_voices_say_speaks_as_a_build_does(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A Piper audit: `voices --say "Sit in a 90-90 position."` was heard as "ninety
    dash ninety", which no build says: the sample went to the engine without the
    lexicons. It goes as a build's phrase does (here a user's respelling, which the
    test engine's length shows)."""
    import wave

    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("lexicon:\n  hip: the hip joint of the body\n")
    monkeypatch.setenv("VOICEGUIDE_LEXICON", str(lexicon))

    def seconds(text: str, out: Path) -> float:
        [path] = vg.voice_samples(text, out, engine="test", voice="tone/low")
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()

    respelt = seconds("Rest the hip.", tmp_path / "a")
    monkeypatch.delenv("VOICEGUIDE_LEXICON")
    assert respelt == seconds("Rest the the hip joint of the body.", tmp_path / "b")
    assert respelt > seconds("Rest the hip.", tmp_path / "c") + 1.0
