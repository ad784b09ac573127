"""Export (stage: export): formats decode to exactly what was mixed, chapters and tags,
cue sheets whose VTT and LRC agree with the JSON."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import webvtt

from tests.conftest import ASSETS, SR, build, decode, sheet_of


def test_vtt_and_lrc_match_the_json(tmp_path: Path) -> None:
    result = build(ASSETS / "timing.yaml", tmp_path, engine="test")
    sheet = sheet_of(result.path)
    assert sheet["version"] == 1
    captions = webvtt.read(str(result.path.with_suffix(".vtt")))
    assert len(captions) == len(sheet["cues"])
    for cap, cue in zip(captions, sheet["cues"], strict=True):
        assert abs(_secs(cap.start) - cue["start"]) <= 0.001
        assert abs(_secs(cap.end) - cue["end"]) <= 0.001
    lines = re.findall(r"^\[(\d\d):(\d\d\.\d\d)\](.*)$",
                       result.path.with_suffix(".lrc").read_text(), re.M)
    assert len(lines) == len(sheet["cues"])
    for (m, s, text), cue in zip(lines, sheet["cues"], strict=True):
        assert abs(int(m) * 60 + float(s) - cue["start"]) <= 0.005
        assert text.strip() in (cue["text"], f"({cue['text']} chime)")


def _secs(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _tone_timeline(seconds: float) -> tuple[Any, list[np.ndarray]]:
    from voiceguide.timeline import Chapter, Timeline

    n = int(seconds * SR)
    tl = Timeline(SR, n, chapters=[Chapter(0, n // 3, "One"), Chapter(n // 3, n, "Two, then")])
    t = np.arange(n) / SR
    pcm = (6000 * np.sin(2 * np.pi * 330 * t)).astype(np.int16)
    return tl, [pcm[i : i + SR] for i in range(0, n, SR)]


def test_mp3_decodes_to_exactly_the_samples_written(tmp_path: Path) -> None:
    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(7.3)
    path = tmp_path / "t.mp3"
    with path.open("wb") as f:
        get_format("mp3").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    y = decode(path)
    assert y.size == tl.total  # the Info frame's delay and padding make it gapless
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)],
                          capture_output=True, text=True).stderr
    assert re.findall(r"title\s+: (One|Two, then)", info) == ["One", "Two, then"]


def test_wav_keeps_every_sample(tmp_path: Path) -> None:
    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(2.0)
    path = tmp_path / "t.wav"
    with path.open("wb") as f:
        get_format("wav").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.array_equal(data, np.concatenate(chunks))


def test_formats_own_their_suffix_and_mime_type() -> None:
    from voiceguide.export.formats import formats, mime_type

    assert {(f.suffix, f.mime) for f in formats().values()} >= {
        (".mp3", "audio/mpeg"), (".wav", "audio/wav")}
    assert mime_type("x.MP3") == "audio/mpeg" and mime_type("x.txt") == "application/octet-stream"
