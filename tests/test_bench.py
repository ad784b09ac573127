"""The benchmark runs end to end in tiny mode (so it cannot rot); no timing is asserted."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from tests.conftest import ROOT

main = runpy.run_path(str(ROOT / "scripts" / "bench.py"))["main"]


def test_bench_tiny_mode_reports_every_figure(tmp_path: Path,
                                             capsys: object) -> None:
    out = tmp_path / "bench.json"
    assert main(["--tiny", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    for label in ("short", "long"):
        b = r["builds"][label]
        for run in ("cold", "warm"):
            assert b[run]["wall"] > 0 and b[run]["rss_mb"] > 0
            assert b[run]["timings"]["encode+write"] > 0
        assert b["cold"]["synthesized"] > 0 and b["warm"]["synthesized"] == 0
        # a build over a user's bed file, its phrases cached
        assert b["warm_bed_file"]["wall"] > 0 and b["warm_bed_file"]["synthesized"] == 0
        assert b["encode_floor"] > 0 and b["synth_floor"] > 0 and b["encode_floor_decoded"] > 0
        # the encode floor is taken on the whole mix the build encoded
        assert abs(b["mix_samples"] - b["audio_seconds"] * 22050) < 576 * 2
        assert b["warm_vs_encode_floor"] > 0 and b["cold_vs_synth_plus_encode"] > 0
        # the build's CPU is its own (no earlier process counted): spread over the
        # cores it cannot take less time than the build took
        assert 0 < b["warm_cpu_bound"] <= b["warm_vs_encode_floor"]
    assert r["naive"]["wall"] > 0 and r["naive"]["speedup"] > 0
    pack = r["pack"]
    for jobs in ("jobs1", "jobs2"):
        assert pack[jobs]["tracks"] == 4 and pack[jobs]["rerun_built"] == 0
        # within a pack, every distinct phrase is synthesised once
        assert pack[jobs]["synthesized"] == pack[jobs]["distinct_phrases"]
        assert 0 < pack[jobs]["cores_busy"] <= r["machine"]["cores"]
    # the projection for 10,000 tracks of 10 minutes comes from a pack whose phrases were
    # all cached (it rendered every track and synthesised nothing)
    warm = pack["jobs2_warm"]
    assert warm["tracks"] == 4 and warm["synthesized"] == 0
    assert pack["projection"]["tracks"] == 10_000 and pack["projection"]["hours_cached"] > 0
    cluster = r["cluster"]
    if "skipped" not in cluster:
        assert cluster["dask"]["tracks"] == 4 and cluster["overhead"] > 0
        # on the cluster too: one synthesis task per distinct phrase of the pack
        matrix = cluster["matrix"]
        assert matrix["synthesis_tasks"] == matrix["distinct_phrases"] > 0
    assert r["cli"]["help"] > 0 and r["cli"]["up_to_date"] > 0
    printed = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "warm build / single-thread encode floor" in printed and "naive pydub" in printed
    assert "up-to-date `build`" in printed and "cores busy" in printed
    assert "over a user's bed file" in printed
    assert "projection: 10,000 tracks of 10 min" in printed
