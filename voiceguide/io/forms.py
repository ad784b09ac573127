"""What a value of a file should look like, said where another kind of value was given."""

from __future__ import annotations

from typing import Any, Final

from voiceguide.errors import same_as

MAPPING_FORMS: Final = {
    "pause": "pause: {seconds: 5}", "rest": "rest: {seconds: 5}",
    "hold": "hold: {seconds: 30}", "breathe": "breathe: {in: 4, out: 6, cycles: 3}",
    "repeat": "repeat: {count: 5, phases: [{say: Lift., seconds: 3}]}",
}
"""The form of a step whose value is a mapping, said where a number was given."""
TAKES_SECONDS: Final = frozenset({"pause", "rest", "hold"})
"""The steps that also take their seconds alone (``pause: 5``)."""


def a_number(value: Any) -> bool:
    """A number, or text a number is read from ('1e9': YAML 1.1 wants 1.0e+9)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def why_text(value: str, step: str) -> str:
    """Why a number given to ``step`` was read as text: in quotes (``"5"``), where the
    step takes a number as it is (``pause: 5``), or written as YAML reads no number
    (``1e9``: YAML 1.1 wants ``1.0e+9``); empty when the quotes are not what is wrong."""
    import yaml

    try:
        quoted = isinstance(yaml.safe_load(value), int | float)  # a number unquoted
    except yaml.YAMLError:
        quoted = False
    if quoted:
        return " (or remove the quotes: a number in quotes is text)" \
            if step in TAKES_SECONDS else ""
    return f" (YAML reads {value} as text, not a number)"


def misspelt(found: list[tuple[tuple[Any, ...], str]]
             ) -> tuple[set[tuple[Any, ...]], dict[tuple[Any, ...], str]]:
    """A required field missing beside an unknown key of nearly its name (``step:`` for a
    section's ``steps:``) is one mistake. From each problem's place and pydantic kind: the
    places of such missing fields (not said), and by each such key's place, the field it
    means."""
    import difflib

    missing = [loc for loc, kind in found if kind == "missing" and loc]
    skip: set[tuple[Any, ...]] = set()
    meant: dict[tuple[Any, ...], str] = {}
    for loc, kind in found:
        near = [m for m in missing if kind == "extra_forbidden" and m[:-1] == loc[:-1]
                and (difflib.get_close_matches(str(loc[-1]), [str(m[-1])], cutoff=0.6)
                     or same_as(str(loc[-1]), [str(m[-1])]))]  # repeat's times: count
        if near:
            skip.add(near[0])
            meant[loc] = str(near[0][-1])
    return skip, meant


def outside(key: str, value: float, low: float, high: float, suffix: str = "") -> str:
    """The message for ``key``'s ``value`` outside its ``min``..``max`` (``min_cycles``
    with ``suffix``), with the two ways to mend it: move the bound, or the value."""
    bound, verb = (f"max{suffix}", "raise") if value > high else (f"min{suffix}", "lower")
    return (f"'{key}' ({value:g}) is outside min{suffix}..max{suffix} ({low:g}..{high:g}); "
            f"{verb} {bound} to {value:g} or set {key} within {low:g}..{high:g}")


SECONDS_KEYS: Final = frozenset({"seconds", "in", "out", "hold", "hold_out", "pause", "rest",
                                 "at", "remaining", "switch_pause", "min", "max"})
"""The fields whose number is seconds (a breath's phases, a step's length and its bounds,
a cue's time; not a repeat's ``min`` and ``max``, which count)."""
SPANS: Final = frozenset({"hold", "pause", "rest"})
"""The steps whose long stretch can be split into several."""


def bound_message(loc: tuple[Any, ...], sign: str, bound: Any, value: Any, got: str) -> str:
    """The value at ``loc`` past its ``bound`` (``sign``: ``<=``, ``>`` ...), in words: a
    field of seconds says so, and what a number of milliseconds (4000 for 4 s: at least
    five times the bound) would be in seconds; a hold, pause or rest too long, that it can
    be split (``got``: the value as shown)."""
    shown = f"{bound:g}" if isinstance(bound, int | float) else str(bound)
    words = {"<=": "at most", "<": "less than", ">=": "at least", ">": "more than"}[sign]
    key, parent = (loc[-1] if loc else None), (loc[-2] if len(loc) > 1 else None)
    if key not in SECONDS_KEYS or parent == "repeat" or not isinstance(bound, int | float):
        return f"must be {words} {shown} (got {got})"
    message = f"must be {words} {shown} second{'s' * (bound != 1)} (got {got})"
    if sign.startswith("<") and isinstance(value, int | float) and value >= 1000 \
            and value >= 5 * bound:  # in: 4000, meaning 4 s (not a hold of 1200: 20 min)
        return f"{message}; the number is seconds, not milliseconds: {value / 1000:g}"
    return message + ("; split very long stretches into several steps"
                      if sign.startswith("<") and key == "seconds" and parent in SPANS
                      else "")
