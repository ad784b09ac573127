"""Split mode: one file per chapter plus an ``.m3u8``, for players without chapters.

The track is mixed once, as one stream, and cut into parts at sample positions; so the
parts played one after another are the track, sample for sample (every format here
decodes to exactly the samples encoded), and no hold or pause changes length. Each cut
sits in the silence before a chapter's first cue, a moment ahead of it (never inside a
word; after a chime, which rings up to the next cue, in its fade-out), so a player that
leaves a short gap between files leaves it in a pause.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.export.formats import Format, TrackTags, clean_text
from voiceguide.io.atomic import atomic_write
from voiceguide.io.paths import safe_stem
from voiceguide.timeline import CHIME_FADE, Chapter, Timeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LEAD_IN: Final = 0.4
"""Seconds of the pause before a chapter's first cue that go to the new file."""


@dataclass(frozen=True)
class Part:
    """One file of a split track: samples ``start`` to ``end`` of the whole track."""

    number: int
    """1-based."""
    start: int
    end: int
    title: str
    """The chapter's title."""

    def timeline(self, sample_rate: int) -> Timeline:
        """The part's own timeline: its length and one chapter."""
        n = self.end - self.start
        return Timeline(sample_rate, n, chapters=[Chapter(0, n, self.title)])

    def file_name(self, stem: str, suffix: str) -> str:
        """``<stem>-<nn>-<title><suffix>``, numbered so the files sort in order."""
        return f"{stem}-{self.number:02d}-{safe_stem(self.title)}{suffix}"


def parts(timeline: Timeline) -> list[Part]:
    """One part per chapter, each cut in the silence just before the chapter's first
    cue (at most :data:`LEAD_IN` ahead of it, never before the previous cue ends; a
    chime rings up to the next cue, so a cut after one falls in its fade-out)."""
    lead = int(LEAD_IN * timeline.sample_rate)
    fade = int(CHIME_FADE * timeline.sample_rate)
    chapters = timeline.chapters or [Chapter(0, timeline.total, "Track")]
    cuts = [0]
    for ch in chapters[1:]:
        sound = min((c.start for c in timeline.cues if c.start >= ch.start), default=ch.start)
        quiet_from = max((max(c.start, c.end - fade) if c.kind == "chime" else c.end
                          for c in timeline.cues if c.start < ch.start), default=0)
        cuts.append(max(min(sound, max(quiet_from, sound - lead)), cuts[-1]))
    cuts.append(timeline.total)
    kept = [(cuts[i], cuts[i + 1], ch.title) for i, ch in enumerate(chapters)
            if cuts[i + 1] > cuts[i]]
    return [Part(n, a, b, title) for n, (a, b, title) in enumerate(kept, 1)]


class Cutter:
    """Re-cuts a stream of chunks into consecutive pieces of given lengths."""

    def __init__(self, chunks: Iterable[npt.NDArray[np.int16]]) -> None:
        self._it = iter(chunks)
        self._left: npt.NDArray[np.int16] | None = None

    def take(self, n: int) -> Iterator[npt.NDArray[np.int16]]:
        """The next ``n`` samples, as chunks (consume it fully before the next take)."""
        while n > 0:
            chunk = self._left if self._left is not None else next(self._it, None)
            self._left = None
            if chunk is None:
                return
            if chunk.size > n:
                self._left = chunk[n:]
                chunk = chunk[:n]
            n -= chunk.size
            if chunk.size:
                yield chunk


def write_parts(fmt: Format, chunks: Iterable[npt.NDArray[np.int16]], out_dir: Path,
                stem: str, pieces: list[Part], tags: TrackTags, sample_rate: int
                ) -> list[tuple[Path, BinaryIO | Path]]:
    """Write the ``pieces`` of the track ``chunks`` (consecutive, in order) as files of
    ``fmt`` into ``out_dir``, each written atomically and tagged with the part's title,
    the track's title as album and its number; returns their paths, each with where it
    is read back from: its file still open where an :func:`atomic_unit` names it at its
    end, else the path."""
    cutter = Cutter(chunks)
    written: list[tuple[Path, BinaryIO | Path]] = []
    for part in pieces:
        path = out_dir / part.file_name(stem, fmt.suffix)
        part_tags = replace(tags, title=part.title, album=tags.title, track=part.number,
                            total=len(pieces))
        with atomic_write(path) as f:
            fmt.write_checked(f, cutter.take(part.end - part.start), sample_rate,
                              part_tags, part.timeline(sample_rate))
        written.append((path, path if f.closed else f))
    return written


def playlist(title: str, entries: Iterable[tuple[str, float, str]]) -> str:
    """An extended M3U (UTF-8) of ``(file, seconds, title)`` entries."""
    lines = ["#EXTM3U", f"#PLAYLIST:{clean_text(title)}"]
    for name, seconds, part_title in entries:
        lines += [f"#EXTINF:{round(seconds)},{clean_text(part_title)}", name]
    return "\n".join(lines) + "\n"
