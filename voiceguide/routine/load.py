"""Loading a routine: from a file, a dict or YAML text, validated at once with every
problem reported as ``file:line:col: field.path: message``."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from voiceguide.errors import (
    InvalidInputError,
    OtherKindError,
    UsageError,
    suggest,
)
from voiceguide.io.kinds import wrong_kind
from voiceguide.io.models import capped, pydantic_problems
from voiceguide.io.paths import leaves_folder, safe_stem
from voiceguide.io.yamldoc import Document, Loc, bound_data, load_yaml, parse_yaml
from voiceguide.limits import MAX_PROBLEMS_SAID
from voiceguide.routine.folders import routine_dirs
from voiceguide.routine.library import ExerciseSource, Library, substitute_params
from voiceguide.routine.model import RoutineSpec, known_keys
from voiceguide.routine.steps import STEP_TAGS, ExerciseRef, Section, Sides
from voiceguide.settings import LEVELS, Level, TrackSettings, unknown_bed
from voiceguide.vocabulary import looks_like_file


@dataclass
class Routine:
    """A validated routine with its document and exercise library.

    Build one with :meth:`from_file`, :meth:`from_dict` or :meth:`from_yaml`
    (``voiceguide.load_routine`` also finds routines by name)."""

    id: str
    """The routine's name (its file stem; for a dict or text, made from the title)."""
    path: Path | None
    """The file it was read from (None for a dict or text)."""
    doc: Document
    """The parsed document, with the position of every value (for messages)."""
    spec: RoutineSpec
    """The routine as validated."""
    library: Library
    """The exercises it can reference."""

    def at(self, *loc: str | int) -> str:
        """Where a value is written: ``file:line:col: field.path`` (for messages)."""
        return self.doc.problem(loc, "").removesuffix(": ")

    @classmethod
    def from_file(cls, path: Path, library_folders: Sequence[Path] = ()) -> Routine:
        """Load and validate a routine file (its id: the file's name, as text: a byte of a
        name that is not UTF-8 is U+FFFD, where it ended a build in an internal error)."""
        name = path.stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return _validate(load_yaml(path, "routine"), name, path,
                         [path.parent / "exercises", *library_folders])

    @classmethod
    def from_yaml(cls, text: str, library_folders: Sequence[Path] = (), *,
                  id: str | None = None, name: str = "<routine>") -> Routine:
        """Validate a routine given as YAML text (``name`` stands for the file in messages)."""
        if not isinstance(text, str):
            raise UsageError(f"from_yaml takes the routine's YAML as a str (got "
                             f"{type(text).__name__}; a file: load_routine(path))")
        doc = parse_yaml(text, Path(name), "routine")
        return _validate(doc, id or _id_of(doc.data), None, list(library_folders))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], library_folders: Sequence[Path] = (), *,
                  id: str | None = None, name: str = "<routine>") -> Routine:
        """Validate a routine given as plain data (as YAML would load it)."""
        plain = dict(data) if isinstance(data, Mapping) else data
        bound_data(plain, Path(name))
        doc = Document(path=Path(name), data=plain)
        return _validate(doc, id or _id_of(doc.data), None, list(library_folders))


def _id_of(data: Any) -> str:
    title = data.get("title") if isinstance(data, dict) else None
    return safe_stem(title).lower() if isinstance(title, str) else "routine"


def iter_steps(steps: Sequence[Any], loc: Loc) -> Iterator[tuple[Loc, Any]]:
    """Every step, nested ones included, with its path."""
    for i, step in enumerate(steps):
        here = (*loc, i)
        yield here, step
        if isinstance(step, Section):
            yield from iter_steps(step.steps, (*here, "steps"))
        elif isinstance(step, Sides):
            yield from iter_steps(step.sides.steps, (*here, "sides", "steps"))


def _validate(doc: Document, routine_id: str, path: Path | None, folders: list[Path]
              ) -> Routine:
    problems: list[str] = []
    if not isinstance(doc.data, dict):
        raise InvalidInputError(f"{doc.path}:1:1: a routine must be a mapping of keys")
    if path is not None:  # a pack or a profile given as a routine: said in one line
        other = wrong_kind(path, doc.data, TrackSettings.model_fields, "routine")
        if other is not None:
            raise OtherKindError(other)
    raw = dict(doc.data)
    params = raw.get("params", {})
    params = (
        {k: v for k, v in params.items() if isinstance(v, int | float)}
        if isinstance(params, dict)
        else {}
    )
    raw_ex = raw.get("exercises")
    data = substitute_params(doc, raw, params, (), problems)
    if isinstance(raw_ex, dict):
        # inline exercises are checked when they are instantiated with their own params
        data["exercises"] = {}
    try:
        spec = RoutineSpec.model_validate(data)
    except ValidationError as exc:
        said = {_where(p) for p in problems}  # a bad $param: its value is no step either
        problems.extend(p for p in pydantic_problems(doc, exc, tagged=STEP_TAGS,
                                                     all_keys=known_keys())
                        if _where(p) not in said)
        problems.extend(p for p in _unknown_exercises(doc, raw, folders) if p not in problems)
        problems = capped(problems)
        raise InvalidInputError(problems[0], problems) from None
    outside = _bed_outside(doc, spec.bed, path)
    if outside is not None:
        problems.append(outside)
    library = Library(folders=folders)
    if isinstance(raw_ex, dict):
        for ex_id in raw_ex:
            library.inline[ex_id] = ExerciseSource(ex_id, doc, ("exercises", ex_id))
        for ex_id in raw_ex:
            if len(problems) > MAX_PROBLEMS_SAID:  # enough to say (2,278 exercises of 21
                break  # unknown keys each gave 47,838 lines)
            _, found = library.instantiate(ex_id, {}, spec.level)
            problems.extend(found)
    for loc, step in iter_steps(spec.steps, ("steps",)):
        if isinstance(step, ExerciseRef) and len(problems) <= MAX_PROBLEMS_SAID:
            problems.extend(p for p in _param_problems(doc, library, loc, step)
                            if p not in problems)
            for level in LEVELS:
                for problem in _instantiated(doc, library, loc, step, level):
                    if problem not in problems:
                        problems.append(problem)
    if problems:
        problems = capped(problems)
        raise InvalidInputError(problems[0], problems)
    return Routine(routine_id, path, doc, spec, library)


def _bed_outside(doc: Document, bed: str | None, path: Path | None) -> str | None:
    """A bed file the routine names outside its own folder (the current folder for a
    routine given as text or data), said at its line; None when there is none."""
    if bed is None or not looks_like_file(bed):
        return None
    folder = path.parent if path is not None else Path.cwd()
    if unknown := unknown_bed(bed, folder / bed):  # "beds/rain": said by validate --quick too
        return doc.problem(("bed",), unknown)
    why = leaves_folder(bed, folder, routine_dirs())
    if why is None:
        return None
    return doc.problem(("bed",), f"'{bed[:200]}' is outside the routine's folder and the "
                       f"routine folders ({why}); put the bed file beside the routine (bed: "
                       f"{Path(bed).name[:100]}) or in a routine folder (routines/beds/), or "
                       "choose it when you build (--bed, or the settings' bed)")


def _unknown_exercises(doc: Document, raw: dict[str, Any], folders: list[Path]) -> list[str]:
    """The steps of a routine whose structure has problems that name an exercise the
    library does not have: said with those problems, not in the next run."""
    library = Library(folders=folders)
    inline = raw.get("exercises")
    library.inline.update({k: ExerciseSource(k, doc, ("exercises", k))
                           for k in (inline if isinstance(inline, dict) else {})
                           if isinstance(k, str)})
    found: list[str] = []

    def walk(steps: Any, loc: Loc) -> None:
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                continue
            name = step.get("exercise")
            if isinstance(name, str) and library.source(name) is None:
                found.extend(doc.problem((*loc, i, "exercise"), p)
                             for p in library.instantiate(name, {}, LEVELS[0])[1])
            walk(step.get("steps"), (*loc, i, "steps"))
            sides = step.get("sides")
            if isinstance(sides, dict):
                walk(sides.get("steps"), (*loc, i, "sides", "steps"))

    walk(raw.get("steps"), ("steps",))
    return found


def _param_problems(doc: Document, library: Library, loc: Loc, step: ExerciseRef
                    ) -> list[str]:
    """A ``params:`` key the exercise does not have (it was taken without a word)."""
    names = library.param_names(step.exercise)
    if names is None:
        return []  # an unknown exercise: said where it is named
    has = f"; it has {', '.join(names)}" if names else "; it has none"
    return [doc.problem((*loc, "params", k), f"'{k}' is not a parameter of "
                        f"{step.exercise}{suggest(k, names)}{has}", key=True)
            for k in step.params if k not in names]


def _instantiated(doc: Document, library: Library, loc: Loc, step: ExerciseRef,
                  level: Level) -> list[str]:
    """The problems of the exercise with the step's parameters, each said where the
    routine sets them when they came from those (not from the exercise file alone)."""
    try:
        _, found = library.instantiate(step.exercise, step.params, level)
    except InvalidInputError as exc:
        found = exc.problems
    if not found:
        return []
    if found[0].startswith("unknown exercise"):
        return [doc.problem((*loc, "exercise"), p) for p in found]
    if not step.params:
        return found
    try:
        _, alone = library.instantiate(step.exercise, {}, level)
    except InvalidInputError as exc:
        alone = exc.problems
    blamed = _blamed(doc, library, loc, step, level, alone)
    return [p if p in alone else blamed.get(p) or
            doc.problem((*loc, "params"), f"with these values, {step.exercise} does not "
                        f"fit: {p}") for p in found]


_RANGE: Final = re.compile(r"'\w+' \(([^)]*)\) is outside min(?:_cycles)?\.\.max(?:_cycles)? "
                          r"\(([^)]*)\.\.([^)]*)\)(?:;|$)")


def _blamed(doc: Document, library: Library, loc: Loc, step: ExerciseRef, level: Level,
            alone: list[str]) -> dict[str, str]:
    """Each of the exercise's problems that one of the step's parameters makes alone,
    said at that parameter and in the routine's words (``params.hold: figure-four's hold
    can be 20 to 45 (got 300)``), not at a line of the library's file."""
    said: dict[str, str] = {}
    for key, value in step.params.items():
        try:
            _, found = library.instantiate(step.exercise, {key: value}, level)
        except InvalidInputError as exc:
            found = exc.problems
        for problem in found:
            m = _RANGE.search(problem)
            if problem in alone or m is None or problem in said:
                continue
            said[problem] = doc.problem((*loc, "params", key), (
                f"{step.exercise}'s {key} can be {m.group(2)} to {m.group(3)} (got "
                f"{value:g})"))
    return said


def _where(problem: str) -> str:
    """``file:line:col: field`` of a problem."""
    return ": ".join(problem.split(": ")[:2])
