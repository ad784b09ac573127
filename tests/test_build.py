"""Building a track through the public API (stage: build): from a dict, to bytes, to a
path and to a stream, with the same bytes each way."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import voiceguide as vg
from tests.conftest import decode

ROUTINE = {
    "title": "API check",
    "steps": [
        {"say": "Hello{% if name %}, {{ name }}{% endif %}."},
        {"hold": {"seconds": 4, "say": "Hold.", "release": "Release."}},
    ],
}


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a pipe or an HTTP response."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_one_plan_renders_the_same_bytes_to_bytes_a_path_and_a_stream(tmp_path: Path) -> None:
    plan = vg.plan_track(vg.load_routine(ROUTINE), vg.TrackSettings(name="Ana", engine="test"),
                         cache=False)
    data = vg.render_track(plan)
    assert data[:3] == b"ID3"
    rendered = vg.render_track(plan, tmp_path / "a.mp3")
    assert rendered.path is not None and rendered.path.read_bytes() == data
    assert rendered.size == len(data) and rendered.sheet["title"] == "API check for Ana"
    stream = OneWayStream()
    vg.render_track(plan, stream)  # type: ignore[arg-type]
    assert bytes(stream.data) == data
    assert decode(tmp_path / "a.mp3").size == plan.timeline.total


def test_build_track_writes_the_track_and_its_cue_sheets(tmp_path: Path) -> None:
    result = vg.build_track(vg.load_routine(ROUTINE), vg.TrackSettings(engine="test",
                                                                        format="wav"),
                            tmp_path / "out", stem="mine")
    assert result.path == tmp_path / "out" / "mine.wav"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "mine.cues.json", "mine.lrc", "mine.vtt", "mine.wav"]
    assert result.sheet["samples"] == result.timeline.total


def test_a_build_with_every_phrase_cached_does_not_start_the_engine(
        tmp_path: Path, monkeypatch: Any) -> None:
    """espeak-ng starts (a process that loads its voices, about 0.1 s) only when a phrase
    is missing: its voice list, which the routine's language is resolved against, is kept
    with the phrase cache. A second build of the same routine starts no engine and gives
    the same bytes."""
    from voiceguide.speech.worker import WorkerClient

    started: list[str] = []
    ensure = WorkerClient._ensure

    def counted(self: WorkerClient) -> Any:
        if self._proc is None:
            started.append(self.label)
        return ensure(self)

    monkeypatch.setattr(WorkerClient, "_ensure", counted)
    routine = vg.load_routine({**ROUTINE, "language": "en"})
    first = vg.build_track(routine, vg.TrackSettings(name="Ana"), tmp_path / "a")
    assert started == ["espeak"]
    again = vg.build_track(routine, vg.TrackSettings(name="Ana"), tmp_path / "b")
    assert started == ["espeak"]  # the second build asked nothing of the engine
    assert again.path.read_bytes() == first.path.read_bytes()
    assert again.sheet["voice"] == first.sheet["voice"] == "gmw/en-us"


HEAP_PROBE = """
import json, resource, sys
import voiceguide as vg
routine = {"title": "Heap", "steps": [{"say": "Hello."}, {"pause": {"seconds": 150}},
                                      {"say": "Back."}]}
plan = vg.plan_track(vg.load_routine(routine), vg.TrackSettings(engine="test"), cache=False)
vg.render_track(plan)  # imports and first touches out of the count
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
vg.render_track(plan)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap settings")
def test_a_build_in_a_dask_worker_does_not_map_every_array_afresh(tmp_path: Path) -> None:
    """A Dask worker's nanny fixes glibc's trim threshold, which stops glibc raising its
    mmap threshold: every array of 128 KiB or more was then a fresh mapping, faulted in
    page by page (ten times the page faults, a 15-minute build 1.6x as slow). A build
    in that environment now touches about as many new pages as anywhere else."""
    try:
        import dask.config
        import distributed  # noqa: F401 - loads the nanny's defaults into dask.config

        nanny = {k: str(v) for k, v in
                 dask.config.get("distributed.nanny.pre-spawn-environ").items()}
    except ImportError:
        nanny = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    assert "MALLOC_TRIM_THRESHOLD_" in nanny
    plain = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def faults(env: dict[str, str]) -> int:
        out = subprocess.run([sys.executable, "-c", HEAP_PROBE], env=env, cwd=tmp_path,
                             capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])

    alone, in_worker = faults(plain), faults({**plain, **nanny})
    assert in_worker < 1.5 * alone, (in_worker, alone)
