"""What is said of an unknown key: the key it was meant as, where it belongs instead, or
the keys its place takes."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from voiceguide.errors import suggest


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
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
        cur = _model_in(info.annotation) if info is not None else None
    return cur


def keys_of(model: type[BaseModel] | None, all_keys: Collection[str]) -> list[str]:
    """The keys ``model`` accepts (``all_keys`` where there is no model to tell)."""
    if model is None:
        return sorted(all_keys)
    return [info.alias or name for name, info in model.model_fields.items()]


def unknown_key(key: str, choices: Collection[str], model: type[BaseModel] | None) -> str:
    """The message for ``key``, unknown where ``model`` (None: not known) takes
    ``choices``: where the model says the key belongs instead (its ``KEYS_ELSEWHERE``),
    else the choice it means (``speed``: ``rate``), else with a model the keys it takes
    (``colour`` is near none of a track's keys)."""
    elsewhere: Mapping[str, str] = getattr(model, "KEYS_ELSEWHERE", {})
    if key in elsewhere:
        return f"unknown key '{key}': {elsewhere[key]}"
    hint = suggest(key, choices)
    if hint or model is None or not choices:
        return f"unknown key '{key}'{hint}"
    return f"unknown key '{key}'; use one of: {', '.join(choices)}"
