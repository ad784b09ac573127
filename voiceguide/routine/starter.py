"""Starting a routine: a commented starter that follows the narration craft (arrival with
safety, one breath step, one held stretch on both sides, a slow return), listing the
library's exercises, or a copy of an existing routine."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Final

from voiceguide.errors import UsageError, option
from voiceguide.io.atomic import folder_fix, write_text
from voiceguide.io.paths import path_arg, safe_stem
from voiceguide.io.yamldoc import load_yaml, read_text
from voiceguide.routine.catalogue import find_routine, library_dirs

STARTER: Final = """\
# A voiceguide routine. Check it:   voiceguide validate {file}
# Read what will play:              voiceguide script {file} --name Ana
# Hear it:                          voiceguide build {file} --name Ana
# Steps: say, pause, rest, breathe, hold, repeat, sides, section, chime, transition,
# exercise. For editors: voiceguide schema > routine.schema.json
title: {title}
description: >-
  A short, gentle session: a few slow breaths and a held stretch for each hip.
# author: Your Name   # the artist a player shows for the track (default: voiceguide)
level: beginner
tags: [hips, gentle]
# The lengths it is designed for: 'build --minutes' fits the track inside this range by
# stretching the holds, pauses and breaths that have a min and a max.
length: {{min: 3, max: 5}}
bed: rain
# Where the listener starts: lying, seated, kneeling, standing or any.
start: lying
steps:
  - section: Arriving
    steps:
      # {{% if name %}} keeps the line right when a track is built without a name;
      # numbers the build can change are spoken from the routine: {{{{ minutes | words }}}}.
      - say: >-
          Welcome{{% if name %}}, {{{{ name }}}}{{% endif %}}. This is about
          {{{{ minutes | words }}}} minutes of slow, gentle movement for your hips.
      # Safety first: not medical advice, stay in a comfortable range, stop on sharp pain.
      - say: >-
          This is not medical advice. If you have pain or an injury, a health condition,
          or are pregnant, check with a doctor first. Move only within a comfortable
          range, and stop on any sharp pain.
      - say: Lie on your back on a soft surface, with your knees bent and your feet flat.
        pause: 1.5
      # Breath is the clock: each cue lands on its phase and must fit inside it.
      - breathe:
          in: 4
          out: 6
          cycles: 3
          min_cycles: 2
          max_cycles: 8
          say:
            in: ["Breathe in slowly through the nose.", "Breathe in.", "In through the nose."]
            out: ["And a long, slow breath out.", "Breathe out.", "Let it go."]
  - section: Knee to chest
    steps:
      # Name the exercise and the starting position before any movement.
      - say: Knee to chest. Stay on your back, with both knees bent.
      # 'sides' runs its steps for each side, with {{{{ side }}}} and {{{{ other_side }}}} set.
      - sides:
          steps:
            - say: >-
                Hug your {{{{ side }}}} knee toward your chest with both hands, only as
                far as feels comfortable.
            - hold:
                seconds: 30
                min: 20
                max: 60
                say: Hold, and let the breath stay soft.
                cues:  # said inside the hold, without making it longer
                  - at: 3
                    say: With each breath out, let the hip soften a little.
                  - halfway: true
                    say: "{{{{ phrase('halfway') }}}} Shoulders soft."
                  - remaining: 6
                    say: "{{{{ remaining | words | capitalize }}}} more seconds."
                release: Slowly lower your {{{{ side }}}} foot back to the floor.
            - rest: {{seconds: 4, min: 3, max: 10}}
  - section: Coming back
    steps:
      - say: Let both legs rest, and notice how your hips feel now.
      - pause: {{seconds: 6, min: 4, max: 30}}
      # End with a slow return: roll to one side, pause, come up slowly.
      - say: >-
          When you are ready, roll slowly onto one side and rest there for a moment.
      - pause: {{seconds: 4, min: 3, max: 15}}
      - say: Then come up slowly to sitting. Thank you{{% if name %}}, {{{{ name }}}}{{% endif %}}.

# The library's exercises: use one as a step, with its parameters if you like:
#   - exercise: bridge
#     params: {{reps: 4}}
{exercises}
"""


def library_exercises() -> list[tuple[str, str]]:
    """Every library exercise as (id, one-line summary), first folder winning."""
    found: dict[str, str] = {}
    for folder in library_dirs():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                continue
            data = load_yaml(path, "exercise").data
            data = data if isinstance(data, dict) else {}
            found[path.stem] = " ".join(str(data.get("summary") or data.get("title") or "")
                                        .split())
    return sorted(found.items())


def writable(path: Path, what: str, example: str, force: bool) -> None:
    """Refuse a ``path`` whose stem is no name of a ``what`` (routine, pack), or one
    that is there already unless ``force`` (the CLI says its own --force first)."""
    if path.name in (".yaml", ".yml") or not path.stem.strip():  # `new ""`: '.yaml'
        raise UsageError(f"a {what} name is needed, for example '{example}'")
    if safe_stem(path.stem) == path.stem and path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"{path} is not a YAML file's path; give it a .yaml ending: "
                         f"{path.with_suffix('.yaml')}")  # an app team's review
    if safe_stem(path.stem) != path.stem:
        raise UsageError(f"'{path.stem}' is not a {what} name; use ASCII letters (a-z), "
                         f"digits and '-', for example '{example}'")
    if path.is_dir():  # it said "exists; use --force", then, forced, spoke of tracks
        raise UsageError(f"{path} is a folder, not a {what} file; choose another name "
                         f"or another folder ({option('path', flag='--dir')})")
    if path.exists() and not force:  # new_routine(path) was told to 'use --force'
        raise UsageError(f"{path} already exists; pass force=True to replace it")


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path``; a folder that cannot be written is said with the fix
    the caller knows (``--dir`` on the command line, which ``new`` has, not ``--out``)."""
    with folder_fix(f"choose another folder ({option('path', flag='--dir')})"):
        write_text(path, text)


def new_routine(path: Path | str, source: str | Path | None = None, *, force: bool = False
                ) -> Path:
    """Write a starter routine to ``path`` (or a copy of routine ``source``, a name or a
    file); refuse to replace a file unless ``force``."""
    path = path_arg(path, "path", "file")
    writable(path, "routine", "evening-stretch", force)
    if source is not None:
        found = find_routine(str(source))
        text = _schema_moved(read_text(found, "routine"), found.parent, path.parent)
    else:
        lines = [f"#   {ex_id:<20} {summary}" for ex_id, summary in library_exercises()]
        title = path.stem.replace("-", " ").replace("_", " ").capitalize()
        text = STARTER.format(file=shlex.quote(str(path)),
                              title=json.dumps(title, ensure_ascii=False),
                              exercises="\n".join(lines))
    _write(path, text)
    return path


SCHEMA_LINE: Final = re.compile(r"(# yaml-language-server: \$schema=)(\S+)(?=[ \t]*(?:#.*)?\r?$)",
                                re.M)
"""The comment that tells an editor the routine's JSON Schema (its first lines)."""


def _schema_moved(text: str, source_dir: Path, dest_dir: Path) -> str:
    """``text`` with its editor's schema comment pointing, from ``dest_dir``, at the file
    it pointed at from ``source_dir`` where that file exists (a copy kept a relative path
    that pointed nowhere), else at ``routine.schema.json`` beside it, where the README says
    to write one (a library routine's may point into an installed package)."""
    def moved(m: re.Match[str]) -> str:
        target = m[2]
        if re.match(r"([a-z][a-z0-9+.-]*://|[A-Za-z]:[\\/]|[\\/]|[\"'])", target, re.I):
            return m[0]  # a URL, an absolute path (POSIX or Windows) or quoted: as it was
        there = os.path.abspath(source_dir / target.replace("\\", "/"))
        if not os.path.isfile(there):
            return m[1] + "routine.schema.json"
        try:
            return m[1] + Path(os.path.relpath(there, os.path.abspath(dest_dir))).as_posix()
        except ValueError:  # another drive (Windows): no relative path between them
            return m[1] + Path(there).as_uri()
    return SCHEMA_LINE.sub(moved, text, count=1)


STARTER_PACK: Final = """\
# {file}: a pack, the tracks to build for your clients, one folder each.
# Build it: voiceguide pack {file} --jobs 2 --zip
# Check it: voiceguide validate {file}
# Serve one client's page to her phone: voiceguide serve output/{stem} --lan --listener ana
title: {title}
author: you
email: ""                    # yours: podcast apps (Apple) ask for the owner's email
group_by: name               # one folder per listener, with only their own tracks
output: "{{n:02d}}-{{routine}}-{{name}}"
defaults:                    # settings for every track (each as in a profile)
  bed: rain
matrix:                      # every routine for every name (and length, if given)
  routines: [morning-hips]   # yours (beside this file or in your routine folders) or the library's
  names: [Ana, Zoë]
  # minutes: [5, 10]
# tracks:                    # or one by one, each with its own settings
#   - {{routine: bedtime-hips, name: Ana, minutes: 10, rate: 130}}
"""
"""The pack ``new --pack`` writes: a matrix of routines and listeners, one folder each."""


def new_pack(path: Path | str, *, force: bool = False) -> Path:
    """Write a starter pack to ``path`` (a ``.yaml`` file); refuse to replace a file
    unless ``force``."""
    path = path_arg(path, "path", "file")
    writable(path, "pack", "clients", force)
    title = path.stem.replace("-", " ").replace("_", " ").capitalize()
    _write(path, STARTER_PACK.format(file=shlex.quote(str(path)), stem=path.stem,
                                     title=json.dumps(title, ensure_ascii=False)))
    return path
