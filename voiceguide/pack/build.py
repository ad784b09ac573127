"""Build a pack: skip what is up to date, build the rest with a runner, publish.

Safe to interrupt: each finished track is appended to a journal (O(1) per track) that
a re-run reads, so it resumes where it stopped; the manifest is written at the end and
lists only completed tracks. The pack files (manifest, playlist, feed, player) are
written last, by this process, wherever the tracks went."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from voiceguide.errors import InvalidInputError, UsageError, VoiceguideError, option, yes_or_no
from voiceguide.io.atomic import sweep_temporaries
from voiceguide.io.paths import safe_stem
from voiceguide.pack.dest import Destination
from voiceguide.pack.fresh import forget, write_stamp
from voiceguide.pack.jobs import Outcome, TrackJob, where_all
from voiceguide.pack.lock import one_run_at_a_time
from voiceguide.pack.manifest import (
    MANIFEST,
    Journal,
    entry_path,
    fold_shards,
    read_entries,
    remove_stale,
    renamed,
    write_manifest,
)
from voiceguide.pack.model import Pack
from voiceguide.pack.plan import PackPlan
from voiceguide.pack.published import (
    PUBLISHED,
    intact,
    published,
    record,
    removal_notices,
    remove_unpublished,
)
from voiceguide.pack.results import PackFailed, PackResult, TrackFailure
from voiceguide.pack.runners import ProgressSink, RunEvents, Runner, get_runner, run_all
from voiceguide.pack.shards import shard_of, shard_ok
from voiceguide.version import __version__

log = logging.getLogger("voiceguide")

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
    if not isinstance(plan, PackPlan):
        raise UsageError(f"build_pack takes the plan load_pack returns (got "
                         f"{type(plan).__name__})")
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise UsageError(f"jobs must be a whole number such as 2 (got {jobs!r:.40})")
    yes_or_no(make_zip=make_zip, keep_going=keep_going)
    if shard is not None and not shard_ok(shard):
        raise UsageError(f"shard must be (i, n) with 1 <= i <= n, such as (1, 4) for the "
                         f"first of four (got {shard!r:.40})")
    if base_url is not None:
        from voiceguide.pack.publish import check_base_url

        base_url = check_base_url(base_url)  # in ASCII, as a feed writes it
    executor = get_runner(runner, jobs, runner_options)
    dest = plan.dest
    if make_zip and dest.local is None:
        raise UsageError(f"{option('make_zip', True, flag='--zip')} needs a local "
                         f"{option('out_dir', flag='--out')} folder")
    if dest.local is not None and not dest.local.exists():  # a run that cannot start
        getattr(executor, "ready", lambda: None)()  # makes no folder (see Runner)
    dest.prepare()
    with one_run_at_a_time(dest.local, shard):
        return _run(plan, executor, sink, base_url, make_zip, keep_going, shard, notice)


def _run(plan: PackPlan, executor: Runner, sink: ProgressSink | None, base_url: str | None,
         make_zip: bool, keep_going: bool | None, shard: tuple[int, int] | None,
         notice: Callable[[str], None] | None) -> PackResult:
    from voiceguide.pack.publish import earlier_build

    dest = plan.dest
    if dest.local is not None:
        forget(dest.local)  # written again only when this run completes the pack
    result = PackResult(plan.out_dir)
    old = read_entries(dest, result.manifest_warnings, shard, plan.model.feed_seed())
    from voiceguide.speech.cache import PhraseCache

    unkept = PhraseCache().unwritable()  # said once here, not by each worker
    result.cache_warnings = [unkept] if unkept else []
    for warning in result.manifest_warnings + result.cache_warnings:
        log.warning("%s", warning)  # said at once, with --quiet and --json too
    result.warnings += result.manifest_warnings + result.cache_warnings
    by_hash = {e.get("input_hash"): e for e in old}
    if dest.local is not None:  # what a run killed mid-rename left, long ago
        for folder in [dest.local, *(dest.local / g.slug for g in plan.groups)]:
            sweep_temporaries(folder)
    listings: dict[str, dict[str, int]] = {"": dest.listing()}
    for group in plan.groups:
        listings[group.slug] = dest.child(group.slug).listing()
    selected = shard_of(plan.jobs, shard)
    entries: dict[int, dict[str, Any]] = {}
    sheets: dict[int, dict[str, Any]] = {}
    todo: list[TrackJob] = []
    warned: dict[str, list[TrackJob]] = {}  # a warning, and the tracks it was given for
    for job in selected:
        prev = by_hash.get(job.input_hash)
        if prev is not None and (sheet := earlier_build(job, prev, dest, listings[
                job.group])) is not None:  # else: built again
            entries[job.n] = {k: v for k, v in prev.items() if k != "n"}
            sheets[job.n] = sheet
            result.skipped.append(job.stem)
            _said(warned, job, sheet)  # said again, as an up-to-date build says them
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
        _said(warned, job, outcome.sheet)  # a coach sees what build says
        journal.append(outcome.entry)
        if sink:
            sink(job.stem, "done", 1, 1)
            sink("", "pack", len(entries), total)

    def failed(job: TrackJob, error: VoiceguideError) -> None:
        result.failed.append(TrackFailure(job.n, job.stem, error))
        for prev in old:  # its earlier build, if intact, stays until it builds again
            if (sheet := earlier_build(job, prev, dest, listings[job.group], True)) is not None:
                entries[job.n], sheets[job.n] = {k: v for k, v in prev.items() if k != "n"}, sheet
        if sink:
            sink(job.stem, "failed", 1, 1)

    events = RunEvents(finished, failed, sink, notice,
                       executor.keep_going if keep_going is None else keep_going)
    stats = None
    try:
        stats = run_all(executor, todo, events)
    finally:
        journal.close(remove=False)
        if stats is not None:  # the run went through (some tracks may have failed)
            if entries or not result.failed:  # else all failed: the folder stays as it was
                write_manifest(plan, entries, shard)  # only completed tracks
            journal.close(remove=True)
        # else (stopped): the old manifest stays, with the tracks a changed pack dropped
        # for the next run to remove, and the journal holds what this run finished
    # each once, naming its tracks as validate does, in the pack's order (not the order
    # that tracks finished in: a coach's review saw a routine's warning, not whose it was)
    result.track_warnings = [f"{where_all(sorted(jobs, key=lambda j: j.n))}: {w}" for w, jobs
                             in sorted(warned.items(), key=lambda kv: min(j.n for j in kv[1]))]
    if shard is None and not result.failed:
        fold_shards(dest)  # their tracks are in pack.json now
    result.synthesized += stats.synthesized
    result.cache_hits += stats.cache_hits
    result.runner = stats.extra
    if shard is None and (entries or not result.failed):
        try:
            _publish(plan, result, entries, sheets, old, base_url, make_zip, notice)
        except VoiceguideError as exc:  # said after the tracks that failed, not instead
            if not result.failed:
                raise
            raise PackFailed(result.failed, total, str(result.out_dir), result, exc) from exc
        if plan.inputs is not None and not result.failed and not result.warnings:
            write_stamp(
                replace(plan.inputs, base_url=base_url, make_zip=make_zip), plan.fresh,
                {"folder": str(result.out_dir), "tracks": [j.stem for j in plan.jobs],
                 "zip": str(result.zip) if result.zip else None,
                 "zips": [str(z) for z in result.zips],
                 "warnings": result.track_warnings + plan.published_warnings(base_url)})
    result.warnings += result.track_warnings + (  # of a feed written (or intact) only
        plan.published_warnings(base_url) if shard is None and result.files else plan.warnings)
    if result.failed:
        raise PackFailed(result.failed, total, str(result.out_dir), result)
    return result


def _said(warned: dict[str, list[TrackJob]], job: TrackJob, sheet: dict[str, Any]) -> None:
    """A track's build warnings (its cue sheet's), with the track, in ``warned``."""
    found = sheet.get("warnings")
    for w in found if isinstance(found, list) else []:
        warned.setdefault(str(w), []).append(job)


def _publish(plan: PackPlan, result: PackResult, entries: dict[int, dict[str, Any]],
             sheets: dict[int, dict[str, Any]], old: list[dict[str, Any]],
             base_url: str | None, make_zip: bool,
             notice: Callable[[str], None] | None = None) -> None:
    """Remove stale tracks; write the pack files (unless published as they are, intact)."""
    dest = plan.dest
    keep = {entry_path(e, name) for e in entries.values()
            for name in (e["file"], *e.get("sidecars", []),
                         str(e["file"]).rsplit(".", 1)[0] + ".chapters.json")}
    result.removed = remove_stale(dest, old, keep)
    warnings = renamed(old, result.removed, entries.values())  # new episodes in an app
    order = sorted(entries)
    m = plan.model
    dump = m.model_dump(mode="json")
    if dump.get("group_by") is None:
        del dump["group_by"]  # an ungrouped pack keeps the stamp it had before group_by
    stamp = hashlib.sha256(json.dumps(
        [__version__, dump, base_url, make_zip,
         [entries[n] for n in order]], sort_keys=True, default=str).encode()).hexdigest()
    before = published(dest)
    if not result.built and not result.removed and before is not None \
            and before.get("stamp") == stamp and intact(dest, before):
        # as a run that writes them names them: in the folder (names, for a remote one),
        # an ungrouped pack's zip apart (``zip``)
        result.files = [dest.local / f if dest.local is not None else Path(f)
                        for f in before["files"] if plan.groups or not f.endswith(".zip")]
        zips = [dest.local / f for f in before["files"] if f.endswith(".zip")] \
            if dest.local is not None else []
        if plan.groups:
            result.zips = zips
        elif zips:
            result.zip = zips[0]
        return
    for n in order:  # skipped tracks' sheets were read as they were found up to date
        if n not in sheets:  # (one gone since: said, not built again)
            raise InvalidInputError(f"{entry_path(entries[n], entries[n]['sidecars'][0])}: "
                                    "missing or damaged; run again (the track is built again)")
    if plan.groups:
        names = _publish_groups(plan, result, entries, sheets, order, base_url, make_zip)
    else:
        from voiceguide.pack.publish import write_pack_files, write_zip, zipped_names

        listed, cues = [entries[n] for n in order], [sheets[n] for n in order]
        zip_name = safe_stem(m.title) + ".zip" if make_zip and dest.local else None
        result.files = _write(dest, lambda out: write_pack_files(m, out, listed, cues,
                                                                 base_url, zip_name))
        if zip_name is not None and dest.local is not None:
            result.zip = write_zip(dest.local, zip_name,
                                   zipped_names(listed, result.files, MANIFEST))
        names = [f.name for f in result.files] + ([result.zip.name] if result.zip else [])
    if before is not None:  # pack files of a listener no longer in the pack
        gone = remove_unpublished(dest, before, set(names))
        for said in removal_notices(dest, gone, make_zip):  # a link may have been sent
            if notice:
                notice(said)
        left = [f for f in before.get("files", []) if "/" not in f and f not in names
                and f in dest.listing()] if plan.groups else []
        if left:
            warnings.append(f"{', '.join(left)}: published at the pack's root before group_by, "
                            "with every listener's tracks; delete them before sharing the folder")
    for warning in warnings:
        result.warnings.append(warning)
        if notice:
            notice(f"Warning: {warning}")
    dest.write_bytes(PUBLISHED, record(stamp, names, dest))


def _write(dest: Destination, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Run a writer of pack files into ``dest`` (through a temporary folder for a
    remote destination); the files' paths (names, for a remote one)."""
    if dest.local is not None:
        dest.prepare()
        return write(dest.local)
    with tempfile.TemporaryDirectory(prefix="voiceguide-pack-") as tmp:
        files = write(Path(tmp))
        dest.put(files)
        return [Path(f.name) for f in files]


def _publish_groups(plan: PackPlan, result: PackResult, entries: dict[int, dict[str, Any]],
                    sheets: dict[int, dict[str, Any]], order: list[int],
                    base_url: str | None, make_zip: bool) -> list[str]:
    """Each listener's folder gets the pack files of their tracks only (feed, player,
    playlist, chapters, cover, zip); the root gets the coach's overview. Returns the
    files written, relative to the pack folder."""
    from voiceguide.pack.overview import write_overview
    from voiceguide.pack.publish import group_card, write_pack_files, write_zip, zipped_names

    dest, m = plan.dest, plan.model
    names: list[str] = []
    cards: list[dict[str, Any]] = []
    for group in plan.groups:
        mine = [n for n in order if entries[n].get("group") == group.slug]
        if not mine:  # every track of this listener failed: no folder of nothing
            folder = dest.child(group.slug).local
            if folder is not None:
                with contextlib.suppress(OSError):  # only an empty one goes
                    folder.rmdir()
            continue
        listed = [entries[n] for n in mine]
        cues = [sheets[n] for n in mine]
        pack = m.model_copy(update={"title": group.title, "feed_id": group.feed_id})
        url = f"{base_url.rstrip('/')}/{group.slug}" if base_url else None
        zip_name = safe_stem(group.title) + ".zip" if make_zip and dest.local else None
        files = _write(dest.child(group.slug), functools.partial(
            _group_files, write_pack_files, pack, listed, cues, url, zip_name))
        if zip_name is not None and dest.local is not None:
            made = write_zip(dest.local / group.slug, zip_name, zipped_names(listed, files),
                             folder=safe_stem(group.title))
            result.zips.append(made)
            files.append(made)
        result.files += files if dest.local is not None else [
            Path(group.slug) / f.name for f in files]
        names += [f"{group.slug}/{f.name}" for f in files]
        cards.append(group_card(group.label, group.slug, listed, base_url, zip_name))
    noun = "listener" if m.group_by == "name" else "routine"

    def overview(out: Path) -> list[Path]:
        from voiceguide.export.cover import make_cover
        from voiceguide.io.atomic import write_bytes
        from voiceguide.pack.publish import COVER_SIZE

        cover = out / "cover.png"
        write_bytes(cover, make_cover(m.title, m.author, COVER_SIZE))
        return [cover, write_overview(m, out, cards, [sheets[n] for n in order], noun)]

    root = _write(dest, overview)
    result.files += root
    names += [f.name for f in root]
    return names


def _group_files(write: Callable[..., list[Path]], pack: Pack, entries: list[dict[str, Any]],
                 sheets: list[dict[str, Any]], url: str | None, zip_name: str | None,
                 out: Path) -> list[Path]:
    return write(pack, out, entries, sheets, url, zip_name)
