"""Every bound on untrusted input, in one place.

Routines, exercises, packs, profiles, manifests, beds and the phrase cache may come from
someone else, so each is bounded *before* work is spent on it: files are read with a
bounded read, templates run with bounded intermediate values and a bounded number of
operations, an expanded routine is measured before any phrase is synthesised, and a bed
is decoded only as far as the track needs. The README's "Security" section lists these
values; track settings' own bounds (rate, minutes, ...) live in ``settings.py``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

# -- files --------------------------------------------------------------------------
MAX_FILE_BYTES: Final = 512 * 1024
"""Largest routine, exercise, pack or profile file (they are a few kB)."""
MAX_MANIFEST_BYTES: Final = 32 * 1024 * 1024
"""Largest ``pack.json`` or cue sheet read back from an output folder."""
MAX_YAML_NODES: Final = 100_000
"""Most YAML nodes a document may expand to, aliases included."""
MAX_YAML_DEPTH: Final = 48
"""Deepest YAML nesting accepted."""

# -- narration templates (per rendered phrase) --------------------------------------
MAX_RENDERED: Final = 1000
"""Most characters one rendered phrase may have."""
MAX_TEMPLATE_STRING: Final = 10_000
"""Longest string any step of a template may make (``~``, ``+``, ``*``, ``%``, filters)."""
MAX_WORDS: Final = 10**9
"""Numbers the ``words`` filter says are under this (a larger one is no count or length)."""
MAX_TEMPLATE_ITEMS: Final = 1000
"""Longest list a template may make; also the most ``range()`` items and the most loop
iterations of one render."""
MAX_TEMPLATE_OUTPUT: Final = 100_000
"""Most characters all ``{{ ... }}`` of one render may print (blocks and macros too)."""
MAX_TEMPLATE_STEPS: Final = 100_000
"""Most operations (calls, operators, attribute look-ups, loop steps) of one render."""
MAX_TEMPLATE_INT_BITS: Final = 512
"""Largest integer a template may compute, in bits."""
RENDER_SECONDS: Final = 2.0
"""Time limit of one render, in CPU seconds of the thread rendering it (checked at every
operation, in any thread; wall-clock time made builds in threads side by side fail)."""
TOTAL_RENDER_SECONDS: Final = 10.0
"""Limit, in CPU seconds of the threads rendering, of every render of a routine's
narration in one plan of a track (or one validation of a file) together, over every
expansion of it (a build expands a routine about ten times to fit its length; the
shipped routines take about 20 ms in all): see :func:`render_budget`."""
MAX_PHRASE_DEPTH: Final = 4
"""How deeply ``phrase()`` calls may nest."""

MAX_INTEGER: Final = 10**15
"""The largest whole number a file, a dict or a setting may hold: no field takes one near
it, and one of thousands of digits made int-to-text conversions fail as internal errors."""


def too_large(value: object) -> bool:
    """Whether ``value`` is a whole number beyond :data:`MAX_INTEGER` (not a flag)."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER


TOO_LARGE: Final = f"the most any field takes is far below {MAX_INTEGER:.0e}"
"""What a refusal of such a number adds."""

# -- an expanded routine (checked while expanding, before any synthesis) -------------
MAX_EXERCISE_DEPTH: Final = 16
"""How deeply exercises may include one another (a chain of 400, each including the next,
ran the expansion out of stack: an attack; the library nests two deep)."""
MAX_SCRIPT_DEPTH: Final = 64
"""How deeply sections and exercises may nest in the expanded script (sixteen exercises
deep, each in twenty sections, passed every file's bound and ran a comparison of the
script out of stack: an attack)."""
MAX_SCRIPT_STEPS: Final = 20_000
"""Most steps (and exercises) a routine may expand to, each counted every time it is
included: exercises that each include the next one twice double at every level, 2**20
pauses from 21 files of 60 bytes, which no phrase or length bound sees."""
MAX_SCRIPT_PHRASES: Final = 5000
"""Most phrases one track may speak."""
MAX_SCRIPT_CHARACTERS: Final = 300_000
"""Most characters of speech one track may have."""
MAX_SCRIPT_HOURS: Final = 4.0
"""Longest estimated track (the longest ``minutes`` target is 3 hours)."""
MAX_PROBLEMS_SAID: Final = 20
"""Problems of one file said at once, then a line that says there are more (50,000
unknown keys gave 50,000 lines in 15 s); the search for them stops there too."""
MAX_CHAPTERS: Final = 255
"""Most chapters in a track: an MP3's table of contents counts its entries in one byte
(260 sections validated, then the build failed after the whole mix, 'internal error')."""

# -- background beds ------------------------------------------------------------------
MAX_BED_BYTES: Final = 200 * 1024 * 1024
"""Largest bed file accepted (checked before it is hashed or decoded)."""
MAX_BED_SECONDS: Final = 30 * 60.0
"""Longest stretch of a bed file used as the loop (a build decodes only as much as the
track plays, and never more than this; a longer track loops it)."""
BED_DECODE_SECONDS: Final = 60.0
"""Longest time decoding one bed file may take (30 minutes of 96 kHz FLAC take a few
seconds; a file stuffed with 80,000 metadata tags, which ffmpeg reads in quadratic time,
took 145 s of every track before this bound was 60 s)."""

# -- phrase cache ---------------------------------------------------------------------
CACHE_MAX_BYTES: Final = 2_000_000_000
"""Default size of the phrase cache; least recently used phrases are evicted beyond it
(``VOICEGUIDE_CACHE_MAX_MB`` changes it)."""
MAX_CACHE_ENTRY_BYTES: Final = 64 * 1024 * 1024
"""Largest phrase cache entry read (a longer file is not a phrase: it is ignored)."""
LOCK_NOTICE_SECONDS: Final = 5.0
"""After this long waiting for a phrase lock, a build says what it is waiting for."""
LOCK_GIVE_UP_SECONDS: Final = 600.0
"""After this long waiting for a phrase lock, a build stops with an error."""

# -- pronunciation lexicons (a routine's, the user's file) -----------------------------
MAX_LEXICON_ENTRIES: Final = 500
"""Most words one lexicon may respell."""
MAX_LEXICON_WORD: Final = 40
"""Longest word (or phrase) a lexicon may respell, in characters."""
MAX_LEXICON_SAYING: Final = 100
"""Longest respelling or phoneme string, in characters."""


@dataclass
class RenderTime:
    """Seconds narration templates have taken to render so far in one budget (bounded
    by :data:`TOTAL_RENDER_SECONDS`)."""

    seconds: float = 0.0


_budget: contextvars.ContextVar[RenderTime | None] = contextvars.ContextVar(
    "render_budget", default=None)


@contextlib.contextmanager
def render_budget() -> Iterator[None]:
    """One :data:`TOTAL_RENDER_SECONDS` budget for every render in this block and in
    the blocks it calls (one plan of a track; one validation of a file, which plans it
    several times). Per block, not per routine: a routine loaded once and built track
    after track (a server) ran out of it after about 1,500 builds."""
    if _budget.get() is not None:  # inside another: its budget
        yield
        return
    token = _budget.set(RenderTime())
    try:
        yield
    finally:
        _budget.reset(token)


def render_spent() -> RenderTime:
    """The budget of the enclosing :func:`render_budget` (else a new one, for one use)."""
    return _budget.get() or RenderTime()


def track_length(value: object) -> bool:
    """Whether ``value``, read back from a file, can be a track's length in seconds: a
    number (not a bool, not NaN) from 0 to :data:`MAX_SCRIPT_HOURS`."""
    return not isinstance(value, bool) and isinstance(value, int | float) \
        and 0 <= value <= MAX_SCRIPT_HOURS * 3600
