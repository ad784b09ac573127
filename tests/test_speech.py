"""Speech: the engine registry, trimming, the phrase bank and its cache (stage: speech)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import voiceguide as vg
from voiceguide.errors import EngineError, UsageError, VoiceNotFoundError
from voiceguide.speech.bank import SpeechBank, trim
from voiceguide.speech.cache import PhraseCache, phrase_key
from voiceguide.speech.engine import get_engine, resolve_voice
from voiceguide.speech.testtone import ToneEngine

SR = 22050


def test_the_registry_names_every_engine() -> None:
    assert {"espeak", "piper", "test"} <= set(vg.engines())
    # a name no engine has is the caller's mistake, as --engine's is (exit 2, not 6)
    with pytest.raises(UsageError, match=r"unknown speech engine 'espek' \(did you mean "
                                          r"'espeak'\?\); use one of espeak, piper$"):
        get_engine("espek")
    with pytest.raises(UsageError, match=r"'tset' \(did you mean 'test'\?\); use one of "
                                          r"espeak, piper$"):
        get_engine("tset")


def test_voices_resolve_by_id_short_id_or_name_and_suggest() -> None:
    engine = ToneEngine()
    assert resolve_voice(engine, None) == "tone/low"
    assert resolve_voice(engine, "high") == "tone/high"
    assert resolve_voice(engine, "Low tone") == "tone/low"
    with pytest.raises(VoiceNotFoundError, match=r"unknown voice 'hgh'.*did you mean 'high'"):
        resolve_voice(engine, "hgh")


def test_a_voice_is_found_by_the_language_voices_lists(espeak: Any) -> None:
    """`--voice en-gb` was unknown though `voiceguide voices` lists en-gb as the language
    of gmw/en, and the README recommends that British voice (a new user's review)."""
    assert resolve_voice(espeak, "en-gb") == resolve_voice(espeak, "EN_GB") == "gmw/en"
    assert resolve_voice(espeak, "en-gb-scotland") == "gmw/en-gb-scotland"
    with pytest.raises(VoiceNotFoundError, match=r"did you mean 'en-us', 'en-gb'\?"):
        resolve_voice(espeak, "en-zz")


def test_trim_keeps_the_voice_and_small_margins() -> None:
    silence = np.zeros(SR // 2, dtype=np.int16)
    tone = (8000 * np.sin(np.arange(SR) * 2 * np.pi * 200 / SR)).astype(np.int16)
    clip = trim(np.concatenate([silence, tone, silence]), SR)
    assert SR <= clip.size <= SR + int(0.02 * SR)  # the tone plus at most 20 ms of margins
    assert trim(np.zeros(SR, dtype=np.int16), SR).size == 0


def test_the_bank_synthesises_each_phrase_once_across_builds(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    engine = ToneEngine()
    first = SpeechBank(engine, "tone/low", 150, cache)
    first.prefetch(["One.", "Two.", "One."])
    assert (first.stats.synthesized, engine.calls) == (2, 2)
    second = SpeechBank(engine, "tone/low", 150, cache)
    assert np.array_equal(second.clip("Two."), first.clip("Two."))
    assert (second.stats.cache_hits, engine.calls) == (1, 2)
    assert first.measure("One.", 1.2) < first.measure("One.")  # faster is shorter


def test_the_cache_key_changes_with_everything_that_changes_the_sound() -> None:
    base = phrase_key("espeak", "1", "en-us", 150, "Hold.", SR)
    assert len({base, phrase_key("espeak", "2", "en-us", 150, "Hold.", SR),
                phrase_key("espeak", "1", "en-gb", 150, "Hold.", SR),
                phrase_key("espeak", "1", "en-us", 151, "Hold.", SR),
                phrase_key("espeak", "1", "en-us", 150, "Hold!", SR),
                phrase_key("test", "1", "en-us", 150, "Hold.", SR)}) == 6


PHRASES = [f"Breathe in slowly, count {n}." for n in range(1, 21)]


def test_engines_side_by_side_give_the_same_clips_as_one(espeak: Any) -> None:
    one = SpeechBank(espeak, espeak.default_voice, 140, None, workers=1)
    two = SpeechBank(espeak, espeak.default_voice, 140, None, workers=2)
    seen: list[tuple[int, int]] = []
    two.prefetch(PHRASES, lambda d, t: seen.append((d, t)))
    one.prefetch(PHRASES)
    assert all(np.array_equal(one.clip(p), two.clip(p)) for p in PHRASES)
    assert two.stats.synthesized == len(PHRASES)  # each phrase spoken once, by one engine
    assert sorted(seen) == seen and seen[-1] == (len(PHRASES), len(PHRASES))


class _Counted(ToneEngine):
    made: ClassVar[list[_Counted]] = []

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        _Counted.made.append(self)

    def synthesize(self, text: str, voice: str, rate: int) -> Any:
        if text == "Broken." and self is not _Counted.made[0]:
            raise EngineError("the test engine broke")
        return super().synthesize(text, voice, rate)

    def close(self) -> None:
        self.closed = True


def test_extra_engines_are_stopped_even_when_one_fails(tmp_path: Path) -> None:
    _Counted.made.clear()
    main = _Counted()
    bank = SpeechBank(main, "tone/low", 150, PhraseCache(tmp_path), workers=2)
    bank.prefetch(PHRASES)  # 20 missing phrases: a second engine helps
    assert len(_Counted.made) == 2 and _Counted.made[1].closed and not main.closed
    assert bank.stats.synthesized == len(PHRASES)
    again = SpeechBank(main, "tone/low", 150, PhraseCache(tmp_path), workers=2)
    again.prefetch(PHRASES)  # all cached: no engine is started
    assert len(_Counted.made) == 2 and again.stats.cache_hits == len(PHRASES)
    broken = SpeechBank(main, "tone/low", 150, None, workers=2)
    with pytest.raises(EngineError, match="broke"):
        broken.prefetch([PHRASES[0], "Broken.", *PHRASES[1:16]])  # the second engine breaks
    assert _Counted.made[2].closed


def test_a_kept_voice_list_comes_back_and_a_damaged_one_is_a_miss(tmp_path: Path) -> None:
    """The voice list kept with the phrase cache is read back as it was written, per
    engine and version; a damaged, oversized or linked file is a miss (the engine is
    asked again), never an error."""
    from voiceguide.speech.cache import MAX_VOICE_LIST_BYTES
    from voiceguide.speech.engine import VoiceInfo

    cache = PhraseCache(tmp_path)
    voices = [VoiceInfo("gmw/en-us", "English (America)", ("en-us", "en"), "M", 22050),
              VoiceInfo("roa/es", "Spanish", ("es",), None, None)]
    assert cache.voices("espeak", "1") is None
    cache.put_voices("espeak", "1", voices)
    assert cache.voices("espeak", "1") == voices
    assert cache.voices("espeak", "2") is None and cache.voices("piper", "1") is None
    path = cache._voices_path("espeak", "1")
    good = b'{"id": "a", "name": "b", "languages": ["en"], "gender": null, "sample_rate": '
    for damage in (b"[{\"id\": 3}]", b"not json", b"{}", b"[]",
                   b"[" + b" " * MAX_VOICE_LIST_BYTES + b"]",
                   b"[" * 100_000,  # nested past the parser's recursion limit
                   b"[" + good + b"1e400}]",  # no int for an infinite rate
                   b"[" + good.replace(b'["en"]', b'"en"') + b"22050}]"):  # not a list
        path.write_bytes(damage)
        assert cache.voices("espeak", "1") is None
    path.unlink()
    (tmp_path / "elsewhere.json").write_text("[]")
    path.symlink_to(tmp_path / "elsewhere.json")
    assert cache.voices("espeak", "1") is None


def test_phrase_locks_from_many_threads_leave_the_warning_filters_alone() -> None:
    """Each phrase written takes a file lock; a cold build writes from several threads.
    The lock's import hid its warnings by swapping the process's warning filters on every
    call, and two threads doing so at once left every warning of the process ignored."""
    import threading
    import warnings

    from voiceguide.speech import cache

    before = list(warnings.filters)

    def lock_many() -> None:
        for _ in range(50_000):
            cache._filelock()

    threads = [threading.Thread(target=lock_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert warnings.filters == before


def test_one_engine_shared_by_threads_speaks_every_phrase(espeak: Any) -> None:
    """An app that keeps one engine for its server's threads: phrases spoken from two
    threads at once come back whole and the same as when spoken one after another (the
    worker has one pipe; threads shared its counter and its file names)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Phrase number {i}, spoken while another thread speaks." for i in range(12)]
    alone = [espeak.synthesize(t, espeak.default_voice, 140).tobytes() for t in texts]
    with ThreadPoolExecutor(2) as pool:
        shared = list(pool.map(
            lambda t: espeak.synthesize(t, espeak.default_voice, 140).tobytes(), texts))
    assert shared == alone


def test_an_engines_temporary_folder_does_not_outlive_its_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Dask run and every stopped pack left voiceguide-espeak-* folders behind
    (hundreds in a shared /tmp): a process that never closes its engine now removes its
    folder at exit, and one that was killed has its folder removed by the next engine to
    start, once nobody holds its lock; a folder in use by a process the pid cannot see
    (another pid namespace or machine) is kept, and no folder name breaks a build."""
    import subprocess
    import sys
    import tempfile

    from voiceguide.speech.worker import ALIVE, SETTLE, TMP_PREFIX, SpeechFolder

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    code = ("from voiceguide.speech.engine import get_engine\n"
            "e = get_engine('espeak')\n"
            "e.synthesize('Hello.', 'gmw/en-us', 140)\n"
            "import pathlib, tempfile\n"
            "print(len(list(pathlib.Path(tempfile.gettempdir()).glob('voiceguide-*'))))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "1"  # its folder while it ran, never closed
    assert list(tmp_path.iterdir()) == []  # and gone at exit

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = SETTLE + 60

    def left(name: str, held: bool = False) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / ALIVE).touch()
        os.utime(folder, (os.path.getmtime(folder) - old,) * 2)
        return folder

    killed = left(f"{TMP_PREFIX}espeak-123-a")  # its process gone, nobody holds the lock
    odd = left(f"{TMP_PREFIX}espeak-99999999999999999999999-b")  # made an OverflowError
    young = tmp_path / f"{TMP_PREFIX}espeak-1-c"  # just made: not locked yet
    young.mkdir()
    in_use = SpeechFolder("espeak")  # a live client, whatever pid its name says
    os.utime(in_use.path, (os.path.getmtime(in_use.path) - old,) * 2)
    holder = subprocess.Popen(  # another process holding its folder's lock
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(left(TMP_PREFIX + 'espeak-4242-d') / ALIVE)!r}, os.O_RDONLY)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        mine = SpeechFolder("espeak")
        assert not killed.exists() and not odd.exists()
        assert young.exists() and in_use.path.exists() and mine.path.is_dir()
        assert (tmp_path / f"{TMP_PREFIX}espeak-4242-d").exists()
    finally:
        holder.kill()
        holder.wait()
    mine.remove()
    in_use.remove()
    assert not mine.path.exists() and not in_use.path.exists()
