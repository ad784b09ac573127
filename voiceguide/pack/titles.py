"""Titles that tell a listener's tracks apart: two tracks of one routine for one listener
(a 12-minute and a default-length session, a rain and an ocean one) had the same title in
the feed, the player and the overview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from voiceguide.pack.jobs import TrackJob
from voiceguide.routine.load import Routine
from voiceguide.vocabulary import length_name

Label = Callable[[TrackJob, Routine], str]

LABELS: Final[tuple[Label, ...]] = (
    lambda j, r: length_name(j.settings.minutes, shown=True)
    if j.settings.minutes is not None else "",
    # as played, not as written: a level or bed not given is the routine's own
    lambda j, r: j.settings.level or r.spec.level,
    lambda j, r: Path(j.settings.bed).stem if j.settings.bed else (r.spec.bed or "none"),
    lambda j, r: (j.settings.voice or "").split("/")[-1],
    lambda j, r: f"{j.settings.rate:g} wpm",
    lambda j, r: j.routine_path.stem,  # two routines with one title
)
"""What may tell tracks apart, in the order it is looked at: the first that differs
between them all is added to their titles (a track asked for no length keeps the plain
title beside ones of given lengths)."""


def tell_apart(jobs: Sequence[TrackJob], titles: Sequence[str],
               routines: Sequence[Routine]) -> None:
    """Set ``title`` on jobs whose title (``titles``, in the order of ``jobs``, made from
    ``routines``: see :func:`~voiceguide.languages.track_title`) another job of the same
    listener's folder shares: the plain title and the first setting that differs
    (``· 12 min``), else the track's number among its listener's tracks."""
    same: dict[tuple[str, str], list[int]] = {}
    for i, job in enumerate(jobs):
        same.setdefault((job.group, titles[i]), []).append(i)
    for (_, title), members in same.items():
        if len(members) < 2:
            continue
        label = next((f for f in LABELS if len({f(jobs[i], routines[i]) for i in members})
                      == len(members)), None)
        for i in members:
            job = jobs[i]
            note = label(job, routines[i]) if label else f"{job.track_number or job.n}"
            job.title = f"{title} · {note}" if note else ""
    # a label can make the title another track has of its own ("Hips · 6 min"): the
    # track's number then, which no two of a listener's tracks share (the plain title and
    # a number could still be a third routine's title: again, a few times at most)
    for _ in range(3):
        final: dict[tuple[str, str], list[int]] = {}
        for i, job in enumerate(jobs):
            final.setdefault((job.group, job.title or titles[i]), []).append(i)
        clashes = [members[1:] for members in final.values() if len(members) > 1]
        if not clashes:
            break
        for members in clashes:
            for i in members:
                job = jobs[i]
                job.title = f"{titles[i]} · {job.track_number or job.n}"
