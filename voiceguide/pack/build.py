"""Build a pack: skip what is up to date, build the rest with a runner, publish.

Safe to interrupt: each finished track is appended to a journal (O(1) per track) that
a re-run reads, so it resumes where it stopped; the manifest is written at the end and
lists only completed tracks. The pack files (manifest, playlist, feed, player) are
written last, by this process, wherever the tracks went.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.errors import UsageError, VoiceguideError
from voiceguide.export.formats import get_format
from voiceguide.io.paths import safe_stem
from voiceguide.pack.dest import Destination
from voiceguide.pack.jobs import Outcome, TrackJob
from voiceguide.pack.manifest import Journal, read_entries, remove_stale, up_to_date, write_manifest
from voiceguide.pack.plan import PackPlan, shard_of
from voiceguide.pack.runners import ProgressSink, RunEvents, get_runner, longest_first
from voiceguide.version import __version__

PUBLISHED = ".voiceguide-published.json"
"""What the last run published: a stamp of its inputs and the files it wrote."""


@dataclass
class TrackFailure:
    """A track that could not be built."""

    n: int
    stem: str
    error: VoiceguideError


class PackFailed(VoiceguideError):
    """Some tracks failed (the others were built and published); the exit code is the
    first failure's."""

    def __init__(self, failures: list[TrackFailure], total: int, where: str) -> None:
        lines = [f"{len(failures)} of {total} tracks failed; the others are in {where}:"]
        lines += [str(f.error) for f in failures]
        super().__init__("\n".join(lines))
        self.failures = failures
        self.exit_code = failures[0].error.exit_code


@dataclass
class PackResult:
    """What ``build_pack`` did."""

    out_dir: Path | str
    """The pack folder, or the URL it went to."""
    built: list[str] = field(default_factory=list)
    """Stems of the tracks built this run."""
    skipped: list[str] = field(default_factory=list)
    """Stems of the tracks that were up to date."""
    removed: list[str] = field(default_factory=list)
    """Files of tracks the pack no longer has, removed."""
    failed: list[TrackFailure] = field(default_factory=list)
    """Tracks that failed (with ``keep_going``)."""
    synthesized: int = 0
    """Phrases the speech engine spoke."""
    cache_hits: int = 0
    """Phrases taken from the cache."""
    files: list[Path] = field(default_factory=list)
    """The pack files written (playlist, feed, player...)."""
    zip: Path | None = None
    warnings: list[str] = field(default_factory=list)
    """Things the person should know (e.g. a manifest that was ignored)."""
    runner: dict[str, int] = field(default_factory=dict)
    """Runner-specific counts (e.g. synthesis tasks)."""


def parse_shard(text: str) -> tuple[int, int]:
    """``'2/4'`` -> (2, 4), checked."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard takes I/N such as 1/4 (got {text})") from None
    if not 1 <= i <= n <= 10_000:
        raise UsageError(f"--shard {text}: I must be between 1 and N")
    return i, n


def build_pack(
    plan: PackPlan,
    jobs: int = 1,
    sink: ProgressSink | None = None,
    base_url: str | None = None,
    make_zip: bool = False,
    runner: str = "local",
    runner_options: Mapping[str, str] | None = None,
    keep_going: bool | None = None,
    shard: tuple[int, int] | None = None,
    notice: Callable[[str], None] | None = None,
) -> PackResult:
    """Build every out-of-date track of ``plan`` with ``jobs`` workers of ``runner``, then
    write the pack's manifest, playlist, feed, web player (and zip).

    ``keep_going``: build every track that can be built and raise :class:`PackFailed`
    at the end (default: the runner's; a cluster keeps going, the local runner stops at
    the first failure). ``shard=(i, n)`` builds every n-th track from track i and writes
    only that shard's manifest; a later run without a shard publishes the whole pack.
    """
    executor = get_runner(runner, jobs, runner_options)
    dest = plan.dest
    if make_zip and dest.local is None:
        raise UsageError("--zip needs a local --out folder")
    dest.prepare()
    result = PackResult(plan.out_dir)
    old = read_entries(dest, result.warnings, shard)
    for warning in result.warnings:
        if notice:
            notice(f"Warning: {warning}")
    by_hash = {e.get("input_hash"): e for e in old}
    listing = dest.listing()
    selected = shard_of(plan.jobs, shard)
    entries: dict[int, dict[str, Any]] = {}
    sheets: dict[int, dict[str, Any]] = {}
    todo: list[TrackJob] = []
    for job in selected:
        prev = by_hash.get(job.input_hash)
        suffix = get_format(job.settings.format).suffix
        if prev is not None and prev.get("file") == f"{job.stem}{suffix}" \
                and up_to_date(job, prev, dest, listing):
            entries[job.n] = {k: v for k, v in prev.items() if k != "n"}
            result.skipped.append(job.stem)
        else:
            todo.append(job)
    total = len(selected)
    journal = Journal(dest, shard)
    if sink:
        sink("", "pack", len(entries), total)

    def finished(job: TrackJob, outcome: Outcome) -> None:
        result.synthesized += outcome.synthesized
        result.cache_hits += outcome.cache_hits
        entries[job.n] = outcome.entry
        sheets[job.n] = outcome.sheet
        result.built.append(job.stem)
        journal.append(outcome.entry)
        if sink:
            sink(job.stem, "done", 1, 1)
            sink("", "pack", len(entries), total)

    def failed(job: TrackJob, error: VoiceguideError) -> None:
        result.failed.append(TrackFailure(job.n, job.stem, error))
        if sink:
            sink(job.stem, "failed", 1, 1)

    events = RunEvents(finished, failed, sink, notice,
                       executor.keep_going if keep_going is None else keep_going)
    try:
        stats = executor.run(longest_first(todo), events)
    finally:
        journal.close(remove=False)
        write_manifest(plan, entries, shard)  # only completed tracks
        journal.close(remove=True)
    result.synthesized += stats.synthesized
    result.cache_hits += stats.cache_hits
    result.runner = stats.extra
    if shard is None:
        _publish(plan, result, entries, sheets, old, base_url, make_zip)
    if result.failed:
        raise PackFailed(result.failed, total, str(result.out_dir))
    return result


def _publish(plan: PackPlan, result: PackResult, entries: dict[int, dict[str, Any]],
             sheets: dict[int, dict[str, Any]], old: list[dict[str, Any]],
             base_url: str | None, make_zip: bool) -> None:
    """Remove stale tracks; write the pack files for every built track (unless the
    same files were published from the same tracks before and are all there)."""
    dest = plan.dest
    keep = {e["file"] for e in entries.values()} | {
        s for e in entries.values() for s in e.get("sidecars", [])
    } | {str(e["file"]).rsplit(".", 1)[0] + ".chapters.json" for e in entries.values()}
    result.removed = remove_stale(dest, old, keep)
    order = sorted(entries)
    m = plan.model
    stamp = hashlib.sha256(json.dumps(
        [__version__, m.model_dump(mode="json"), base_url, make_zip,
         [entries[n] for n in order]], sort_keys=True, default=str).encode()).hexdigest()
    before = _published(dest)
    if not result.built and not result.removed and before is not None \
            and before.get("stamp") == stamp \
            and set(before.get("files", [])) <= set(dest.listing()):
        result.files = [Path(f) for f in before["files"]]
        return
    from voiceguide.pack.publish import write_pack_files, write_zip

    for n in order:  # tracks skipped this run were built before: their cue sheets are there
        if n not in sheets:
            data = dest.read_bytes(entries[n]["sidecars"][0])
            if data is None:
                raise VoiceguideError(f"{entries[n]['sidecars'][0]}: missing; run again")
            sheets[n] = json.loads(data)
    listed = [entries[n] for n in order]
    cues = [sheets[n] for n in order]
    if dest.local is not None:
        result.files = write_pack_files(plan.model, dest.local, listed, cues, base_url)
    else:
        with tempfile.TemporaryDirectory(prefix="voiceguide-pack-") as tmp:
            files = write_pack_files(plan.model, Path(tmp), listed, cues, base_url)
            dest.put(files)
            result.files = [Path(f.name) for f in files]
    if make_zip and dest.local is not None:
        result.zip = write_zip(dest.local, safe_stem(plan.model.title) + ".zip")
    names = [f.name for f in result.files] + ([result.zip.name] if result.zip else [])
    dest.write_bytes(PUBLISHED, json.dumps({"stamp": stamp, "files": names}).encode())


def _published(dest: Destination) -> dict[str, Any] | None:
    """What the last run published (its stamp and files), if anything."""
    data = dest.read_bytes(PUBLISHED)
    try:
        doc = json.loads(data) if data is not None and len(data) < 1 << 20 else None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and all(
        isinstance(f, str) and "/" not in f for f in doc.get("files", [None])) else None

