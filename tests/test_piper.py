"""The Piper neural engine (issue 15): voice files checked before any work, identity in
the cache key and input hashes, the shared worker, and real tracks measured by ear
(heard rate, speech recognition) against espeak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, build, decode, run_cli, sheet_of
from voiceguide.errors import EngineError, VoiceNotFoundError
from voiceguide.speech import piper as piper_mod
from voiceguide.speech.piper import PiperEngine, bundled_voices, check_voice_file

pytestmark = pytest.mark.shared_phrases

SR = 22050
BUNDLED = bundled_voices()["en_US-joe-medium"]
RATE = 140
OPENING_MINUTES = 2.0
"""How much of the default routine the recognition test listens to."""


def _voice(folder: Path, config: dict[str, Any] | str | None = None,
           model: bytes = b"\x08" + bytes(4095)) -> Path:
    """A voice whose config is ``config`` (default: the bundled voice's) and whose model is
    a stand-in (the checks read the model's size and first byte only)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / "xx_XX-test-low.onnx"
    onnx.write_bytes(model)
    if config is None:
        config = json.loads(BUNDLED.with_name(BUNDLED.name + ".json").read_text())
    if config != "":
        text = config if isinstance(config, str) else json.dumps(config)
        onnx.with_name(onnx.name + ".json").write_text(text)
    return onnx


def _bundled_config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLED.with_name(BUNDLED.name + ".json").read_text())
    return data


# ---- voice files, checked before any work ---------------------------------------------

def test_a_good_voice_file_is_read_for_rate_language_and_name(tmp_path: Path) -> None:
    vf = check_voice_file(_voice(tmp_path))
    assert (vf.sample_rate, vf.language, vf.name, vf.speakers) == (22050, "en-us",
                                                                   "joe (medium)", 1)


def _broken(field: str, value: Any) -> dict[str, Any]:
    cfg = _bundled_config()
    target = cfg
    *parents, last = field.split(".")
    for p in parents:
        target = target[p]
    target[last] = value
    return cfg


@pytest.mark.parametrize(("config", "message"), [
    ("", r"xx_XX-test-low\.onnx\.json: no such file: a Piper voice needs its config next to "
         r"the model; download xx_XX-test-low\.onnx\.json too"),
    ("{not json", r"xx_XX-test-low\.onnx\.json: not valid JSON"),
    ("[1, 2]", r"\(top level\): must be a JSON object"),
    (_broken("audio.sample_rate", 4000), r"audio\.sample_rate: must be between 8000 and 48000 "
                                         r"\(got 4000\)"),
    (_broken("audio.sample_rate", "22050"), r"audio\.sample_rate: must be a whole number"),
    (_broken("num_symbols", 10), r"phoneme_id_map\[.*\]: must list ids from 0 to "
                                 r"num_symbols - 1 \(9\)"),
    (_broken("num_speakers", 0), r"num_speakers: must be between 1 and 10000 \(got 0\)"),
    (_broken("phoneme_type", "pinyin"), r"phoneme_type: must be one of espeak, text"),
    (_broken("espeak", {}), r"espeak\.voice: must name an espeak-ng voice"),
], ids=["missing", "not-json", "not-object", "rate-range", "rate-type", "ids-range",
        "speakers", "phoneme-type", "espeak-voice"])
def test_a_broken_voice_config_is_refused_naming_the_field(tmp_path: Path, config: Any,
                                                           message: str) -> None:
    with pytest.raises(VoiceNotFoundError, match=message):
        check_voice_file(_voice(tmp_path, config))


def test_voice_files_are_bounded_before_they_are_read(tmp_path: Path) -> None:
    huge = tmp_path / "big"
    onnx = _voice(huge)
    onnx.with_name(onnx.name + ".json").write_bytes(b" " * (piper_mod.MAX_CONFIG_BYTES + 1))
    with pytest.raises(VoiceNotFoundError, match=r"Piper voice config file is 4194305 bytes, "
                                                 r"more than the 4194304 allowed"):
        check_voice_file(onnx)
    with pytest.raises(VoiceNotFoundError, match=r"not an ONNX model"):
        check_voice_file(_voice(tmp_path / "text", model=b"<html>" + bytes(4000)))
    with pytest.raises(VoiceNotFoundError, match=r"Piper voice model is 10 bytes; expected"):
        check_voice_file(_voice(tmp_path / "tiny", model=b"\x08" * 10))
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "v.onnx")
    with pytest.raises(VoiceNotFoundError, match=r"is a FIFO \(named pipe\), not a Piper "
                                                 r"voice model file"):
        check_voice_file(fifo / "v.onnx")


def test_a_bad_voice_stops_the_build_with_one_error_line_before_any_work(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "en_GB-alba-medium.onnx"
    code = run_cli(["build", "morning-hips", "--engine", "piper", "--voice", str(missing),
                    "-o", str(tmp_path / "out")])
    err = capfd.readouterr().err.strip()
    assert code == 7
    assert err == f"Error: {missing}: no such Piper voice model file"
    bad = _voice(tmp_path / "v", _broken("audio.sample_rate", 0))
    assert run_cli(["build", "morning-hips", "--engine", "piper", "--voice", str(bad),
                    "-o", str(tmp_path / "out")]) == 7
    err = capfd.readouterr().err.strip()
    assert err.startswith(f"Error: {bad}.json: audio.sample_rate: must be between 8000")
    assert "\n" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_voice_file_with_another_engine_points_at_piper(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    onnx = _voice(tmp_path)
    assert run_cli(["build", "morning-hips", "--voice", str(onnx), "-o", str(tmp_path)]) == 7
    assert capfd.readouterr().err.strip() == (
        f"Error: unknown voice '{onnx}' for the espeak engine (a .onnx voice file is for "
        "--engine piper); list the voices with 'voiceguide voices'")


def test_without_the_neural_extra_piper_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(piper_mod, "_available", lambda: False)
    code = run_cli(["build", "morning-hips", "--engine", "piper", "-o", str(tmp_path)])
    assert code == 6
    assert capfd.readouterr().err.strip() == (
        "Error: the piper speech engine is not installed; install it with: "
        "pip install 'voiceguide[neural]'")


def test_voices_without_the_extra_lists_espeak_and_notes_how_to_add_piper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguide.speech.voices import find_voices

    monkeypatch.setattr(piper_mod, "_available", lambda: False)
    found, notes = find_voices(lang="en-us")
    assert {v.engine for v in found} == {"espeak"}
    assert notes == ["piper: the piper speech engine is not installed; install it with: "
                     "pip install 'voiceguide[neural]'"]


def test_importing_the_engine_loads_neither_piper_nor_onnxruntime() -> None:
    code = ("import sys, voiceguide as vg; vg.engines(); import voiceguide.speech.piper\n"
            "bad = [m for m in ('piper', 'onnxruntime', 'numpy') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---- identity: phrase cache key and input hashes ---------------------------------------

def test_the_voice_files_hash_is_the_identity_and_reaches_the_input_hashes(
        tmp_path: Path) -> None:
    import voiceguide as vg
    from voiceguide.speech.engine import voice_identity

    engine = PiperEngine()
    onnx = _voice(tmp_path)
    first = engine.identity(str(onnx))
    assert voice_identity("piper", str(onnx)) == f"{engine.version}/{first}"
    request = vg.track_request("morning-hips", {"engine": "piper", "voice": str(onnx)})
    cfg = onnx.with_name(onnx.name + ".json")
    cfg.write_text(cfg.read_text().replace('"noise_w": 0.8', '"noise_w": 0.7'))
    assert PiperEngine().identity(str(onnx)) != first  # a changed config is another voice
    again = vg.track_request("morning-hips", {"engine": "piper", "voice": str(onnx)})
    assert again.input_hash != request.input_hash
    assert "onnxruntime-" in engine.version and "piper-tts-" in engine.version


# ---- the shared worker client ------------------------------------------------------------

def test_a_killed_worker_is_replaced(espeak: Any) -> None:
    before = espeak.synthesize("Rest.", "gmw/en-us", 140)
    proc = espeak._worker._proc  # the running worker process
    proc.proc.kill()
    proc.proc.wait()
    assert np.array_equal(espeak.synthesize("Rest.", "gmw/en-us", 140), before)


@pytest.mark.parametrize("mode", ["crash-once", "hang-once"])
def test_a_crash_or_hang_is_retried_once_in_a_fresh_worker(tmp_path: Path, mode: str) -> None:
    from voiceguide.speech.worker import WorkerClient

    client = WorkerClient("flaky", "tests.flaky_worker", (mode, str(tmp_path / "m")),
                          "do this", 20.0)
    try:
        spoken = client.speak({}, "Rest.", timeout=1.0)
        assert (len(spoken.frames), spoken.sample_rate, client.restarts) == (3200, 16000, 1)
    finally:
        client.close()
    assert _running("tests.flaky_worker") == []  # the hanging phrase's fork is gone too


def test_a_worker_failing_twice_is_one_clear_error(tmp_path: Path) -> None:
    from voiceguide.speech.worker import WorkerClient

    client = WorkerClient("flaky", "tests.flaky_worker", ("always-crash", str(tmp_path / "m")),
                          "reinstall it", 20.0)
    with pytest.raises(EngineError, match=r'^the flaky engine failed to speak "Rest\." twice '
                                          r"\(the engine process died \(.*\)\); reinstall it$"):
        client.speak({}, "Rest.", timeout=5.0)
    client.close()


def _running(module: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and module.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


# ---- real Piper speech ------------------------------------------------------------------

@pytest.fixture(scope="module")
def piper() -> Any:
    engine = PiperEngine()
    yield engine
    engine.close()


@pytest.mark.slow
def test_a_phrase_sounds_the_same_whatever_was_spoken_before(piper: Any) -> None:
    text = "Breathe in slowly through the nose."
    first = piper.synthesize(text, piper.default_voice, 140)
    piper.synthesize("Let the knees sway to the left.", piper.default_voice, 120)
    piper.close()  # and in a fresh worker
    again = piper.synthesize(text, piper.default_voice, 140)
    assert first.size > 0.8 * SR and np.array_equal(first, again)


def test_sentences_of_one_phrase_are_heard_apart_at_the_fastest_rate(piper: Any) -> None:
    """The timeline keeps sentences 0.4 s apart; inside one Piper phrase, at --rate 300,
    the pause and the sentences' silent edges left 0.389 s between "Let gravity do the
    work." and "Stay here." (a listening audit). Measured as the build trims a clip:
    5 ms frames under -48 dBFS."""
    from voiceguide.speech.bank import TRIM_FRAME, TRIM_THRESHOLD_DB, trim

    for rate in (300, 140):
        clip = trim(piper.synthesize("Let gravity do the work. Stay here.",
                                     piper.default_voice, rate), SR)
        n = int(TRIM_FRAME * SR)
        frames = clip[: clip.size // n * n].astype(np.float64).reshape(-1, n) / 32768
        heard = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 10 ** (TRIM_THRESHOLD_DB / 20))
        longest = float((np.diff(heard) - 1).max()) * n / SR  # the silence between them
        assert longest >= 0.4, (rate, longest)


def test_voices_lists_every_installed_engine_by_language(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["voices", "--lang", "en", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["voices"]
    assert {"espeak", "piper"} == {v["engine"] for v in listed}
    assert all(any(lang == "en" or lang.startswith("en-") for lang in v["languages"])
               for v in listed)
    joe = next(v for v in listed if v["engine"] == "piper")
    assert (joe["id"], joe["languages"], joe["sample_rate"]) == ("en_US-joe-medium",
                                                                 ["en-us"], 22050)
    assert run_cli(["voices", "--lang", "vi", "--json"]) == 0
    vi = json.loads(capsys.readouterr().out)["voices"]
    assert vi and all(v["languages"][0].startswith("vi") for v in vi)


def test_voices_say_writes_a_sample_per_voice(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["voices", "--lang", "en-us", "--say", "Let the breath slow down.",
                    "-o", str(tmp_path), "--json"]) == 0
    samples = [Path(p) for p in json.loads(capsys.readouterr().out)["samples"]]
    assert {p.name for p in samples} == {"espeak-en-us.wav", "espeak-en-us-nyc.wav",
                                         "piper-en_US-joe-medium.wav"}
    for p in samples:
        with wave.open(str(p)) as w:
            assert w.getframerate() == 22050
        y = decode(p)
        assert 1.0 < y.size / SR < 4.0 and np.abs(y).max() > 0.1


def _relabelled(folder: Path, rate: int) -> Path:
    """The bundled model (linked, not copied) with a config that says ``rate`` Hz."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / f"en_US-test{rate}-low.onnx"
    onnx.symlink_to(BUNDLED)
    cfg = _bundled_config()
    cfg["audio"]["sample_rate"] = rate
    onnx.with_name(onnx.name + ".json").write_text(json.dumps(cfg))
    return onnx


@pytest.mark.slow
def test_a_voice_keeps_its_native_rate_end_to_end_or_is_resampled_once(
        tmp_path: Path, piper: Any) -> None:
    from mutagen.mp3 import MP3

    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Breathe in.\n  - pause: 1\n"
                       "  - say: And breathe out.\n")
    v16 = _relabelled(tmp_path / "v16", 16000)
    result = build(routine, tmp_path / "out", cache=False, engine="piper", voice=str(v16))
    assert result.timeline.sample_rate == 16000 and MP3(result.path).info.sample_rate == 16000
    decoded = decode(result.path).size / SR
    assert abs(decoded - sheet_of(result.path)["duration"]) <= 0.050
    v20 = str(_relabelled(tmp_path / "v20", 20000))  # no output format takes 20 kHz
    assert piper.sample_rate(v20) == 22050
    native = piper.synthesize("Breathe in.", piper.default_voice, RATE)
    resampled = piper.synthesize("Breathe in.", v20, RATE)
    assert abs(resampled.size - native.size * 22050 / 20000) <= 2


# ---- real tracks: heard rate and intelligibility, espeak against Piper ----------------

@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The opening of the default routine (its first two sections, about four minutes)
    built with each engine at the same --rate; decoded."""
    folder = tmp_path_factory.mktemp("opening")
    doc = yaml.safe_load((ROOT / "routines" / "five-somatic-hip-exercises.yaml").read_text())
    doc["steps"] = doc["steps"][:2]
    doc.pop("length", None)
    routine = folder / "opening.yaml"
    routine.write_text(yaml.safe_dump(doc, sort_keys=False))
    built = {}
    for engine in ("espeak", "piper"):
        result = build(routine, folder / engine, cache=False, engine=engine, rate=RATE)
        built[engine] = (result, decode(result.path), sheet_of(result.path))
    return built


def _heard_wpm(sheet: dict[str, Any]) -> float:
    cues = [c for c in sheet["cues"] if c["kind"] == "speech"]
    return sum(len(c["text"].split()) for c in cues) / sum(c["end"] - c["start"]
                                                           for c in cues) * 60


@pytest.mark.slow
def test_rate_means_the_same_heard_speed_with_both_engines(opening: dict[str, Any]) -> None:
    espeak, piper = (_heard_wpm(opening[e][2]) for e in ("espeak", "piper"))
    print(f"heard words per minute at --rate {RATE}: espeak {espeak:.1f}, piper {piper:.1f}")
    assert abs(piper - espeak) <= 0.10 * espeak
    assert abs(piper - RATE) <= 0.10 * RATE


@pytest.mark.slow
def test_piper_is_recognised_at_least_as_well_as_espeak(opening: dict[str, Any]) -> None:
    from tests.asr import transcribe, wer

    texts = [c["text"] for c in opening["espeak"][2]["cues"] if c["kind"] == "speech"]
    rates = {}
    for engine, (_, y, sheet) in opening.items():
        cues = [c for c in sheet["cues"] if c["kind"] == "speech"
                and c["end"] <= OPENING_MINUTES * 60]
        end = cues[-1]["end"] + 0.3
        heard = transcribe(y[: int(end * SR)], SR, texts)
        rates[engine] = wer(" ".join(c["text"] for c in cues), heard)
    print(f"word error rates over the first {OPENING_MINUTES:g} minutes: {rates}")
    assert rates["piper"] <= rates["espeak"]
    assert rates["piper"] <= 0.12


@pytest.mark.slow
def test_the_phrase_cache_keeps_espeak_and_piper_clips_apart(tmp_path: Path) -> None:
    from voiceguide import PhraseCache

    cache = PhraseCache(tmp_path / "cache")
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Breathe in.\n  - pause: 1\n"
                       "  - say: And breathe out.\n")
    first = build(routine, tmp_path / "e", cache=cache, engine="espeak")
    piper = build(routine, tmp_path / "p", cache=cache, engine="piper")
    assert first.stats.synthesized == 2 and piper.stats.synthesized == 2
    assert piper.stats.cache_hits == 0
    again = build(routine, tmp_path / "p2", cache=cache, engine="piper")
    assert again.stats.synthesized == 0 and again.stats.cache_hits == 2
    assert again.path.read_bytes() == piper.path.read_bytes()
    assert cache.info().entries == 4
