"""What a value of a file should look like, said where another kind of value was given."""

from __future__ import annotations

from typing import Any, Final

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
