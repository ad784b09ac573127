"""Sizes a template's operations would make, checked before they are made, and what
may be said: the sandbox's arithmetic of bounds (see :mod:`voiceguide.script.sandbox`)."""

from __future__ import annotations

import math
import operator
import re
import string
from collections.abc import Callable, Iterable
from typing import Any, Final

import jinja2
from jinja2.exceptions import SecurityError

from voiceguide.limits import MAX_TEMPLATE_INT_BITS, MAX_TEMPLATE_ITEMS, MAX_TEMPLATE_STRING

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?(.?)")
"""A '%' format's field: its width, its precision and its conversion."""


class Unspeakable(SecurityError):
    """A value a template makes that no voice can say (an object, a list, an infinite
    number): a mistake in the template rather than a limit it ran into."""


def size_of(value: Any, limit: int = MAX_TEMPLATE_STRING) -> int:
    """How many characters ``str(value)`` would have, roughly, without making it; stops
    counting (returns more than ``limit``) as soon as it is past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if value is None or isinstance(value, bool | float):
        return 24
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, list | tuple | dict | range | set | frozenset):
        if isinstance(value, range):
            return 2 + len(value) * 8
        total = 2
        items: Iterable[Any] = value.items() if isinstance(value, dict) else value
        for item in items:
            total += 2 + size_of(item, limit - total)
            if total > limit:
                break
        return total
    return len(str(value))


def check_string(n: int, what: str) -> None:
    """Refuse a string of ``n`` characters if it is longer than the limit."""
    if n > MAX_TEMPLATE_STRING:
        raise SecurityError(f"{what} would make {n} characters, more than the "
                            f"{MAX_TEMPLATE_STRING} a template may make at once")


def check_items(n: int, what: str) -> None:
    """Refuse a list of ``n`` items if it is longer than the limit."""
    if n > MAX_TEMPLATE_ITEMS:
        raise SecurityError(f"{what} would make a list of {n} items, more than the "
                            f"{MAX_TEMPLATE_ITEMS} a template may make")


def check_int(bits: int, what: str) -> None:
    """Refuse an integer of about ``bits`` bits."""
    if bits > MAX_TEMPLATE_INT_BITS:
        raise SecurityError(f"{what} would make a number of up to {bits} bits, more than "
                            f"{MAX_TEMPLATE_INT_BITS}")


def _sequence(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _check_times(left: Any, right: Any) -> None:
    for seq, num in ((left, right), (right, left)):
        if _sequence(seq) and isinstance(num, int):
            n = len(seq) * max(num, 0)
            (check_string if isinstance(seq, str) else check_items)(n, "'*'")
    if isinstance(left, int) and isinstance(right, int):
        check_int(left.bit_length() + right.bit_length(), "'*'")


def _check_plus(left: Any, right: Any) -> None:
    if _sequence(left) and _sequence(right):
        n = len(left) + len(right)
        (check_string if isinstance(left, str) else check_items)(n, "'+'")


def _check_power(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int) and right > 0:
        check_int(max(left.bit_length(), 1) * right, "'**'")
    elif isinstance(right, int | float) and abs(right) > MAX_TEMPLATE_INT_BITS:
        raise SecurityError("exponent too large")


def _width(digits: str) -> int:
    """A width or precision written in a format (at most 10**18: a longer one is refused
    all the same, and Python will not read a number of over 4300 digits)."""
    return int(digits) if len(digits) <= 18 else 10**18


def _check_percent(left: Any, right: Any) -> None:
    if not isinstance(left, str):
        return
    items = right.values() if isinstance(right, dict) else right if isinstance(
        right, tuple) else (right,)
    if isinstance(right, dict) and "%(" not in left:  # '%s' % {...}: the dict itself
        spoken(right, "'%'")
    for item in items:
        spoken(item, "'%'")
    total = len(left) + size_of(right)
    for match in _PERCENT_SPEC.finditer(left):
        if match[3] in ("r", "a"):  # Python's own writing of a value: "'Ana'"
            raise SecurityError("'%r' and '%a', Python's own writing of a value, are not "
                                "allowed in narration")
        for number in match.groups()[:2]:
            if number == "*":
                raise SecurityError("'%' with a '*' width is not allowed in narration")
            if number:
                total += _width(number)
    check_string(total, "'%' formatting")


def words_or_number(value: Any) -> bool:
    """Whether ``value`` may be said: text, a number (not a truth value: '{{ 1 == 1 }}'
    spoke "True") or an unset variable (said as nothing), never a function."""
    return isinstance(value, str | int | float | jinja2.Undefined) and not isinstance(
        value, bool) and not (callable(value) and not isinstance(value, jinja2.Undefined))


def spoken(value: Any, what: str) -> None:
    """Refuse ``value`` made into text by ``what`` unless it is words or a number: an
    object, a function or None would be said as Python writes it ("built-in method upper
    of str object at 0x7f99...": a leak, and other words at every run)."""
    if not words_or_number(value):
        raise Unspeakable(f"{what} makes a {type(value).__name__} into words; give it text "
                          "or a number")


def check_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Bound ``fmt.format(*args, **kwargs)`` before it runs: ``'{:>2999999999}'.format(1)``
    made 3 GB before its result could be measured."""
    values = [*args, *(kwargs.values() if isinstance(kwargs, dict) else ())]
    for value in values:
        spoken(value, "str.format")
    largest = max((size_of(v) for v in values), default=0)
    total = len(fmt)
    for _, field, spec, conversion in _FORMATTER.parse(fmt):
        if field is None:
            continue
        if conversion in ("r", "a"):  # '{!r}': Python's own writing of a value
            raise SecurityError("a format conversion such as '{!r}' is not allowed in "
                                "narration")
        if spec and "{" in spec:
            raise SecurityError("a format width taken from another value (as in "
                                "'{0:{1}}') is not allowed in narration")
        if "." in field or "[" in field:  # '{0.upper}' printed "<built-in method upper of
            # str object at 0x7ff8...>": a leak, and other bytes at every run (an attack)
            raise SecurityError("a format field that looks into its value (as in "
                                "'{0.upper}' or '{0[1]}') is not allowed in narration")
        total += largest
        total += sum(_width(number) for number in re.findall(r"\d+", spec or ""))
        check_string(total, "str.format")


_FORMATTER: Final = string.Formatter()
CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_times, "+": _check_plus, "**": _check_power, "%": _check_percent,
}
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
}


def check_result(value: Any, what: str) -> Any:
    """Refuse a value that came out too large (after an operation bounded by its inputs)."""
    if isinstance(value, str):
        check_string(len(value), what)
    elif isinstance(value, list | tuple):
        check_items(len(value), what)
    elif isinstance(value, int):
        check_int(value.bit_length(), what)
    elif isinstance(value, float) and not math.isfinite(value):
        raise Unspeakable(f"{what} makes a number too large to say ({value})")
    return value
