"""What kind of voiceguide file a document is, from its keys: so that a pack given to
``build``, a routine given to ``pack`` or a profile given to ``validate`` with a typo in
it is named for what it is, in one line, rather than checked key by key as something
it is not."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

PACK_KEYS: Final = frozenset({"matrix", "tracks", "output", "defaults", "profile"})
EXERCISE_KEYS: Final = frozenset({"levels", "position", "summary", "level_params", "source"})
ROUTINE_KEYS: Final = frozenset({"author", "description", "tags", "level", "bed", "length",
                                 "exercises", "room_tone", "start"})
RUN_WITH: Final = {
    "pack": "build its tracks with: voiceguide pack {path}",
    "routine": "build it with: voiceguide build {path}",
    "exercise": "use it in a routine's steps (- exercise: {stem})",
    "profile": "give it to a build with: --profile {path}",
    "lexicon": "it is used by every build (see the README's pronunciation lexicon)",
    "cue sheet": "a build wrote it beside its track; validate checks the routine it was "
                 "built from",
    "pack manifest": "'voiceguide pack' wrote it; validate checks the pack file",
}
"""What to do with a file of each kind (``{path}``, ``{stem}`` filled in)."""


def _evident(keys: set[str], settings: Collection[str]) -> str | None:
    """The kind the keys show beyond doubt (None: they do not say)."""
    if keys == {"lexicon"}:
        return "lexicon"
    if "generator" in keys:  # what voiceguide writes: '.cues.json', 'pack.json'
        return "cue sheet" if "cues" in keys else "pack manifest"
    if keys & {"matrix", "tracks"}:
        return "pack"
    if "steps" in keys:
        return "exercise" if keys & EXERCISE_KEYS and not keys & ROUTINE_KEYS else "routine"
    if "title" not in keys and keys & set(settings):
        return "profile"
    return None


def guess_kind(data: Any, settings: Collection[str]) -> str:
    """routine, exercise, pack, profile or lexicon, by the keys of ``data`` (a pack's
    matrix or tracks; an exercise's summary or position; a lexicon's only key; a profile
    has no steps or title and some of ``settings``, the track settings' names); where
    they do not say, a pack's other keys make a pack, and keys that are all settings a
    profile."""
    keys = set(data) if isinstance(data, dict) else set()
    evident = _evident(keys, settings)
    if evident is not None:
        return evident
    if keys & PACK_KEYS:
        return "pack"
    return "profile" if keys <= set(settings) else "routine"


def wrong_kind(path: Any, data: Any, settings: Collection[str], wanted: str) -> str | None:
    """The one-line error for a file of another kind than ``wanted`` given where a
    ``wanted`` is read (None: it may be one: its own problems are said)."""
    if not isinstance(data, dict):
        return None
    kind = _evident(set(data), settings)
    if kind is None or kind == wanted:
        return None
    stem = getattr(path, "stem", str(path))
    what = kind if " " in kind else f"{kind} file"  # a cue sheet, a routine file
    return (f"{path}: this is {'an' if kind[0] in 'aeiou' else 'a'} {what}, not a "
            f"{wanted}; " + RUN_WITH[kind].format(path=path, stem=stem))
