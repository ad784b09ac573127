"""Cue sheets: VTT and LRC parse and agree with the JSON (issue 4)."""

from __future__ import annotations

import re
from pathlib import Path

import webvtt

from tests.conftest import ASSETS, build, sheet_of


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
