"""Personal profiles: a listener's defaults for ``build`` and ``pack`` (options win).

A profile is a small YAML file of :class:`~voiceguide.settings.TrackSettings` keys.
``voiceguide init`` writes a commented one to the user's config folder (or a path you
give); ``build`` and ``pack`` read ``--profile FILE`` or, when none is given, that
default file if it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from voiceguide.errors import UsageError, option
from voiceguide.io.atomic import folder_fix, write_text
from voiceguide.io.paths import path_arg
from voiceguide.io.yamldoc import load_yaml
from voiceguide.vocabulary import looks_like_file

if TYPE_CHECKING:  # the models load on first use: finding the default profile stays light
    from voiceguide.settings import TrackSettings

PROFILE_ENV: Final = "VOICEGUIDE_PROFILE"
"""Environment variable naming the default profile file."""


def default_profile_path() -> Path:
    """``$VOICEGUIDE_PROFILE`` or ``profile.yaml`` in the user's config folder."""
    from platformdirs import user_config_dir

    env = os.environ.get(PROFILE_ENV)
    if env:
        return Path(env)
    return Path(user_config_dir("voiceguide", appauthor=False)) / "profile.yaml"


def profile_to_read(path: Path | str | None) -> Path | None:
    """The profile file a build reads: ``path``, else the default file (in the config
    folder or where ``$VOICEGUIDE_PROFILE`` puts it) if there is one there, else None.
    Something there that is not a regular file (a FIFO, a device, a folder) is read, so
    that it is refused as such, not taken for no profile."""
    if path is not None:  # an app's str too
        return path_arg(path, "profile", "profile file")
    path = default_profile_path()
    return path if os.path.lexists(path) else None


LEXICON_ENV: Final = "VOICEGUIDE_LEXICON"
"""Environment variable naming the user's pronunciation lexicon file."""


def default_lexicon_path() -> Path:
    """``$VOICEGUIDE_LEXICON`` or ``lexicon.yaml`` in the user's config folder (the
    user's pronunciation lexicon, see :mod:`voiceguide.routine.lexicon`)."""
    from platformdirs import user_config_dir

    env = os.environ.get(LEXICON_ENV)
    if env:
        return Path(env)
    return Path(user_config_dir("voiceguide", appauthor=False)) / "lexicon.yaml"


CACHE_ENV: Final = "VOICEGUIDE_CACHE_DIR"
"""Environment variable naming the cache folder."""


def default_cache_dir() -> Path:
    """``$VOICEGUIDE_CACHE_DIR`` or the platform's user cache folder (phrases, journals of
    remote packs, up-to-date stamps of local packs)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voiceguide", appauthor=False))


def load_profile(path: Path | str | None, *, confined: bool = False,
                 roots: Sequence[Path] = ()) -> TrackSettings:
    """The profile at ``path`` as a settings layer; with None, the default profile if it
    exists, else an empty layer. A bed or voice file it names is taken from the
    profile's folder (``~`` is the home folder); ``confined`` (a profile a pack names)
    makes one outside that folder and the folders ``roots`` an error."""
    from voiceguide.io.kinds import wrong_kind
    from voiceguide.io.models import validate_document
    from voiceguide.settings import TrackSettings

    path = profile_to_read(path)
    if path is None:
        return TrackSettings()
    doc = load_yaml(path, "profile", empty_ok=True)
    other = wrong_kind(path, doc.data, TrackSettings.model_fields, "profile")
    if other is not None:  # a routine given as a profile: said in one line
        from voiceguide.errors import OtherKindError

        raise OtherKindError(other)
    from voiceguide.settings import files_outside, relative_to, unknown_bed

    layer = validate_document(doc, TrackSettings)
    for key, value, why in files_outside(layer, path.parent, roots) if confined else ():
        from voiceguide.errors import InvalidInputError

        line, col = doc.where((key,))
        raise InvalidInputError(f"{path}:{line}:{col}: {key}: '{value[:200]}' is outside "
                                f"the profile's folder and the routine folders ({why}); put "
                                "the file beside it")
    # a bed or voice file it names is found beside it, wherever one builds from
    found = relative_to(layer, path.parent)
    if layer.bed and looks_like_file(layer.bed) and found.bed and (
            unknown := unknown_bed(layer.bed, Path(found.bed))):  # "beds/rain"
        from voiceguide.errors import InvalidInputError

        line, col = doc.where(("bed",))
        raise InvalidInputError(f"{path}:{line}:{col}: bed: {unknown}")
    return found


PROFILE_TEMPLATE: Final = """\
# voiceguide profile: your defaults for 'voiceguide build' and 'voiceguide pack'.
# Options on the command line win over these, and these over a routine's own choices
# (its bed, its level). Every setting but your name is left at its built-in default,
# shown (or, where the default is each routine's own, an example): remove the '# '
# before a line to change it.

# Your name, spoken now and then in the narration (leave empty for none).
name: {name}

# Voice id from 'voiceguide voices' (default: a voice of the routine's language;
# the line shows an example)
# voice: gmw/en-us

# Speaking rate in words per minute, as heard (100-300).
# rate: 140

# beginner or advanced: which variations the routines use (default: each routine's own;
# the line shows an example)
# level: beginner

# Background sound: none, rain, ocean, drone, or the path to your own audio file
# (default: each routine's own, else none; the line shows an example).
# bed: rain

# Bed level in dB in holds, relative to the loudness target (-60 to 0; -14 is soft).
# bed_volume: -14

# Default length of a track in minutes (default: each routine's own; each has a range;
# the line shows an example)
# minutes: 12

# A length a routine cannot meet exactly is an error, not the nearest one it can.
# strict_minutes: false

# Loudness target in LUFS (-16 suits phones and podcast apps), or off.
# loudness: -16

# File format: {formats}.
# format: mp3

# Include the optional steps of a routine.
# optional: true

# Speech engine: espeak, or piper (the neural extra; see 'voiceguide voices').
# engine: espeak
"""


def write_profile_template(path: Path | str, name: str = "", force: bool = False,
                           formats: Sequence[str] = ()) -> Path:
    """Write a commented profile to ``path``; refuse to overwrite unless ``force``.
    ``formats``: the output formats to list (see :func:`voiceguide.formats`)."""
    path = path_arg(path, "path", "profile file")  # a str as every other path argument
    if path.is_dir():  # it said "a profile already exists", then, forced, spoke of tracks
        raise UsageError(f"{path} is a folder, not a profile file; give the path of the "
                         f"file to write, such as {path / 'profile.yaml'}")
    if path.exists() and not force:
        raise UsageError(f"{path}: a profile already exists; use {option('force', True)} "
                         "to replace it")
    from voiceguide.settings import TrackSettings

    if name:  # a name the profile could not be read back with is said now, not at build
        TrackSettings.from_options({"name": name})
    for listed in formats:  # formats=["flac"] was listed as a choice (an app's review)
        TrackSettings.from_options({"format": listed})
    text = PROFILE_TEMPLATE.format(name=json.dumps(name, ensure_ascii=False) if name else "",
                                   formats=", ".join(formats) or "mp3")
    # its fix names init's argument (an attack: '--out', which init has not)
    with folder_fix(f"choose another folder for it ({option('path', flag='the PATH argument')})"):
        write_text(path, text)
    return path
