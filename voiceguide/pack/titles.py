"""Titles that tell a listener's tracks apart: two tracks of one routine for one listener
(a 12-minute and a default-length session, a rain and an ocean one) had the same title in
the feed, the player and the overview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from voiceguide.pack.jobs import TrackJob

Label = Callable[[TrackJob], str]

LABELS: Final[tuple[Label, ...]] = (
    lambda j: f"{j.settings.minutes:g} min" if j.settings.minutes is not None else "",
    lambda j: j.settings.level or "",
    lambda j: Path(j.settings.bed).stem if j.settings.bed else "",
    lambda j: (j.settings.voice or "").split("/")[-1],
    lambda j: f"{j.settings.rate:g} wpm" if j.settings.rate is not None else "",
    lambda j: j.routine_path.stem,  # two routines with one title
)
"""What may tell tracks apart, in the order it is looked at: the first that differs
between them all is added to their titles (one without it keeps the plain title)."""


def tell_apart(jobs: Sequence[TrackJob], titles: Sequence[str]) -> None:
    """Set ``title`` on jobs whose title (``titles``, in the order of ``jobs``: see
    :func:`~voiceguide.languages.track_title`) another
    job of the same listener's folder shares: the plain title and the first setting
    that differs (``· 12 min``), else the track's number among its listener's tracks."""
    same: dict[tuple[str, str], list[int]] = {}
    for i, job in enumerate(jobs):
        same.setdefault((job.group, titles[i]), []).append(i)
    for (_, title), members in same.items():
        if len(members) < 2:
            continue
        label = next((f for f in LABELS
                      if len({f(jobs[i]) for i in members}) == len(members)), None)
        for i in members:
            job = jobs[i]
            note = label(job) if label else f"{job.track_number or job.n}"
            job.title = f"{title} · {note}" if note else ""
    # a label can make the title another track has of its own ("Hips · 6 min"): the
    # track's number then, which no two of a listener's tracks share
    final: dict[tuple[str, str], list[int]] = {}
    for i, job in enumerate(jobs):
        final.setdefault((job.group, job.title or titles[i]), []).append(i)
    for members in final.values():
        for i in members[1:]:
            job = jobs[i]
            job.title = f"{titles[i]} · {job.track_number or job.n}"
