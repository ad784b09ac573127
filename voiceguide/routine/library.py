"""The exercise library: reusable exercises found by id in ``exercises/`` folders (or
inline in a routine), instantiated with their parameters.

An exercise's numbers may be ``$name`` parameters; :func:`substitute_params` replaces
them before validation, so every error still points at the line where it was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voiceguide.errors import suggest
from voiceguide.io.models import doc_value, pydantic_problems
from voiceguide.io.paths import leaves_folder
from voiceguide.io.yamldoc import Document, Loc, load_yaml
from voiceguide.routine.model import Exercise, known_keys
from voiceguide.routine.steps import PARAM_RE, STEP_TAGS
from voiceguide.settings import Level


def substitute_params(
    doc: Document,
    data: Any,
    params: Mapping[str, float],
    loc: Loc,
    problems: list[str],
    *,
    skip: frozenset[str] = frozenset({"exercises", "params", "level_params", "phrases"}),
) -> Any:
    """Replace ``$name`` strings by parameter values, recording unknown names."""
    if isinstance(data, str):
        match = PARAM_RE.match(data)
        if not match:
            return data
        name = match.group(1)
        if name in params:
            return params[name]
        problems.append(
            doc.problem(
                loc,
                f"unknown parameter '${name}'"
                + (suggest(name, params).replace("'", "'$", 1) if params else "")
                + (f"; known: {', '.join('$' + p for p in params)}" if params else ""),
            )
        )
        return data
    if isinstance(data, list):
        return [substitute_params(doc, v, params, (*loc, i), problems) for i, v in enumerate(data)]
    if isinstance(data, dict):
        return {
            k: v if k in skip else substitute_params(doc, v, params, (*loc, k), problems)
            for k, v in data.items()
        }
    return data


@dataclass
class ExerciseSource:
    """Where an exercise is defined: its document and its place in it."""

    id: str
    doc: Document
    loc: Loc
    """Path of the exercise mapping inside ``doc`` (empty for a file of its own)."""

    @property
    def raw(self) -> dict[str, Any]:
        """The exercise mapping as written."""
        value = doc_value(self.doc.data, self.loc)
        return value if isinstance(value, dict) else {}


@dataclass
class LoadedExercise:
    """An exercise instantiated with concrete parameters."""

    id: str
    model: Exercise
    params: dict[str, float]
    source: ExerciseSource


@dataclass
class Library:
    """The exercises a routine can reference."""

    folders: list[Path]
    inline: dict[str, ExerciseSource] = field(default_factory=dict)
    _files: dict[str, Path] | None = None
    _docs: dict[str, ExerciseSource] = field(default_factory=dict)

    def ids(self) -> list[str]:
        """Every exercise id available."""
        return sorted(set(self.inline) | set(self._index()))

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files: dict[str, Path] = {}
            roots = [f.parent for f in self.folders]  # a routine's folder, the routine folders
            for folder in self.folders:
                if folder.is_dir():
                    for path in sorted(folder.glob("*.yaml")):
                        if leaves_folder(path.name, folder, roots) is None:  # no link out
                            files.setdefault(path.stem, path)
            self._files = files
        return self._files

    def _unknown(self, ex_id: str) -> str:
        """The problem of exercise ``ex_id``, not found: a path written for it names the id
        to write (it was told 'exercises/exercises/my-stretch.yaml.yaml'), else the close
        name, else where it would be found."""
        bare = _id_of_path(ex_id)
        if bare is not None:  # a path, as a coach wrote it: the id is the file's stem
            return (f"unknown exercise '{ex_id}'; an exercise is named by its id, without "
                    f"folder or .yaml: write exercise: {bare}"
                    + self._where_to_put(bare) * (bare not in self.ids()))
        return f"unknown exercise '{ex_id}'{suggest(ex_id, self.ids())}" \
            + self._where_to_put(ex_id)

    def _where_to_put(self, ex_id: str) -> str:
        """Where an exercise that was not found would be found (no close name to offer)."""
        if suggest(ex_id, self.ids()) or not self.folders:
            return ""
        looked = ", ".join(str(f) for f in self.folders if f.is_dir())
        return (f"; write it as {self.folders[0] / (ex_id + '.yaml')} or under the routine's "
                f"exercises:" + (f" (exercises are looked for in {looked})" if looked else ""))

    def source(self, ex_id: str) -> ExerciseSource | None:
        """Where exercise ``ex_id`` is defined, or None."""
        if ex_id in self.inline:
            return self.inline[ex_id]
        if ex_id not in self._docs:
            path = self._index().get(ex_id)
            if path is None:
                return None
            self._docs[ex_id] = ExerciseSource(ex_id, load_yaml(path, "exercise"), ())
        return self._docs[ex_id]

    def instantiate(
        self, ex_id: str, overrides: Mapping[str, float], level: Level
    ) -> tuple[LoadedExercise | None, list[str]]:
        """Validate exercise ``ex_id`` with its parameters set; return it or the problems."""
        src = self.source(ex_id)
        if src is None:
            return None, [self._unknown(ex_id)]
        raw = src.raw
        params: dict[str, float] = {}
        problems: list[str] = []
        declared = raw.get("params", {})
        if isinstance(declared, dict):
            params.update({k: v for k, v in declared.items() if isinstance(v, int | float)})
        by_level = raw.get("level_params", {})
        if isinstance(by_level, dict) and isinstance(by_level.get(level), dict):
            params.update(
                {k: v for k, v in by_level[level].items() if isinstance(v, int | float)}
            )
        params.update(overrides)
        data = substitute_params(src.doc, raw, params, src.loc, problems)
        try:
            model = Exercise.model_validate(data)
        except ValidationError as exc:
            said = {p.partition(": unknown parameter")[0] for p in problems}  # with its fix
            problems.extend(p for p in pydantic_problems(src.doc, exc, src.loc, tagged=STEP_TAGS,
                            all_keys=known_keys()) if p.partition(": unknown parameter")[0]
                            not in said)
            return None, problems
        if problems:
            return None, problems
        return LoadedExercise(ex_id, model, params, src), []

    def param_names(self, ex_id: str) -> list[str] | None:
        """The parameters exercise ``ex_id`` declares (at any level), or None if unknown."""
        src = self.source(ex_id)
        if src is None:
            return None
        names = set(src.raw.get("params") or {}) if isinstance(src.raw.get("params"), dict) \
            else set()
        by_level = src.raw.get("level_params")
        for values in (by_level or {}).values() if isinstance(by_level, dict) else ():
            names |= set(values) if isinstance(values, dict) else set()
        return sorted(str(n) for n in names)


def _id_of_path(ref: str) -> str | None:
    """The exercise id a path written for one names (``exercises/my-stretch.yaml``:
    ``my-stretch``), or None where ``ref`` is no path."""
    bare = ref.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    return bare if bare and bare != ref else None
