"""Mixing: clip placement, the limiter, BS.1770 loudness, seamless beds (stage: mix)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide import TrackSettings
from voiceguide.mix.loudness import LoudnessMeter
from voiceguide.mix.master import limit
from voiceguide.mix.mixer import Mixer
from voiceguide.mix.sounds import BEDS, builtin_bed, chime
from voiceguide.timeline import Cue, Timeline

SR = 22050


def test_a_clip_lands_on_its_exact_sample() -> None:
    clip = np.full(100, 10000, dtype=np.int16)
    tl = Timeline(SR, SR * 25, [Cue(12345, 12445, "speech", "x", 1.0, "")])
    mixer = Mixer(tl, {("x", 1.0): clip}, {}, TrackSettings(loudness="off"), None)
    y = np.concatenate(list(mixer.chunks()))
    assert y.size == tl.total  # chunks cover the track exactly, across chunk borders
    assert np.flatnonzero(y)[0] == 12345 and np.flatnonzero(y)[-1] == 12444


@settings(max_examples=8, deadline=None)
@given(st.floats(0.37, 7.3), st.integers(0, SR * 20))
def test_the_mix_is_the_same_however_it_is_cut(seconds: float, at: int) -> None:
    """Chunks of any length, and a stretch rendered on its own (as the loudness excerpt
    is), give the very samples of the track: the bed's ducking ramps sit on the track's
    grid, not on where a chunk starts."""
    rng = np.random.default_rng(3)
    clip = rng.normal(0, 9000, SR * 2).clip(-32768, 32767).astype(np.int16)
    tl = Timeline(SR, SR * 24, [Cue(s * SR + 37, s * SR + 37 + clip.size, "speech", "x",
                                    1.0, "") for s in (2, 9, 17)])
    mixer = Mixer(tl, {("x", 1.0): clip}, {}, TrackSettings(loudness=-16),
                  builtin_bed("rain", SR))
    mixer.normalise()
    whole = np.concatenate(list(mixer.chunks()))
    assert np.array_equal(np.concatenate(list(mixer.chunks(seconds))), whole)
    n = 4321
    bare = np.concatenate([mixer.render(a, min(tl.total, a + 5000))
                           for a in range(0, tl.total, 5000)])
    assert np.array_equal(mixer.render(at, at + n), bare[at : at + n])


def test_limited_clips_moved_to_a_file_for_the_encode_mix_the_same() -> None:
    """A long track's limited clip stretches go to a temporary file while it is encoded
    (memory): the mix read back from it is the same to the bit, before and after they
    are taken back into memory."""
    import tempfile

    rng = np.random.default_rng(4)
    def clip(seconds: int) -> np.ndarray:  # speech-like: a steady body, sharp peaks
        x = rng.normal(0, 3000, SR * seconds)
        x[::1500] = 30000
        return x.clip(-32768, 32767).astype(np.int16)

    clips = {(f"x{i}", 1.0): clip(i + 1) for i in range(3)}
    cues = [Cue(s * SR, s * SR + clips[(f"x{s % 3}", 1.0)].size, "speech", f"x{s % 3}",
                1.0, "") for s in range(0, 40, 4)]
    mixer = Mixer(Timeline(SR, SR * 44, cues), clips, {}, TrackSettings(loudness=-12),
                  builtin_bed("rain", SR))
    mixer.normalise()
    assert mixer.voice._limited()  # loud enough that the clip limiter changed them
    before = np.concatenate(list(mixer.chunks(3.3)))
    with tempfile.TemporaryFile() as f:
        mixer.forget_trials(f)
        assert f.tell() > 0
        # nothing in memory still holds the values that went to the file
        assert all(p.values.size == 0 and p.values.base is None
                   for p in mixer.voice._limited().values())
        assert np.array_equal(np.concatenate(list(mixer.chunks(2.9))), before)
        mixer.unspill()
    assert np.array_equal(np.concatenate(list(mixer.chunks())), before)


def test_the_limiter_never_passes_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    x = (1.8 * np.sin(np.arange(SR) * 2 * np.pi * 300 / SR)).astype(np.float32)
    assert np.max(np.abs(limit(x, 0.8, SR))) <= 0.8 + 1e-6
    quiet = (x * 0.2).astype(np.float32)
    assert np.array_equal(limit(quiet, 0.8, SR), quiet)


def test_the_meter_reads_a_full_scale_997_hz_sine_at_minus_3_lufs() -> None:
    meter = LoudnessMeter(48000)
    t = np.arange(48000 * 10) / 48000
    meter.feed(np.sin(2 * np.pi * 997 * t))  # the reference signal of BS.1770
    assert abs(meter.integrated() - (-3.01)) < 0.05


def test_normalising_meets_the_target_on_speech_like_audio() -> None:
    rng = np.random.default_rng(1)
    clip = (rng.normal(0, 2000, SR * 2)).astype(np.int16)
    cues = [Cue(s * SR, s * SR + clip.size, "speech", "x", 1.0, "") for s in range(0, 30, 3)]
    tl = Timeline(SR, SR * 32, cues)
    mixer = Mixer(tl, {("x", 1.0): clip}, {}, TrackSettings(loudness=-18), None)
    predicted = mixer.normalise()
    meter = LoudnessMeter(SR)
    for chunk in mixer.chunks():
        meter.feed(chunk)
    assert predicted is not None and abs(meter.integrated() + 18) < 0.2


def test_a_second_solve_meets_a_moved_target_with_a_trial_less_and_as_metered() -> None:
    """Mastering solves, tries the codec on an excerpt, then meets the target the codec
    moved: the second solve starts from the first one's gain and loudness (nothing else
    moved), so it measures no trial at that gain again; and the mix it sets meets the
    moved target on the meter."""
    from voiceguide.mix.loudness import LoudnessModel

    rng = np.random.default_rng(4)
    clip = (rng.normal(0, 2500, SR * 2) * np.hanning(SR * 2)).astype(np.int16)
    cues = [Cue(s * SR, s * SR + clip.size, "speech", "x", 1.0, "") for s in range(1, 40, 4)]
    mixer = Mixer(Timeline(SR, SR * 44, cues), {("x", 1.0): clip}, {},
                  TrackSettings(loudness=-16), builtin_bed("rain", SR))
    gains: list[float] = []
    real = LoudnessModel.loudness

    def counted(model: LoudnessModel) -> float:
        gains.append(mixer.gain)
        return real(model)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LoudnessModel, "loudness", counted)
        assert mixer.normalise() is not None
        rough, gain = len(gains), mixer.gain
        mixer.target = -15.5
        level = mixer.normalise()
    assert level is not None and gain not in gains[rough:]
    meter = LoudnessMeter(SR)
    for chunk in mixer.chunks():
        meter.feed(chunk)
    assert abs(meter.integrated() + 15.5) < 0.2


def test_the_loudness_model_predicts_a_heavily_limited_mix() -> None:
    """A trial does not filter the limited clips again: it scales each clip's weighted
    energy by the clip limiter's gain squared. At gains where the limiter works on most
    of the speech, the prediction still matches the BS.1770 meter on the rendered mix."""
    from voiceguide.mix.loudness import LoudnessModel
    from voiceguide.mix.master import db

    rng = np.random.default_rng(11)
    t = np.arange(3 * SR) / SR
    body = rng.normal(0, 2500, t.size) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    body[:: SR // 9] = 26000  # syllable-like peaks
    clip = body.clip(-32768, 32767).astype(np.int16)
    cues = [Cue(s * SR, s * SR + clip.size, "speech", "x", 1.0, "") for s in range(1, 40, 5)]
    mixer = Mixer(Timeline(SR, SR * 44, cues), {("x", 1.0): clip}, {},
                  TrackSettings(loudness=-16), builtin_bed("rain", SR))
    model = LoudnessModel(mixer)
    for gain_db in (4.0, 8.0, 12.0):
        mixer.set_gain(db(gain_db))
        lim = mixer.voice.limiter_gain(("x", 1.0))
        assert lim is not None and np.mean(lim < 1) > (0.3 if gain_db > 5 else 0.0)
        meter = LoudnessMeter(SR)
        for chunk in mixer.chunks():
            meter.feed(chunk)
        assert abs(model.loudness() - meter.integrated()) < 0.02, gain_db


def test_a_workers_next_track_works_out_no_clip_it_has_seen_and_mixes_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack's worker builds track after track of mostly the same phrases: a clip's
    K-weighted energies and true-peak envelope are worked out once per process (by its
    samples, whatever its key), and the loudness predicted and the samples mixed are
    the same as in a process that never saw it. The memos stay within their bounds,
    the most recently used kept."""
    from voiceguide.mix import loudness, voice
    from voiceguide.mix.memo import ClipMemo

    rng = np.random.default_rng(5)
    clips = {(f"x{i}", 1.0): (rng.normal(0, 3000, SR * (i + 1)) * (1 + 9 * (i == 1))
                              ).clip(-32768, 32767).astype(np.int16) for i in range(3)}
    cues = [Cue(SR * (1 + 5 * i), SR * (1 + 5 * i) + SR * (i + 1), "speech", f"x{i}", 1.0,
                "") for i in range(3)]

    def mixed(keys: dict[tuple[str, float], Any]) -> tuple[float, bytes]:
        mixer = Mixer(Timeline(SR, SR * 20, cues), keys, {}, TrackSettings(loudness=-16),
                      builtin_bed("rain", SR))
        level = mixer.normalise()
        assert level is not None
        return level, b"".join(c.tobytes() for c in mixer.chunks())

    monkeypatch.setattr(loudness, "MEMO", ClipMemo(8 << 20))
    monkeypatch.setattr(voice, "PEAKS", ClipMemo(0))
    fresh = mixed(clips)  # a single build: keeps no envelopes beyond itself
    assert voice.PEAKS.held == 0
    voice.keep_peaks()  # a pack's worker
    assert mixed(clips) == fresh
    filtered: list[int] = []
    enveloped: list[int] = []
    real_filter, real_envelope = loudness.k_filter, voice.peak_envelope
    monkeypatch.setattr(loudness, "k_filter",
                        lambda x, rate: filtered.append(x.size) or real_filter(x, rate))
    monkeypatch.setattr(voice, "peak_envelope", lambda x, floor=0.0: (
        enveloped.append(x.size) if floor == 0.0 else None) or real_envelope(x, floor))
    assert mixed({key: pcm.copy() for key, pcm in clips.items()}) == fresh
    assert filtered == [] and enveloped == []  # the same samples: none worked out again
    changed = {**clips, ("x2", 1.0): (clips[("x2", 1.0)] // 2).astype(np.int16)}
    mixed(changed)
    assert filtered == [3 * SR] and enveloped == [3 * SR]  # only the clip that changed
    memo: ClipMemo[int] = ClipMemo(20)
    for i in range(5):
        memo.put(bytes([i]), i, 8)
    assert memo.held <= 20 and memo.keys() == [bytes([3]), bytes([4])]
    assert memo.get(bytes([3])) == 3 and memo.keys() == [bytes([4]), bytes([3])]


def test_built_in_beds_loop_without_a_seam_and_chimes_end_silent() -> None:
    for name in BEDS:
        loop = builtin_bed(name, SR)
        steps = np.abs(np.diff(loop))
        assert abs(float(loop[0] - loop[-1])) <= np.percentile(steps, 99.9), name
    bell = chime("bell", 3.0, SR)
    assert abs(bell[-1]) < 1e-3 and np.max(np.abs(bell)) == 1.0


def test_numpy_filters_match_the_reference_implementations() -> None:
    """The mixer's own K-weighting (whole and streamed), running min and mean, and 4x
    oversampled peaks give what pyloudnorm's coefficients through scipy's recursive
    filter, scipy.ndimage and scipy.signal give (scipy is only a test dependency: a build
    does not import it)."""
    import pyloudnorm
    from scipy import ndimage, signal

    from voiceguide.mix import dsp

    sr = 22050
    meter = pyloudnorm.Meter(sr)
    sos = np.array([np.concatenate([f.b, f.a]) for f in meter._filters.values()])
    assert np.allclose(dsp.k_weighting(sr), sos, rtol=1e-12, atol=0)
    x = np.random.default_rng(1).standard_normal(3 * sr)
    ref = signal.sosfilt(sos, np.concatenate([x, np.zeros(dsp.impulse_length(sr) - 1)]))
    assert np.abs(dsp.k_filter(x, sr) - ref).max() < 1e-9
    hi = 48000  # the impulse kept is as long in time at any rate
    sos_hi = np.array([np.concatenate([f.b, f.a])
                       for f in pyloudnorm.Meter(hi)._filters.values()])
    x_hi = np.random.default_rng(2).standard_normal(hi)
    ref_hi = signal.sosfilt(sos_hi, np.concatenate([x_hi, np.zeros(dsp.impulse_length(hi) - 1)]))
    assert np.abs(dsp.k_filter(x_hi, hi) - ref_hi).max() < 1e-9
    stream = dsp.KFilter(sr)
    chunked = np.concatenate([stream(x[i : i + 5000]) for i in range(0, x.size, 5000)])
    assert np.abs(chunked - ref[: x.size]).max() < 1e-9
    from voiceguide.mix.master import _held

    need = np.ones(x.size)
    over = np.flatnonzero(x > 1.5)  # one sample in 15 over, as a limiter sees them
    need[over] = 1.5 / x[over]
    for half in (1, 220, 441):
        assert np.array_equal(_held(x.size, over, need[over], half),
                              ndimage.minimum_filter1d(need, size=2 * half + 1, mode="nearest"))
    for size in (2, 25, 220):
        assert np.allclose(dsp.running_mean(x, size),
                           ndimage.uniform_filter1d(x, size=size, mode="nearest"), atol=1e-12)
    taps = signal.firwin(49, 0.25, window=("kaiser", 5.0))
    assert np.allclose(dsp.firwin_kaiser(49, 0.25, 5.0), taps, rtol=0, atol=1e-15)
    x32 = (0.3 * x).astype(np.float32)
    up = np.abs(signal.upfirdn(taps * 4, x32, 4)[24 : 24 + 4 * x32.size])
    peaks = np.maximum.reduce([up[p::4] for p in range(4)])
    assert np.abs(dsp.oversampled_peaks(x32, (taps * 4).astype(np.float32), 4, 1000)
                  - peaks).max() < 1e-5


def test_the_true_peak_screen_gives_the_exhaustive_result_above_its_floor() -> None:
    """``peak_envelope`` with a floor skips quiet stretches; wherever the exhaustive 4x
    envelope passes the floor it is the same to the bit, and the stream scan finds the
    same overs however the stream is chunked."""
    from voiceguide.mix.master import peak_envelope, stream_overs

    rng = np.random.default_rng(5)
    t = np.arange(20 * SR) / SR
    bursts = (np.sin(2 * np.pi * t / 3.0) > 0.6) * 0.8 + 0.05  # loud bursts in quiet
    x = (bursts * np.sin(2 * np.pi * 2500 * t + rng.uniform(0, 6, t.size) * 0.3)
         ).astype(np.float32)
    exact = peak_envelope(x)
    for floor in (0.3, 0.6, 0.75):
        screened = peak_envelope(x, floor)
        hot = exact > floor
        assert 0 < hot.sum() < x.size
        assert np.array_equal(screened[hot], exact[hot])
        assert np.all(screened[~hot] <= floor)
        peak, overs = stream_overs([x[i : i + 12345] for i in range(0, x.size, 12345)], floor)
        assert peak == float(exact.max())
        firsts = np.flatnonzero(np.diff(np.r_[0, hot.astype(np.int8)]) == 1)
        assert [a for a, _, _ in overs] == [int(f) for f in firsts
                                           if f == firsts[0] or not hot[max(0, f - 2205) : f].any()]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ceiling=st.sampled_from([0.85, 0.9, 0.95]))
def test_the_stream_scan_is_the_whole_signals_however_chunked(seed: int,
                                                              ceiling: float) -> None:
    """The delivery check scans decoded audio as it streams: its true peak and its overs
    are those of the whole signal, for chunks of any size (a sample near a chunk's end
    is judged only once what follows it has arrived)."""
    from voiceguide.mix.master import OVER_GAP, peak_envelope, stream_overs

    rng = np.random.default_rng(seed)
    t = np.arange(40_000)  # near Nyquist, where a cut chunk rings highest if judged alone
    x = (0.85 * np.sin(2 * np.pi * 0.45 * t + rng.uniform(0, 6))
         + rng.standard_normal(t.size) * 0.02).astype(np.float32)
    exact = peak_envelope(x)
    hot = np.flatnonzero(exact > ceiling)
    groups = np.split(hot, np.flatnonzero(np.diff(hot) > OVER_GAP) + 1) if hot.size else []
    expected = [(int(g[0]), int(g[-1]), float(exact[g].max())) for g in groups]
    cuts = np.cumsum(rng.integers(1, 9000, 60))
    where: list[int] = []
    peak, overs = stream_overs(np.split(x, cuts[cuts < x.size]), ceiling, where)
    assert peak == float(exact.max()) == float(exact[where[0]])
    assert overs == expected


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 3000),
       window=st.integers(0, 400), share=st.floats(0.0, 1.0))
def test_the_limiters_hold_is_the_minimum_of_each_window(seed: int, size: int, window: int,
                                                         share: float) -> None:
    """The limiter's hold, made from the samples over the ceiling alone, gives for every
    sample the smallest gain needed in the centred window around it (1 where none is
    needed), the signal's ends repeated, to the bit."""
    from voiceguide.mix.master import _held

    rng = np.random.default_rng(seed)
    over = np.flatnonzero(rng.random(size) < share)
    need = np.ones(size)
    need[over] = rng.random(over.size)
    need[over[rng.random(over.size) < 0.3]] = 0.5  # equal values, as clipped peaks give
    padded = np.concatenate([np.full(window, need[0]), need, np.full(window, need[-1])])
    want = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1).min(axis=1)
    got = _held(size, over, need[over], window)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)


def test_voice_clips_at_a_gain_are_the_limited_float_clips_to_the_bit() -> None:
    """The mixer keeps the int16 clips and only the stretches the limiter changed; every
    stretch it hands out is what limiting a whole float copy with the whole envelope
    gives, bit for bit, at gains that leave clips alone and gains that limit them."""
    from voiceguide.mix.master import peak_envelope
    from voiceguide.mix.voice import VoiceClips

    rng = np.random.default_rng(9)
    t = np.arange(4 * SR) / SR
    loud = (20000 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * t) > 0.5)
            + rng.normal(0, 900, t.size))
    clips = {("loud", 1.0): np.clip(loud, -32768, 32767).astype(np.int16),
             ("soft", 1.0): (loud * 0.05).astype(np.int16),
             ("empty", 1.0): np.zeros(0, np.int16)}
    voice = VoiceClips(clips, SR)
    ceiling = 0.8
    for gain in (0.5, 1.0, 1.7, 8.0):  # 8: over by more than the kept envelope covers
        voice.set_gain(gain, ceiling)
        for key, pcm in clips.items():
            x = pcm.astype(np.float32) / np.float32(32768.0)
            y = (x * gain).astype(np.float32)
            want = limit(y, ceiling, SR, peak_envelope(x) * gain, exact=False)
            assert np.array_equal(voice[key], want)
            for lo, hi in ((0, 1), (1000, 30000), (17, pcm.size), (pcm.size, pcm.size)):
                assert np.array_equal(voice.part(key, lo, hi), want[lo:hi])
        if gain > 1:
            assert not np.array_equal(voice[("loud", 1.0)], (voice.raw(("loud", 1.0)) * gain
                                                             ).astype(np.float32))
    voice.set_gain(1.7, None)  # unlimited
    assert np.array_equal(voice[("loud", 1.0)],
                          (voice.raw(("loud", 1.0)) * 1.7).astype(np.float32))
