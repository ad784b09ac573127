"""What a pack run gives back: :class:`PackResult`, and :class:`PackFailed` (with each
:class:`TrackFailure`) where tracks failed (plain data; :mod:`voiceguide.pack.build` makes
them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.errors import Lines, VoiceguideError, one_line


@dataclass
class TrackFailure:
    """A track that could not be built."""

    n: int
    stem: str
    error: VoiceguideError


class PackFailed(VoiceguideError):
    """Some tracks failed (the others were built and published); exit code: the first's."""

    def __init__(self, failures: list[TrackFailure], total: int, where: str,
                 result: PackResult | None = None,
                 publishing: VoiceguideError | None = None) -> None:
        head = "the track" if total == 1 else f"all {total} tracks"  # not "1 of 1 ... others"
        where = one_line(where)  # (a folder's name: one line, as the tracks' errors are)
        lines = [f"{len(failures)} of {total} tracks failed; the others are in {where}:"
                 if len(failures) < total else f"{head} failed; {where} is as it was:"]
        lines += [str(f.error) for f in failures]
        if publishing is not None:  # what stopped the pack's files after them (a full
            # disk under the zip hid the tracks that failed: an attack)
            lines.append(f"then the pack's files could not all be written: {publishing}")
        super().__init__(Lines("\n".join(lines)))
        self.failures = failures
        self.exit_code = failures[0].error.exit_code
        self.result = result
        """What the run did: the tracks built, skipped and failed, and their warnings (an
        app that keeps going needs the tracks that were built)."""
        self._made = (failures, total, where, result, publishing)

    def __reduce__(self) -> tuple[Any, ...]:  # a pack run in a worker process raises it
        return type(self), self._made, self.__dict__  # (it broke the pool: no such args)


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
    zips: list[Path] = field(default_factory=list)
    """With ``group_by`` and ``make_zip``: each listener's zip, in their folder."""
    warnings: list[str] = field(default_factory=list)
    """Things the person should know: :attr:`manifest_warnings`, the pack's own (a length
    outside a routine's design, the feed's missing owner or date, its relative links)."""
    runner: dict[str, int] = field(default_factory=dict)
    """Runner-specific counts (e.g. synthesis tasks)."""
    manifest_warnings: list[str] = field(default_factory=list)
    """What reading the earlier run's manifest found (one ignored in part or whole, the
    feed's episode IDs made anew); in :attr:`warnings` too, logged as it is read."""
    cache_warnings: list[str] = field(default_factory=list)
    """A phrase cache the run cannot write in (its phrases made again by every run); in
    :attr:`warnings` too, logged at the start."""
    track_warnings: list[str] = field(default_factory=list)
    """What the tracks built warned of, each said once (a routine's narration at its line; a
    track's own, such as a name the voice cannot say, after its name); in :attr:`warnings`."""
