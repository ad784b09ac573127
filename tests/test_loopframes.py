"""Export (stage: export): stretches of a track that are only its room tone or bed take
their MP3 frames from one encode of the loop, and still decode seamlessly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT, SR, decode

pytestmark = pytest.mark.shared_phrases


def _room_tone_mix(espeak: Any, **settings: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """A real mix (morning-hips, espeak; without a bed: the room tone under it) as
    int16, and one turn of its background as the mix holds it where nothing else
    plays."""
    import voiceguide as vg
    from voiceguide.build import _mixer

    plan = vg.plan_track(ROOT / "routines" / "morning-hips.yaml", {"bed": "none", **settings},
                         engine=espeak)
    mixer = _mixer(plan)
    mixer.normalise()
    return np.concatenate(list(mixer.pcm())), mixer.background()


def _encode(pcm: np.ndarray, loop: np.ndarray | None, threads: int, size: int,
            joins: list[int] | None = None, fresh: bool = True) -> tuple[bytes, int]:
    """The MP3 stream of ``pcm`` (chunks of ``size``) with ``loop`` as its background,
    and the samples LAME was given for it (the loop's own encode left out). ``fresh``:
    nothing is kept from an earlier encode."""
    from voiceguide.export import loopframes
    from voiceguide.export.lame import Encoder, encode_frames

    given = 0

    class Counted(Encoder):
        def encode_bytes(self, pcm: Any, turns: int = 1) -> bytes:
            nonlocal given
            if turns == 1:
                given += len(pcm)
            return super().encode_bytes(pcm, turns)

    if fresh:
        loopframes._refs.clear()
    with loopframes.background(loop):
        data = b"".join(encode_frames((pcm[i : i + size] for i in range(0, pcm.size, size)),
                                      Counted(SR, 64, 5), threads=threads, joins=joins))
    return data, given


def _worst_join_db(tmp_path: Path, serial: bytes, joined: bytes, joins: list[int]) -> float:
    (tmp_path / "s.mp3").write_bytes(serial)
    (tmp_path / "j.mp3").write_bytes(joined)
    a, b = decode(tmp_path / "s.mp3"), decode(tmp_path / "j.mp3")
    assert a.size == b.size
    win = int(0.05 * SR)
    worst = -300.0
    for g in joins:
        at = g * 576 + 1105  # where frame g decodes (encoder + decoder delay)
        diff = a[at - win : at + win] - b[at - win : at + win]
        worst = max(worst, 20 * np.log10(np.sqrt(np.mean(diff**2)) + 1e-12))
    return worst


@pytest.mark.slow
def test_stretches_of_room_tone_are_encoded_once(tmp_path: Path, espeak: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A real track's pauses are its room tone alone: their frames come from one encode
    of the loop, so LAME is given fewer samples than the track has
    and at least a fifth fewer than without (then more than it has: the joins' overlap); the
    stream decodes to as many samples as a serial encode, within 50 ms of every join the
    two differ by less than -50 dB RMS, and the bytes do not depend on threads, chunks
    or what an earlier encode kept. Where a join into or out of a stretch finds no frame
    the later encoder's reservoir fits, the stretch is encoded after all (refused here at
    every first try): still seamless."""
    from voiceguide.export import lame, lamejoin, loopframes

    pcm, loop = _room_tone_mix(espeak)
    assert loop is not None
    serial = b"".join(bytes(f) for f in lame.Encoder(SR, 64, 5).encode(pcm))
    joins: list[int] = []
    joined, given = _encode(pcm, loop, 2, 5 * SR, joins)
    given_plain = _encode(pcm, None, 2, 5 * SR)[1]
    assert given <= 0.8 * given_plain and given < pcm.size < given_plain
    assert joined == _encode(pcm, loop, 1, 777)[0]
    assert joined == _encode(pcm, loop, 2, 3 * SR + 5, fresh=False)[0]
    assert _worst_join_db(tmp_path, serial, joined, joins) < -50

    real = lamejoin.choose_join
    stretches: list[int] = []  # the first frame of each stretch's segment, in order
    frames = loopframes.LoopFrames.frames

    def recorded(self: Any, first: int, count: int) -> Any:
        stretches.append(first)
        return frames(self, first, count)

    refused: set[tuple[int, int]] = set()

    def refusing(a: list[bytearray], a_first: int, b: list[bytearray], b_first: int,
                 quiet: int, energy: list[float]) -> int | None:
        # the join into every other stretch, and out of the others, at its first try
        into = b_first in stretches and stretches.index(b_first) % 2 == 0
        out = a_first in stretches and stretches.index(a_first) % 2 == 1
        if (into or out) and (a_first, b_first) not in refused:
            refused.add((a_first, b_first))
            return None
        return real(a, a_first, b, b_first, quiet, energy)

    monkeypatch.setattr(loopframes.LoopFrames, "frames", recorded)
    monkeypatch.setattr(lamejoin, "choose_join", refusing)
    redone = 0
    redo = lamejoin.Joiner._redo

    def counted(self: Any, *args: Any) -> Any:
        nonlocal redone
        redone += 1
        return redo(self, *args)

    monkeypatch.setattr(lamejoin.Joiner, "_redo", counted)
    joins = []
    fallen_back, given_back = _encode(pcm, loop, 2, 5 * SR, joins)
    assert len(stretches) >= 6 and redone == len(stretches) // 2
    assert given_back > given  # the stretches were encoded after all
    stretches.clear()
    refused.clear()
    assert fallen_back == _encode(pcm, loop, 1, 777)[0]
    assert _worst_join_db(tmp_path, serial, fallen_back, joins) < -50


def test_only_a_quiet_loop_of_whole_frames_is_encoded_once() -> None:
    """A background that is not a whole number of frames long, or as loud as a bed (where
    two encoders' frames of it differ audibly more at a join), takes nothing."""
    from voiceguide.audio import to_int16
    from voiceguide.export.lame import Encoder
    from voiceguide.export.loopframes import LoopFrames
    from voiceguide.mix.master import db
    from voiceguide.mix.mixer import ROOM_TONE_DB
    from voiceguide.mix.sounds import builtin_bed, room_tone_loop

    enc = Encoder(SR, 64, 5)
    room = to_int16(room_tone_loop(SR) * np.float32(db(ROOM_TONE_DB)))
    assert LoopFrames.of(room, enc) is not None
    assert LoopFrames.of(room[:-100], enc) is None
    assert LoopFrames.of(to_int16(builtin_bed("rain", SR) * np.float32(db(-40))), enc) is None


def test_built_in_loops_are_whole_mp3_frames() -> None:
    """The room tone and built-in beds repeat frame for frame at every MP3 rate, and
    still last about 30 s."""
    from voiceguide.mix.sounds import builtin_bed, room_tone_loop

    for rate in (22050, 44100, 48000, 24000):
        assert room_tone_loop(rate).size % 1152 == 0
        assert abs(room_tone_loop(rate).size / rate - 30) < 0.03
    assert builtin_bed("rain", SR).size % 1152 == 0


def _room_tone(db_rms: float) -> np.ndarray:
    from voiceguide.audio import to_int16
    from voiceguide.mix.master import db
    from voiceguide.mix.sounds import room_tone_loop

    return to_int16(room_tone_loop(SR) * np.float32(db(db_rms)))


def _tiled(loop: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    """``loop`` tiled for ``seconds`` (from its start), with a few loud bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    pcm = np.tile(loop, -(-n // loop.size))[:n].copy()
    for a in rng.integers(0, n - 3 * SR, 4):
        pcm[a : a + 2 * SR] = np.round(rng.normal(0, 3000, 2 * SR)).astype(np.int16)
    return pcm


def test_an_encode_encodes_its_reference_once_while_others_push_it_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Encodes over more backgrounds at once than the process keeps references of (an
    app building tracks in threads, over the room tone and two quiet beds) each encode
    their loop's reference once, not again at every stretch (31 reference encodes for
    three 10-minute builds side by side); the bytes are the same as each alone."""
    from voiceguide.export import loopframes
    from voiceguide.export.lame import Encoder, encode_frames

    calls = 0
    real = Encoder.encode_turns

    def counted(self: Any, pcm: Any, turns: int) -> Any:
        nonlocal calls
        calls += 1
        return real(self, pcm, turns)

    monkeypatch.setattr(Encoder, "encode_turns", counted)
    loops = [_room_tone(level) for level in (-64.0, -62.0, -60.0)]
    mixes = [_tiled(loop, 150, seed) for seed, loop in enumerate(loops)]

    def encode(pcm: np.ndarray, loop: np.ndarray) -> Any:
        with loopframes.background(loop):  # LoopFrames.current is read at the first frame
            gen = encode_frames((pcm[i : i + SR] for i in range(0, pcm.size, SR)),
                                Encoder(SR, 64, 5), threads=1)
            first = next(gen)
        return first, gen

    alone = []
    for pcm, loop in zip(mixes, loops, strict=True):
        loopframes._refs.clear()
        first, gen = encode(pcm, loop)
        alone.append(first + b"".join(gen))
    assert calls == 3
    calls = 0
    loopframes._refs.clear()
    started = [encode(pcm, loop) for pcm, loop in zip(mixes, loops, strict=True)]
    out = [[first] for first, _ in started]
    live = [gen for _, gen in started]
    while any(g is not None for g in live):  # a frame of each in turn, as threads would
        for i, gen in enumerate(live):
            if gen is not None:
                frame = next(gen, None)
                if frame is None:
                    live[i] = None
                else:
                    out[i].append(frame)
    assert [b"".join(o) for o in out] == alone
    assert calls == 3


@pytest.mark.parametrize("frames", [1, 10, 30, 38])
def test_a_loop_too_short_for_a_stretch_takes_nothing(frames: int) -> None:
    """A background of a few frames a turn (a stretch's segment covers one turn at most,
    less than its own join windows) takes no frames from the loop's encode: the encode
    is the one without a background (it raised IndexError or ValueError)."""
    from voiceguide.export import loopframes
    from voiceguide.export.lame import Encoder, encode_frames

    rng = np.random.default_rng(frames)
    loop = np.round(rng.normal(0, 20, 576 * frames)).astype(np.int16)
    pcm = _tiled(loop, 60, frames)
    with loopframes.background(loop):
        taken = b"".join(encode_frames([pcm], Encoder(SR, 64, 5), threads=2))
    assert loopframes.LoopFrames.of(loop, Encoder(SR, 64, 5)) is None
    assert taken == b"".join(encode_frames([pcm], Encoder(SR, 64, 5), threads=2))
