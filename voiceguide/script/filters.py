"""The narrator's own template filters, said in the language of the narration being
rendered: ``words`` (a number in words) and ``masculine`` (a side word as a masculine
noun takes it), and which narrators are rendering now, in this thread."""

from __future__ import annotations

import math
import re
import threading
from typing import Any

import jinja2

from voiceguide.languages import DEFAULT_LANGUAGE, masculine_side
from voiceguide.limits import MAX_WORDS
from voiceguide.script.sandbox import Sandbox, bounded_filter
from voiceguide.script.speakable import number_words


class _Rendering(threading.local):
    """The narrators rendering right now in this thread (innermost last): builds in
    several threads each see their own (a shared list gave one build's language to
    another's numbers)."""

    def __init__(self) -> None:
        self.narrators: list[Any] = []


RENDERING = _Rendering()
"""This thread's narrators rendering now (see :class:`~voiceguide.script.templates.Narrator`)."""


def _language() -> str:
    now = RENDERING.narrators
    return str(now[-1].language) if now else DEFAULT_LANGUAGE


@jinja2.pass_context  # never folded into a compiled template, which all languages share
def _words(context: jinja2.runtime.Context, value: object) -> str:
    """The ``words`` filter: a number in words of the narrator's language (a fitted hold's
    41.0 seconds said whole: "forty-one"); a billion or more, or no number, fails."""
    if value is None or isinstance(value, bool | list | tuple | dict | set):  # (unset: below)
        shown = str(value).lower() if value in (None, True, False) else type(value).__name__
        raise TypeError(f"the words filter says a number, not {shown}")  # it said "True"
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):  # "9" * 300
        value = int(value) if len(value) < 20 else MAX_WORDS
    value = math.floor(value + 0.5) if isinstance(value, float) and math.isfinite(value) \
        else value
    if isinstance(value, int) and abs(value) >= MAX_WORDS:  # '1e300 | words': 301 digits
        raise ValueError(f"the words filter says numbers under {MAX_WORDS:,}")
    return number_words(value, _language())


@jinja2.pass_context
def _masculine(context: jinja2.runtime.Context, value: object) -> str:
    """The ``masculine`` filter: a side word of the narrator's language as a masculine
    noun takes it (Italian ``{{ other_side | masculine }}`` after "ginocchio" is
    "destro", Portuguese after "joelho" "direito"); any other value as it is."""
    return masculine_side(str(value), _language())


def make_env() -> Sandbox:
    """The sandbox every narrator renders in, with the narrator's filters."""
    env = Sandbox()
    env.filters["words"] = bounded_filter("words", _words)
    env.filters["masculine"] = bounded_filter("masculine", _masculine)
    env.globals = {}
    return env
