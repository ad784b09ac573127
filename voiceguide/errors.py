"""The one error hierarchy of voiceguide and the exit codes the CLI maps it to.

The library never prints or exits: it raises a subclass of :class:`VoiceguideError`
whose message a person can act on. ``cli.py`` turns it into ``Error: <message>`` on
stderr and the exit code of the error class.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterable, Iterator
from enum import IntEnum
from typing import Final, Literal


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    """Success."""
    ERROR = 1
    """An unexpected internal error (a bug: please report it)."""
    USAGE = 2
    """Wrong command-line usage (unknown option, bad option value)."""
    INVALID_INPUT = 3
    """A routine, exercise, pack or profile file is missing or invalid."""
    TEMPLATE = 4
    """A narration template failed to render or tried something refused by the sandbox."""
    SCHEDULE = 5
    """The routine cannot be timed: a phrase does not fit its slot, or a target is out of reach."""
    ENGINE = 6
    """The speech engine cannot start or failed while synthesising."""
    VOICE = 7
    """The requested voice does not exist in the engine."""
    AUDIO_INPUT = 8
    """An audio input (a background bed file) cannot be read."""
    OUTPUT = 9
    """The output cannot be written (folder not writable, disk full, a plugin format's
    file that is not the track)."""
    MEMORY = 10
    """Not enough memory for the work asked (nothing half-written is left)."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT) or SIGTERM; nothing half-written is left behind."""


_BREAKS: Final = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with its line breaks written out (``\\n``, ``\\u2028``): a file's value
    quoted in a message or a warning stays on its line (an attack: an exercise named
    ``"a\\nok: x.yaml (routine)"`` printed a forged ``ok:`` line, or ``Error:`` one)."""
    return _BREAKS.sub(lambda m: repr(m[0])[1:-1], text)


class Lines(str):
    """A message of several lines, each made one line already (several problems, or a
    pack's failed tracks): an error given one keeps its line breaks."""

    __slots__ = ()


class VoiceguideError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        message = message if isinstance(message, Lines) else one_line(message)
        super().__init__(message)
        self.message = message
        self.warnings: list[str] = []
        """Warnings found before the error (``validate`` reports them with it)."""

    def __str__(self) -> str:
        return self.message


def with_message(exc: VoiceguideError, message: str) -> VoiceguideError:
    """A copy of ``exc`` (its class, so the same exit code and the same ``except``
    catches it; its warnings and other fields) saying ``message`` instead. Made by hand,
    not by ``copy.copy``: a library that registers exception reducers (tblib, which Dask
    installs) made the copy share the original's fields, and renamed the original too."""
    cls = type(exc)
    error = cls.__new__(cls, message)
    error.__dict__.update(exc.__dict__)  # this copy's own fields, the original's values
    error.message = message
    error.args = (message,)
    error.warnings = list(exc.warnings)
    if isinstance(error, InvalidInputError):
        error.problems = message.splitlines()
    return error


class UsageError(VoiceguideError):
    """A command-line value makes no sense (an unknown format, a negative rate)."""

    exit_code = ExitCode.USAGE


class LevelNotWritten(UsageError):
    """``--level beginner`` for an advanced routine with no beginner steps or words of its
    own: its advanced work is not played to a beginner."""


class InvalidInputError(VoiceguideError):
    """An input file is missing, unreadable or invalid. ``problems`` holds every problem."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = [self.message] if problems is None else [
            p if isinstance(p, Lines) else one_line(p) for p in problems]


class OtherKindError(InvalidInputError):
    """A file of another kind where one kind is read: a pack given as a routine, a
    routine as a pack or a profile (the message says what to do with it)."""


class TemplateError(VoiceguideError):
    """A narration template failed to render (syntax, undefined variable, sandbox refusal)."""

    exit_code = ExitCode.TEMPLATE


class ScheduleError(VoiceguideError):
    """The timeline cannot be built: a phrase does not fit, or a target length is unreachable."""

    exit_code = ExitCode.SCHEDULE


def hurry_fix(slow_rate: int | None = None, slot: str = "phase") -> str:
    """What to do about a phrase too long for its ``slot`` (a longer hold, breath...; a
    faster rate too, given the ``slow_rate`` a track speaks at, slower than the default)."""
    if slow_rate is None:
        return f"use fewer words or a longer {slot}"
    return (f"use fewer words, a longer {slot} or a faster rate (the track speaks at "
            f"{slow_rate} words per minute)")


class PhraseTooLong(ScheduleError):
    """A phrase too long for its slot even at the fastest speed."""

    def __init__(self, problem: str, slow_rate: int | None = None, slot: str = "phase") -> None:
        self.problem = problem
        """The phrase, its place, its length and its slot's, without the fix."""
        self.slot = slot
        """The kind of the slot (hold, breath, phase...): what a fix lengthens."""
        super().__init__(f"{problem}; {hurry_fix(slow_rate, slot)}")


class EngineError(VoiceguideError):
    """The speech engine could not start or failed while synthesising."""

    exit_code = ExitCode.ENGINE


class VoiceNotFoundError(VoiceguideError):
    """The requested voice id is not one of the engine's voices."""

    exit_code = ExitCode.VOICE


class AudioInputError(VoiceguideError):
    """A bed audio file is missing, not audio, truncated or too large."""

    exit_code = ExitCode.AUDIO_INPUT


class OutputError(VoiceguideError):
    """An output file cannot be written."""

    exit_code = ExitCode.OUTPUT


class Interrupted(VoiceguideError):
    """The run was interrupted by a signal; partial outputs were removed."""

    exit_code = ExitCode.INTERRUPTED


SAME_AS: Final[dict[str, tuple[str, ...]]] = {
    "sitting": ("seated",), "sit": ("seated",), "supine": ("lying",), "prone": ("lying",),
    "lying-down": ("lying",), "stand": ("standing",), "kneel": ("kneeling",),
    "speed": ("rate",), "tempo": ("rate",), "wpm": ("rate",),
    # a step's fields: a repeat's count is a breathe's cycles ("count" was "did you mean
    # 'out'?"), and a hold's length is its seconds
    "count": ("cycles",), "cycles": ("count",), "times": ("count", "cycles"),
    "reps": ("count", "cycles"), "repetitions": ("count", "cycles"), "breaths": ("cycles",),
    "rounds": ("cycles", "count"), "duration": ("seconds",), "time": ("seconds",),
    "secs": ("seconds",), "length": ("seconds",)}
"""Words people write for one of ours that spelling alone would not find ("sitting" is
closer to "standing" than to "seated"; a track's "speed" is its speaking rate): each
with the words it may mean, the first a place takes is meant."""


def same_as(word: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``word`` means in other words (see :data:`SAME_AS`)."""
    choices = set(choices)
    return next((c for c in SAME_AS.get(word.lower(), ()) if c in choices), None)


Naming = Literal["cli", "python", "file"]
"""How messages name options: the command line's (``--bed-volume -20``), Python's
keywords (``bed_volume=-20``) or a pack file's fields (``bed_volume: -20``)."""
_FLAGS: list[tuple[object, Naming]] = []
"""The :func:`cli_messages` and :func:`file_fields` blocks open, in the order they were
entered: the last one decides how messages name options (see :func:`option`)."""
_UNSET: Final = object()
_WORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def option(name: str, value: object = _UNSET, flag: str | None = None, *,
           bare: bool = False) -> str:
    """How a message names the setting or argument ``name`` (spelt as in Python), with
    the ``value`` given: as the command line's option while it runs (``--bed-volume
    -20``, ``--force``; ``flag`` where its name is another, ``--out`` for ``out_dir``),
    else as Python's keyword (``bed_volume=-20``, or ``'bed_volume'`` alone), and inside
    :func:`file_fields` as a pack file's field (``bed_volume: -20``). An app team's
    review: "leave --minutes out" and "use --force" answered keyword arguments. On the
    command line a value is shown as typed where it is one word, or ``bare`` (an address
    before a colon), else quoted."""
    shown = repr(value) if isinstance(value, str) else str(value)
    said_as = naming()
    if said_as == "file":  # a pack's track: its file's field, as written there
        shown = value if isinstance(value, str) and _WORD.fullmatch(value) else shown
        return f"'{name}'" if value is _UNSET or value is True else f"{name}: {shown}"
    if said_as == "cli":
        said = flag or "--" + name.replace("_", "-")
        if isinstance(value, str) and (bare or _WORD.fullmatch(value)):
            shown = value  # as typed: --engine espeak (a path or an address: quoted)
        return said if value is _UNSET or value is True else f"{said} {shown}"
    return f"'{name}'" if value is _UNSET else f"{name}={shown}"


@contextlib.contextmanager
def cli_messages(on: bool = True) -> Iterator[None]:
    """Inside, errors name settings and arguments as command-line options
    (``--bed-volume``); else as Python's keywords (``bed_volume=``). A command-line
    front end (``voiceguide``'s own, and the pack workers it starts, local or on Dask)
    runs inside. The switch is the process's, every thread's (an error raised on an
    encoder's or a runner's thread is named as the command line names it), so it is not
    for one request of a server among others; a block that ends takes only its own
    setting away (threads that overlap: the one entered last decides until it ends)."""
    yes_or_no(on=on)  # cli_messages("no") was on
    with _named("cli" if on else "python"):
        yield


@contextlib.contextmanager
def file_fields() -> Iterator[None]:
    """Inside, errors name a track's settings as its pack file's fields (``'minutes'``,
    ``engine: piper``): a pack's track said "leave --minutes out", an option the
    ``pack`` command has not (a review). Its workers build each track inside."""
    with _named("file"):
        yield


@contextlib.contextmanager
def _named(naming: Naming) -> Iterator[None]:
    entry = (object(), naming)
    _FLAGS.append(entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _FLAGS.remove(entry)  # its own, wherever it is (another thread's may be on top)


def naming() -> Naming:
    """How messages name options now (see :func:`option`)."""
    try:
        return _FLAGS[-1][1]
    except IndexError:  # no block open (or the last one ended on another thread meanwhile)
        return "python"


def cli_messages_on() -> bool:
    """Whether messages name options as the command line does (see :func:`cli_messages`)."""
    return naming() == "cli"


def yes_or_no(**flags: object) -> None:
    """A :class:`UsageError` for an app's flag that is not True or False (None where a
    flag is left out): a form's "no" is true to Python, and split="no" split the track."""
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool):
            raise UsageError(f"{name} is True or False, not {type(value).__name__} "
                             f"{str(value)[:40]!r}")


def callable_or_none(**arguments: object) -> None:
    """A :class:`UsageError` for an app's callback that cannot be called (None where it is
    left out): progress="x" failed deep inside a build with "'str' object is not
    callable"."""
    for name, value in arguments.items():
        if value is not None and not callable(value):
            raise UsageError(f"{name} is a function to call, or None; not "
                             f"{type(value).__name__} {str(value)[:40]!r}")


def with_methods(name: str, value: object, needs: tuple[str, ...], give: str) -> None:
    """A :class:`UsageError` for an app's object ``name`` (None where it is left out)
    that has not the methods ``needs``; ``give``: what to give instead."""
    if value is not None and not all(callable(getattr(value, n, None)) for n in needs):
        raise UsageError(f"{name} has no {', '.join(needs)}: give {give} or leave it out, "
                         f"not {type(value).__name__}")


def suggest(word: str, choices: Iterable[str], synonyms: bool = True) -> str:
    """`` (did you mean 'x'?)`` for the closest choices (with ``synonyms``, a word that
    means one of them first: see :data:`SAME_AS`), or an empty string."""
    choices = list(choices)
    if synonyms and (meant := same_as(word, choices)) is not None:
        return f" (did you mean '{meant}'?)"
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" (did you mean '{close[0]}'?)"
    return " (did you mean " + ", ".join(f"'{c}'" for c in close) + "?)"


def unknown_engine(name: str, engines: Iterable[object]) -> str:
    """What to say of ``name``, the name of none of the registered ``engines`` (classes):
    the nearest name (a ``hidden`` one too: 'tset' is the test engine the README gives
    macOS users) and the engines to use (not the hidden ones)."""
    found = sorted(engines, key=lambda c: str(getattr(c, "name", "")))
    shown = [str(getattr(c, "name", "")) for c in found if not getattr(c, "hidden", False)]
    near = suggest(name, [str(getattr(c, "name", "")) for c in found])
    return f"unknown speech engine '{name}'{near}; use one of {', '.join(shown)}"


def in_line_order(problems: list[str]) -> list[str]:
    """``file:line:col: ...`` problems by line and column within each file (the files in
    the order they first come; a routine's were said at lines 40, 4 and 35)."""
    files: dict[str, int] = {}

    def key(problem: str) -> tuple[int, int, int]:
        at = re.match(r"(.+?):(\d+):(\d+): ", problem)
        if at is None:
            return (files.setdefault(problem, len(files)), 0, 0)
        return (files.setdefault(at.group(1), len(files)), int(at.group(2)), int(at.group(3)))

    keys = [key(p) for p in problems]  # files numbered in the order they come
    return [p for _, p in sorted(zip(keys, problems, strict=True), key=lambda kp: kp[0])]


NO_OPTIONAL: Final = "without its optional steps, as with --no-optional"
"""What a warning found only where a routine's optional steps are left out says of it."""
_TIMES: Final = re.compile(r" \((\d+) times\)")


def counted_once(warnings: list[str]) -> list[str]:
    """``warnings`` once each, one that differs only in how many times it happens (at
    each level and length planned) said once, with the most ("(up to 6 times)"; a new
    user's review read the same hurried phrase three times, 4, 3 and 6 times)."""
    first: dict[str, str] = {}
    counts: dict[str, set[int]] = {}
    for w in warnings:
        key = _TIMES.sub("", w)
        first.setdefault(key, w)
        counts.setdefault(key, set()).update(int(n) for n in _TIMES.findall(w))
    return [_TIMES.sub(f" (up to {max(counts[k])} times)", w, count=1) if len(counts[k]) > 1
            else w for k, w in first.items()]
