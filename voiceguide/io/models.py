"""File models and their error messages.

Every user file (routine, exercise, pack, profile) is validated by a pydantic model
derived from :class:`FileModel`: unknown keys are errors and values are frozen. Pydantic's
errors are turned into lines a person can act on, with the position the value had in
the file: ``routines/x.yaml:14:5: steps[2].hold: must be more than 0 seconds (got -3)``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from voiceguide.errors import InvalidInputError, in_line_order, suggest
from voiceguide.io.forms import MAPPING_FORMS, a_number, bound_message, misspelt, why_text
from voiceguide.io.keys import comma_split, keys_of, model_at, unknown_key
from voiceguide.io.yamldoc import Document, Loc
from voiceguide.limits import MAX_PROBLEMS_SAID

M = TypeVar("M", bound=BaseModel)


class FileModel(BaseModel):
    """Base of every file model: unknown keys are errors, aliases allowed, frozen, and a
    number is never given as true or false."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_flag_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads True as 1: YAML's yes, on and true (and an API's True) would be
        # a 1-minute track or a 1-second hold without a word
        items = value if isinstance(value, list) else \
            list(value.values()) if isinstance(value, dict) else [value]
        flags = [v for v in items if isinstance(v, bool)]
        if flags and info.field_name in _number_fields(cls):
            word = "true" if flags[0] else "false"
            raise ValueError(f"must be a number, not {word} (YAML reads yes, no, on and off "
                             "as true and false)")
        words = _word_fields(cls).get(info.field_name or "", ())
        if words and isinstance(value, str) and value.lower() in words:
            return value.lower()  # first: Right, chime: Bowl, level: Beginner
        if words and isinstance(value, list):  # levels: [Beginner, ADVANCED]
            return [v.lower() if isinstance(v, str) and v.lower() in words else v
                    for v in value]
        return value


_CLOCK: Final = re.compile(r"[0-9]{1,3}(:[0-5]?[0-9]){1,2}")
"""A length written as a clock (1:30), which YAML 1.2 reads as text."""


@cache
def _number_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` that take numbers (int or float, alone, in a list or as a
    mapping's values) and no true or false."""

    def types_in(t: Any) -> set[type]:
        found = {t} if isinstance(t, type) and not isinstance(t, types.GenericAlias) else set()
        for arg in get_args(t):
            found |= types_in(arg)
        return found

    numbers = set()
    for name, field in model.model_fields.items():
        found = types_in(field.annotation)
        # a number or 'off' (loudness) reads YAML's off, false to it, as 'off'
        if found & {int, float} and not found & {bool, object} and \
                "off" not in words_in(field.annotation):
            numbers.add(name)
    return frozenset(numbers)


def words_in(t: Any) -> set[Any]:
    """The values of every ``Literal`` in annotation ``t``."""
    found = set(get_args(t)) if get_origin(t) is Literal else set()
    for arg in get_args(t):
        found |= words_in(arg)
    return found


@cache
def _word_fields(model: type[BaseModel]) -> dict[str, frozenset[str]]:
    """The fields of ``model`` that take one of some lower-case words, with the words
    (given in capitals, a word is still the word)."""
    out: dict[str, frozenset[str]] = {}
    for name, field in model.model_fields.items():
        words = {w for w in words_in(field.annotation) if isinstance(w, str) and w.islower()}
        if words:
            out[name] = frozenset(words)
    return out


@dataclass(frozen=True)
class Tagged:
    """How a tagged union of a model shows up in its errors: members are tagged
    ``<key><suffix>`` by the key that selects them (``say-step`` for a ``say:`` step)."""

    keys: tuple[str, ...]
    """The selecting keys, in the order they are listed in messages."""
    suffix: str
    """What follows the key in a member's tag."""
    error: str
    """pydantic error type raised when no key matches."""
    noun: str
    """What a member is called in messages ('step')."""
    inner: Mapping[str, Collection[str]] = dataclasses.field(default_factory=dict)
    """The keys each member's value takes as a mapping: one found beside the key that
    selects the member was meant inside it (indented one level too little)."""
    elsewhere: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    """Unknown keys of each member's value said with their fix (its model's
    ``KEYS_ELSEWHERE``: ``sides: [right, left]`` in a ``sides:`` is ``first: right``)."""


def inner_keys(members: Iterable[type[BaseModel]], keys: Collection[str]
               ) -> dict[str, tuple[str, ...]]:
    """For each selecting key of a tagged union's ``members``, the keys its value takes as
    a mapping (a hold's ``seconds``, ``say``...): see :attr:`Tagged.inner`."""
    out: dict[str, tuple[str, ...]] = {}
    for member in members:
        for key in (k for k in keys if k in member.model_fields):
            found: list[str] = []
            stack: list[Any] = [member.model_fields[key].annotation]
            while stack:
                t = stack.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    found += [f.alias or n for n, f in t.model_fields.items()]
                else:
                    stack += get_args(t)
            out[key] = tuple(found)
    return out



def validate_document(doc: Document, model: type[M], *, tagged: Tagged | None = None,
                      all_keys: Collection[str] = ()) -> M:
    """Validate ``doc.data`` with ``model`` or raise :class:`InvalidInputError` listing every
    problem with its position."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems = pydantic_problems(doc, exc, model=model, tagged=tagged, all_keys=all_keys)
        said = capped(problems)
        raise InvalidInputError(said[0], said) from None


_MORE: Final = "and more problems after these; mend these and try again"


def capped(problems: list[str]) -> list[str]:
    """``problems`` in line order within each file (a profile's 2:7 was said before its
    1:1: pydantic says unknown keys last), at most :data:`MAX_PROBLEMS_SAID` of them, then
    one line saying there are more (a file of 50,000 unknown keys gave 50,000 lines): how
    many is not said, since the search for them stops there too. Capped twice, it says
    so once."""
    said = in_line_order([p for p in problems if not p.endswith(_MORE)])
    if len(said) <= MAX_PROBLEMS_SAID and len(said) == len(problems):
        return said
    file = re.match(r"(.+?):\d+:\d+: ", said[min(len(said), MAX_PROBLEMS_SAID) - 1])
    return [*said[:MAX_PROBLEMS_SAID], (f"{file.group(1)}: " if file else "") + _MORE]


_MEMBERS: Final = frozenset({"str", "constrained-str", "list[str]", "list[constrained-str]"})
"""The names pydantic gives the members of a text-or-list union in an error's place."""


def _clean_loc(loc: Sequence[str | int], tagged: Tagged | None) -> Loc:
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part in _MEMBERS:
            continue
        if (tagged is not None and isinstance(part, str) and part.endswith(tagged.suffix)
                and out and isinstance(out[-1], int)):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def with_a_unit(value: Any, unit: str) -> str | None:
    """Where ``value`` is a number with a unit written after it ('30s', '45 sec', '2 min',
    '1.5 minutes') and a number of ``unit`` (seconds or minutes) belongs, the message
    naming the number to write; else None."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?)\.?\s*",
                         value, re.I) if isinstance(value, str) else None
    if found is None:
        return None
    message = f"must be a number of {unit} (got {_got(value)})"
    given = "minutes" if found[2].lower().startswith("m") else "seconds"
    scale = {("minutes", "seconds"): 60.0, ("seconds", "minutes"): 1 / 60}.get((given, unit), 1)
    return f"{message}; write the number alone, in {unit}: {round(float(found[1]) * scale, 2):g}"


def _got(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime.date) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


_FORMS: Final = {"email": "an email address such as coach@example.org, or empty"}
"""What a field checked by a pattern must look like, in words."""


def pydantic_problems(doc: Document, exc: ValidationError, prefix: Loc = (),
                      model: type[BaseModel] | None = None, *, tagged: Tagged | None = None,
                      all_keys: Collection[str] = ()) -> list[str]:
    """Turn pydantic errors into ``file:line:col: field.path: message`` lines. ``model``
    sharpens suggestions for unknown keys; ``prefix``: where the data sits in ``doc``."""
    problems: list[str] = []
    errors = exc.errors(include_url=False)
    skip, meant = misspelt([((*prefix, *_clean_loc(e["loc"], tagged)), e["type"])
                            for e in errors])
    for err in errors:
        if len(set(problems)) > MAX_PROBLEMS_SAID:  # enough to say there are more (capped)
            break
        at = next((i for i, p in enumerate(err["loc"]) if isinstance(p, str) and p in _MEMBERS),
                  None)
        if at is not None:  # text or a list of texts: say the problem of the one given
            given = doc_value(doc.data, (*prefix, *_clean_loc(err["loc"][:at], tagged)))
            if str(err["loc"][at]).startswith("list[") != isinstance(given, list):
                continue
        loc = (*prefix, *_clean_loc(err["loc"], tagged))
        kind = err["type"]
        ctx = err.get("ctx", {})
        value = err.get("input")
        on_key = bool(loc) and loc[-1] == "[key]"  # a mapping's key failed validation
        if on_key:
            loc = loc[:-1]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            on_key = True
            parent = doc_value(doc.data, loc[:-1])
            present = [k for k in (tagged.keys if tagged else ())
                       if isinstance(parent, dict) and k in parent]
            # the key of a member's value, written beside it: ``hold:`` then ``seconds:``
            # (or ``say:``) at the dash's level rather than under it
            misplaced = _misplaced(parent, key, present, tagged) if len(loc) > 1 and \
                isinstance(loc[-2], int) else None  # beside a step's key, not inside it
            if misplaced is not None:  # said once, at the first of them
                owner, strays = misplaced
                loc = (*loc[:-1], strays[0])
                message = (" and ".join(f"'{k}'" for k in strays)
                           + f" belong{'s' if len(strays) == 1 else ''} inside '{owner}:'; "
                           f"indent {'it' if len(strays) == 1 else 'them'} under '{owner}:' "
                           "(2 spaces further in)")
            elif tagged is not None and key in tagged.keys and len(present) > 1:
                own = [k for k in present if k != "pause"] if "say" in present else present
                message = (f"a {tagged.noun} has exactly one {tagged.noun} key (found "
                           + ", ".join(f"'{k}'" for k in own)
                           + (" and 'pause', the silence after 'say'" if own != present
                              else "") + "): split it into two " + tagged.noun + "s")
            else:
                inside = tagged.inner.get(str(loc[-2])) if tagged is not None and \
                    len(loc) > 2 and isinstance(loc[-3], int) else None  # `hold: {...}`
                here = None if inside else model_at(model, loc[len(prefix):-1])
                choices = [meant[loc]] if loc in meant else [
                    k for k in inside or keys_of(here, all_keys) if k != key]  # a hold's?
                message = unknown_key(key, choices, here, tagged.elsewhere.get(str(loc[-2]), {})
                                      if inside and tagged else None, bool(inside or here),
                                      parent if isinstance(parent, dict) else {}
                                      ) + comma_split(parent, key, value)
        elif kind == "missing":
            if loc in skip:  # said as the unknown key beside it that means it
                continue
            message = "required field is missing"
            on_key = True
        elif tagged is not None and kind == tagged.error:
            message = _untagged(value, tagged)
        elif kind in _BOUNDS:
            message = bound_message(loc, _BOUNDS[kind], next(iter(ctx.values())), value,
                                    _got(value))
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            message = f"must be a whole number (got {_got(value)})"
        elif kind in ("float_parsing", "float_type"):
            unit = "minutes" if "minutes" in loc or "length" in loc else "seconds"
            message = with_a_unit(value, unit) or ""
            if not message and "params" in loc:  # a count too: 'reps: 5 times' was told "a
                # number of seconds" (a new user's review)
                lead = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s+[^\W\d_][^\d:,]*", value) \
                    if isinstance(value, str) else None  # not '1:30', nor a comma's '24,5'
                message = f"must be a number (got {_got(value)})" + (
                    f"; write the number alone: {lead[1]}" if lead else "")
            message = message or f"must be a number of {unit} (got {_got(value)})"
            if isinstance(value, str) and re.fullmatch(r"\s*\d+,\d{1,2}\s*", value):  # 24,5
                message += f"; write a decimal with a point: {value.strip().replace(',', '.')}"
            if isinstance(value, str) and value.startswith("$"):
                message = f"unknown parameter '{value}'"
        elif kind in ("string_type",):
            message = f"must be text (got {_got(value)})"
        elif kind == "string_unicode":  # a lone surrogate: YAML's "\udfff" escape
            message = ("holds a character that is not text (a lone surrogate, such as "
                       "\\udfff); remove it")
        elif kind in ("list_type",):
            message = f"must be a list (got {_got(value)})" + (
                f"; write [{value}]" if isinstance(value, str | int | float) and not isinstance(
                    value, bool) and len(str(value)) <= 40 and "\n" not in str(value) else "")
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            message = f"must be a mapping of keys (got {_got(value)})"
            if loc and loc[-1] == "length":  # the range a routine is designed for
                ends = [float(n) for n in re.findall(r"\d{1,4}(?:\.\d+)?", str(value))[:2]
                        ] if isinstance(value, str | int | float) else []  # those written:
                low, high = ends if len(ends) == 2 else (ends[0] - 1, ends[0] + 1) if ends \
                    and ends[0] >= 2 else (4, 6)  # 7-10, or around 8 (not a bool's 1)
                message += f"; write the shortest and longest minutes: {{min: {low:g}, max: " \
                    f"{high:g}}}"
            elif loc and loc[-1] in MAPPING_FORMS and a_number(value):  # `pause: 1e9`
                message += f"; write it as {MAPPING_FORMS[str(loc[-1])]}" + (
                    why_text(value, str(loc[-1])) if isinstance(value, str) else "")
        elif kind in ("bool_type", "bool_parsing"):
            message = f"must be true or false (got {_got(value)})"
        elif kind == "literal_error":
            expected = str(ctx.get("expected", ""))
            message = f"must be one of {expected} (got {_got(value)})"
            if isinstance(value, str):
                choices = re.findall(r"'([^']*)'", expected)
                message += suggest(value, choices)
        elif kind in ("too_short", "string_too_short"):
            message = "must not be empty"
        elif kind == "too_long":
            message = f"is too long (at most {ctx.get('max_length')})"
        elif kind == "string_too_long":
            message = f"is too long (at most {ctx.get('max_length')} characters)"
        elif kind == "string_pattern_mismatch":
            form = _FORMS.get(str(loc[-1]) if loc else "", "text of the form the schema gives")
            message = f"must be {form} (got {_got(value)})"
        elif kind == "value_error":
            message = str(ctx.get("error", err["msg"]))
        elif kind.startswith(("date_", "datetime_")):  # 05.01.2026, or a month 13
            message = f"must be a date written YYYY-MM-DD, such as 2026-01-05 (got {_got(value)})"
        else:
            message = err["msg"]
        clock = _CLOCK.fullmatch(value) if isinstance(value, str) else None
        if clock and kind in ("float_parsing", "int_parsing", "dict_type", "model_type"):
            seconds = sum(int(part) * 60**i for i, part in enumerate(reversed(value.split(":"))))
            minutes = "minutes" in loc or "length" in loc  # a track's length, not a step's
            message += (f"; write it in minutes ({value} is {seconds / 60:g})" if minutes else
                        f"; write minutes and seconds as seconds ({value} is {seconds})")
        problems.append(doc.problem(loc, message, key=on_key))
    return list(dict.fromkeys(problems))


def _misplaced(parent: Any, key: str, present: list[str], tagged: Tagged | None
               ) -> tuple[str, list[str]] | None:
    """The selecting key that keys beside it in ``parent`` belong under, and those keys,
    where ``key`` is one of them: a hold's ``seconds:`` written at the dash's level, or
    its ``say:`` beside an empty ``hold:`` (then two selecting keys)."""
    if tagged is None or not isinstance(parent, dict):
        return None
    for owner in present:
        strays = [k for k in parent if k != owner and k in tagged.inner.get(owner, ())
                  and (k not in tagged.keys or parent[owner] is None)]
        if strays and key in (owner, *strays):
            return owner, strays
    return None


def _untagged(value: Any, tagged: Tagged) -> str:
    """The message for a member that names none of the selecting keys."""
    if not isinstance(value, dict):
        return (f"a {tagged.noun} must be a mapping such as 'say: ...' or 'pause: 5'"
                f" (got {_got(value)})")
    hint = ""
    for key in value:
        hint = suggest(str(key), tagged.keys)
        if hint:
            hint = f" ('{key}'{hint.replace(' (', ': ')}"
            break
    return f"a {tagged.noun} needs one of: " + ", ".join(tagged.keys) + hint


def doc_value(data: Any, loc: Iterable[str | int]) -> Any:
    """The value at ``loc`` in plain data, or None."""
    for part in loc:
        in_dict = isinstance(data, dict) and isinstance(part, str) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_dict or in_list:
            data = data[part]
        else:
            return None
    return data
