"""What is said of an unknown key: the key it was meant as, where it belongs instead, or
the keys its place takes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from voiceguide.errors import suggest


def model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


def model_at(model: type[BaseModel] | None, loc: Sequence[str | int]
             ) -> type[BaseModel] | None:
    """The model nested in ``model`` at ``loc`` (None where it cannot tell)."""
    cur = model
    for part in loc:
        if cur is None:
            break
        if isinstance(part, int):
            continue
        info = cur.model_fields.get(part)
        cur = model_in(info.annotation) if info is not None else None
    return cur


def keys_of(model: type[BaseModel] | None, all_keys: Collection[str]) -> list[str]:
    """The keys ``model`` accepts (``all_keys`` where there is no model to tell)."""
    if model is None:
        return sorted(all_keys)
    return [info.alias or name for name, info in model.model_fields.items()]


def unknown_key(key: str, choices: Collection[str], model: type[BaseModel] | None,
                elsewhere: Mapping[str, str] | None = None, exact: bool = True,
                written: Collection[object] = ()) -> str:
    """The message for ``key``, unknown where ``model`` (None: not known) takes
    ``choices``: where the model (or ``elsewhere``) says the key belongs instead (its
    ``KEYS_ELSEWHERE``), else the choice it means (``speed``: ``rate``; in other words
    only where the ``choices`` are ``exact``, not every key of the file: a say step's
    ``duration`` was told 'seconds', which it has not; one ``written`` there already
    is said to be), else with a model the keys it takes (``colour`` is near none of a
    track's keys)."""
    if elsewhere is None:
        elsewhere = getattr(model, "KEYS_ELSEWHERE", {})
    if key in elsewhere:
        return f"unknown key '{key}': {elsewhere[key]}"
    hint = suggest(key, choices, exact)
    twice = [c for c in choices if c in written and f"'{c}'" in hint]
    if twice:  # `step:` beside `steps:`, `duration:` beside `seconds:` (an attack)
        return f"unknown key '{key}' (did you mean '{twice[0]}'? it is written here too: " \
               "keep one of the two)"
    if hint or model is None or not choices:
        return f"unknown key '{key}'{hint}"
    return f"unknown key '{key}'; use one of: {', '.join(choices)}"


def inner_elsewhere(members: Iterable[type[BaseModel]], keys: Collection[str]
                    ) -> dict[str, Mapping[str, str]]:
    """For each selecting key of ``members``, its value's model's ``KEYS_ELSEWHERE``: see
    :attr:`Tagged.elsewhere`."""
    return {key: getattr(model_in(member.model_fields[key].annotation), "KEYS_ELSEWHERE", {})
            for member in members for key in keys if key in member.model_fields}


def comma_split(parent: object, key: str, value: object) -> str:
    """The fix where ``key`` is the end of a text cut at a comma in ``{...}`` (``{say:
    Halfway, keep breathing.}``: a new user's review was told only "unknown key")."""
    keys = list(parent) if isinstance(parent, dict) else []
    if value is not None or " " not in key.strip() or key not in keys[1:]:
        return ""
    before = keys[keys.index(key) - 1]
    text = parent[before] if isinstance(parent, dict) else None
    return "" if not isinstance(text, str) else (
        f"; text with a comma in '{{...}}' must be in quotes: {before}: \"{text}, {key}\"")
