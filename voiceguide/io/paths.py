"""Safe file names made from user text (routine ids, listener names, titles)."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from voiceguide.errors import UsageError, option, suggest
from voiceguide.vocabulary import AUDIO_SUFFIXES

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


MAX_STEM: Final = 100
"""Longest file name stem made; a longer one keeps its start and ends in a short hash of
the whole (cut short, two listeners' or two lengths' names met: an app team's review)."""


def shortened(stem: str, most: int) -> str:
    """``stem`` (a safe one) if it has at most ``most`` characters, else its start and a
    short hash of the whole, ``most`` characters at most: two long stems stay apart."""
    if len(stem) <= most:
        return stem
    return f"{stem[: most - 9].rstrip('-._')}-{_digest(stem)}"


def safe_stem(text: str) -> str:
    """A safe file name stem: ASCII letters, digits, '.', '-', '_' (accents dropped, other
    characters become '-'); no leading dot, no empty parts, so no path can come out; at
    most :data:`MAX_STEM` characters, a longer one cut and told apart by a hash."""
    latin = unicodedata.normalize("NFKD", text.translate(_LATIN))
    ascii_text = latin.encode("ascii", "ignore").decode()
    parts = (part.strip("._") for part in _UNSAFE.sub("-", ascii_text).split("-"))
    stem = re.sub(r"\.{2,}", ".", "-".join(part for part in parts if part)).strip("-._")
    stem = shortened(stem, MAX_STEM)
    first, dot, rest = stem.partition(".")
    if first.lower() in _RESERVED:  # CON.mp3 is the device CON to Windows
        stem = f"{first}_{dot}{rest}"
    return stem or "track"


def file_name_only(text: str | None, argument: str, folder: str,
                   folder_flag: str | None = None) -> None:
    """A :class:`UsageError` when a file's name given as ``argument`` (None: not given)
    names a folder too: a separator (``/``, or Windows' ``\\``) in it, or ``.`` or ``..``.
    Refused, not made safe: ``../evening`` made ``evening`` met another track's file.
    ``argument`` and ``folder`` are named as :func:`~voiceguide.errors.option` names them
    (``folder_flag``: the folder's command-line option, ``--out`` for ``out_dir``)."""
    if text is not None and ("/" in text or "\\" in text or text.strip() in (".", "..")):
        raise UsageError(f"{option(argument, text[:80])} is a path, not a file's "
                         "name: give a file name without folders, e.g. 'evening' (the "
                         f"folder is {option(folder, flag=folder_flag)})")


_LATIN: Final = str.maketrans({
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE",
    "œ": "oe", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "ı": "i",
    "Ħ": "H", "ħ": "h", "Ŀ": "L", "ŀ": "l", "ſ": "s"})
"""Latin letters that Unicode does not decompose into an ASCII letter and a mark
(Łukasz, Søren, Straße), spelled as their languages write them without the mark."""


NAME_FIELDS: Final = ("n", "routine", "name", "minutes", "length", "bed", "level", "voice",
                      "title")
"""Fields a naming template (a pack's ``output``, ``build --track-name``) may use."""
_SPEC: Final = re.compile(r"^0?[1-9]?d?$")


def render_name(template: str, values: dict[str, object]) -> str:
    """Fill a naming template (only plain ``{field}`` and ``{n:02d}``) and sanitise it;
    a ValueError names the fields allowed."""
    import string

    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{exc}; use " + ", ".join("{" + f + "}" for f in NAME_FIELDS)
                         ) from None
    for literal, fname, spec, conv in parsed:
        out.append(literal)
        if fname is None:
            continue
        if fname not in NAME_FIELDS or conv or (spec and (fname != "n" or not _SPEC.match(spec))):
            written = "{" + fname + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            why = (f"no field of that name{suggest(fname.strip(), NAME_FIELDS)}"
                   if fname not in NAME_FIELDS else "no conversion such as !r" if conv else
                   "a format is a width for {n} only: {n:02}")
            raise ValueError(f"'{written}}}' is not allowed ({why}); use "
                             + ", ".join("{" + f + "}" for f in NAME_FIELDS))
        value = format(values[fname], spec) if spec else str(values[fname])
        out.append(named_part(value) if fname in ("name", "title") else value)
    return safe_stem("".join(out))


NAME_BYTES: Final = 255
"""Longest name of one file or folder most file systems allow (in bytes, as UTF-8)."""
PATH_BYTES: Final = 4095
"""Longest path Linux allows."""


def unnameable(value: str) -> str | None:
    """Why path ``value`` cannot name a file (longer than a file system allows, or a lone
    surrogate in it), or None; said before it is opened (the system's own error was an
    internal error, exit 1, found by an attack)."""
    try:
        os.fsencode(value)  # a name's bytes that are not UTF-8 come back (\udcff is 0xff)
    except UnicodeEncodeError:  # a lone surrogate ("\ud800.wav"): no file's name
        return "the name holds a character no file name can (a lone surrogate); retype it"
    if len(value.encode("utf-8", "surrogateescape")) > PATH_BYTES:
        return f"the path is longer than a system allows ({PATH_BYTES} bytes); shorten it"
    for part in Path(value).parts:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_BYTES:
            return (f"'{part[:24]}...' is longer than a file or folder name may be "
                    f"({NAME_BYTES} bytes); shorten it")
    return None


def path_arg(value: object, argument: str, what: str = "folder") -> Path:
    """A file's or folder's path an app passes (a str, bytes or a path-like), or a
    :class:`UsageError` naming the ``argument`` (another kind, a NUL in it)."""
    text: object = value
    if isinstance(value, os.PathLike):
        try:
            text = os.fspath(value)
        except TypeError:  # its __fspath__ gives neither str nor bytes
            text = None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not isinstance(text, str):
        raise UsageError(f"{argument} is a {what}'s path (a str or a Path), not "
                         f"{type(value).__name__}")
    if "\0" in text:
        raise UsageError(f"{argument}: a path cannot hold a NUL character")
    if (why := unnameable(text)) is not None:
        raise UsageError(f"{argument}: {why}")
    return Path(text)


def named_part(text: str) -> str:
    """A name or title as it goes into a file name: as written (made safe later), or,
    when nothing of it is left in ASCII letters and digits (a name in another script),
    ``listener-`` and a short hash of it, so that two listeners never share a file; where
    some of its letters are in another script, which the file name cannot keep ("Ana 李"),
    with a short hash of it after ("Ana-1b2c3d4e", not "Ana")."""
    if not text.strip():
        return text
    if not _has_ascii(text):
        return _hashed(text)
    return f"{text}-{_digest(text)}" if any(_lost(c) for c in text) else text


def _lost(char: str) -> bool:
    """Whether a letter or digit leaves nothing of itself in a file name's ASCII."""
    if unicodedata.category(char)[0] not in "LN":
        return False
    ascii_char = unicodedata.normalize("NFKD", char.translate(_LATIN)).encode("ascii", "ignore")
    return re.search(rb"[A-Za-z0-9]", ascii_char) is None


def _digest(text: str) -> str:
    """A short hash of ``text`` (8 hex digits)."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _has_ascii(text: str) -> bool:
    """Whether ``text`` keeps an ASCII letter or digit in a file name (accents dropped,
    and Ø, ß or Ł spelt as :func:`safe_stem` spells them)."""
    return any(unicodedata.category(c)[0] in "LN" and not _lost(c) for c in text)


def _hashed(text: str) -> str:
    """``listener-`` and a short hash of ``text``."""
    return f"listener-{_digest(text)}"


MAX_FOLDER: Final = 48
"""Longest folder name made from a listener's name (or another group value)."""
_RESERVED: Final = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
     *(f"lpt{i}" for i in range(10))])
"""Names Windows will not give a folder."""


def folder_slug(text: str) -> str:
    """A safe folder name for ``text`` (a listener's name): lower-case ASCII letters,
    digits, '-' and '_' only (no dots, so no '..' and no clash with the pack's own files),
    at most :data:`MAX_FOLDER` characters. Text with nothing ASCII in it (a name in
    another script) gets ``listener-`` and a short hash of the text, so it stays distinct."""
    if not _has_ascii(text):
        return _hashed(text)
    stem = safe_stem(text.replace(".", " ")).lower()[:MAX_FOLDER].strip("-_")
    return f"{stem}_" if stem in _RESERVED else stem


def leaves_folder(value: str, folder: Path, also: Sequence[Path] = ()) -> str | None:
    """Why the file a document names (``value``, taken from the document's ``folder``)
    is not inside that folder, or None when it is: an absolute path or a home folder
    (``~``), or a ``..`` or symbolic link on the way that leads out. A routine or
    pack from someone else may name its own files, not the files of whoever builds it
    (a bed of ``/home/you/private.wav`` was mixed into the track). A file inside one of
    the folders ``also`` (the routine folders: a coach's ``routines/beds/``) is in too."""
    path = Path(value)
    if path.is_absolute():
        return "an absolute path"
    if value.startswith("~"):
        return "a path from a home folder"
    try:
        real = (folder / path).resolve()
        roots = [root.resolve() for root in (folder, *also)]
    except (OSError, RuntimeError):  # a link loop: not found, said where it is opened
        return None
    if any(real == root or root in real.parents for root in roots):
        return None
    return "a path through '..'" if ".." in path.parts else \
        "a symbolic link that leads out of it"


_WORD_START: Final = r"(?<![^\s'\"(])"
"""Where a word starts in a message (after a space, a quote or a parenthesis)."""
_ROOTED: Final = re.compile(_WORD_START + r"/[^\s:'\"]+?\.ya?ml\b")
"""A file's absolute path in a message."""


def unrooted(text: str, bases: Sequence[Path]) -> str:
    """``text`` (a message) with every file in one of the folders ``bases`` (a routine's
    folder, the folders its exercise library lies in) named from that folder, however
    the folder was given (``../home/mia/my coaching/r.yaml`` is ``r.yaml``), and any other
    absolute path by its name: what a build's warnings say in the cue sheet a listener
    is handed, which gave away the coach's home folder."""
    roots = {form.rstrip(os.sep) + os.sep for b in bases
             for form in (str(b), os.path.abspath(b)) if form not in ("", ".", os.sep)}
    for root in sorted(roots, key=len, reverse=True):  # a space in a folder's name too
        text = re.sub(_WORD_START + re.escape(root), "", text)
    return _ROOTED.sub(lambda found: os.path.basename(found.group()), text)


def output_folder(out_dir: object, name_argument: str) -> Path:
    """The output folder an app or the command line gives (a str taken too): one named as
    a track (``--out mytrack.mp3``, which made a folder of that name with the track in
    it) is a :class:`UsageError` saying where the file's name goes (``name_argument``)."""
    folder = path_arg(out_dir, "out_dir")
    if folder.suffix.lower() in AUDIO_SUFFIXES and not folder.is_dir():
        raise UsageError(f"{folder} looks like a track's file name, but the output is a "
                         f"folder ({option('out_dir', flag='--out')}): give the folder "
                         f"there, and the file's name with "
                         f"{option(name_argument, flag='--track-name')}")
    return folder
