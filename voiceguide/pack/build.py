"""Build a pack: skip what is up to date, build the rest with a runner, publish.

Safe to interrupt: the manifest is rewritten after every finished track, so a re-run
resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.export.formats import get_format
from voiceguide.io.atomic import ensure_dir
from voiceguide.io.bounded import read_bounded
from voiceguide.io.paths import safe_stem
from voiceguide.limits import MAX_MANIFEST_BYTES
from voiceguide.pack.jobs import Outcome, TrackJob
from voiceguide.pack.manifest import read_manifest, remove_stale, up_to_date, write_manifest
from voiceguide.pack.plan import PackPlan
from voiceguide.pack.publish import write_pack_files, write_zip
from voiceguide.pack.runners import ProgressSink, get_runner


@dataclass
class PackResult:
    """What ``build_pack`` did."""

    out_dir: Path
    built: list[str] = field(default_factory=list)
    """Stems of the tracks built this run."""
    skipped: list[str] = field(default_factory=list)
    """Stems of the tracks that were up to date."""
    removed: list[str] = field(default_factory=list)
    """Files of tracks the pack no longer has, removed."""
    synthesized: int = 0
    """Phrases the speech engine spoke."""
    cache_hits: int = 0
    """Phrases taken from the cache."""
    files: list[Path] = field(default_factory=list)
    """The pack files written (playlist, feed, player...)."""
    zip: Path | None = None


def build_pack(
    plan: PackPlan,
    jobs: int = 1,
    sink: ProgressSink | None = None,
    base_url: str | None = None,
    make_zip: bool = False,
    runner: str = "local",
    runner_options: Mapping[str, str] | None = None,
) -> PackResult:
    """Build every out-of-date track of ``plan`` with ``jobs`` workers of ``runner``, then
    write the pack's playlist, feed, web player (and zip)."""
    executor = get_runner(runner, jobs, runner_options)
    out_dir = plan.out_dir
    ensure_dir(out_dir)
    old = {t.get("input_hash"): t for t in read_manifest(out_dir).get("tracks", [])
           if isinstance(t, dict)}
    old_files = {str(t.get("file")) for t in old.values()}
    result = PackResult(out_dir)
    entries: dict[int, dict[str, Any]] = {}
    sheets: dict[int, dict[str, Any]] = {}
    todo: list[TrackJob] = []
    for job in plan.jobs:
        prev = old.get(job.input_hash)
        suffix = get_format(job.settings.format).suffix
        if prev is not None and prev.get("file") == f"{job.stem}{suffix}" \
                and up_to_date(job, prev, out_dir):
            entries[job.n] = {k: v for k, v in prev.items() if k != "n"}
            result.skipped.append(job.stem)
        else:
            todo.append(job)
    total = len(plan.jobs)
    if sink:
        sink("", "pack", len(entries), total)

    def finished(job: TrackJob, outcome: Outcome) -> None:
        result.synthesized += outcome.synthesized
        result.cache_hits += outcome.cache_hits
        entries[job.n] = outcome.entry
        sheets[job.n] = outcome.sheet
        result.built.append(job.stem)
        write_manifest(plan, entries)
        if sink:
            sink(job.stem, "done", 1, 1)
            sink("", "pack", len(entries), total)

    executor.run(todo, finished, sink)
    write_manifest(plan, entries)
    keep = {e["file"] for e in entries.values()} | {
        s for e in entries.values() for s in e.get("sidecars", [])
    }
    result.removed = remove_stale(out_dir, old_files, keep)
    order = sorted(entries)
    # tracks skipped this run were built before: their cue sheets are on disk
    for n in order:
        if n not in sheets:
            sheets[n] = json.loads(read_bounded(out_dir / entries[n]["sidecars"][0],
                                                "cue sheet", MAX_MANIFEST_BYTES))
    result.files = write_pack_files(plan.model, out_dir, [entries[n] for n in order],
                                    [sheets[n] for n in order], base_url)
    if make_zip:
        result.zip = write_zip(out_dir, safe_stem(plan.model.title) + ".zip")
    return result
