"""Narration templates: a locked-down jinja2 sandbox and deterministic phrase variety.

Routine files are shared between people, so a template is untrusted code. It runs in
the bounded sandbox of :mod:`voiceguide.script.sandbox` with ``StrictUndefined``, no
loader (no ``include``/``import``/``extends``), a small whitelist of filters and
globals, every intermediate value and every operation bounded, a bounded output and a
time limit (the rendering thread's CPU time) that holds in any thread or process (values in
:mod:`voiceguide.limits`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError

from voiceguide.errors import TemplateError, suggest
from voiceguide.io.yamldoc import Document, Loc
from voiceguide.languages import DEFAULT_LANGUAGE, get_language
from voiceguide.limits import (
    MAX_PHRASE_DEPTH,
    MAX_RENDERED,
    MAX_TEMPLATE_ITEMS,
    TOTAL_RENDER_SECONDS,
    RenderTime,
)
from voiceguide.script.bounds import Unspeakable
from voiceguide.script.filters import RENDERING, make_env
from voiceguide.script.sandbox import (
    HIDDEN_PREFIX,
    Budget,
    Helpers,
    refusal,
    rendering,
)
from voiceguide.script.sandbox import current as current_budget

MAX_RANGE_ITEMS: Final = MAX_TEMPLATE_ITEMS
"""Most items all ``range()`` calls of one render may produce."""

UNSET_WHERE: Final[Mapping[str, str]] = {
    "side": "it is only set inside a 'sides' step",
    "other_side": "it is only set inside a 'sides' step",
    "rep": "it is only set inside a 'repeat' step",
    "remaining": "it is only set in a 'hold' or a 'repeat' step",
    "seconds": "it is only set in a 'hold' or a 'repeat' step",
    "reps": "it is only set in an exercise, section or routine with a 'repeat' step",
}
"""Variables that exist only in some steps, and where (using one elsewhere is an error)."""

NARRATION_VARIABLES: Final = ("name", "level", "minutes", "title", "exercises", "exercise",
                              "cycle", "cycles", "phase", *UNSET_WHERE)
"""Every variable a narration template may use somewhere, besides the ``params`` of the
routine and of its exercises (a name outside these can never render)."""
_GLOBALS: Final = frozenset({"range", "phrase"})  # what every template may call
TEMPLATE_FIELDS: Final = ("say", "switch", "release", "each")
"""The step fields that are narration templates (a breath's ``say:`` is a mapping of
them: ``in``, ``hold``, ``out``, ``hold_out``)."""

_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DOUBLED = re.compile(r"(?:(?<=[^\W\d_])\.|([!?]))\.(?=\s|$)")
"""A word's full stop (or ``!``/``?``) and another after it: ``{{ name }}.`` with the name
``J.`` ("Good morning, J.."); not an ellipsis (``...``), nor ``1..5``."""


class Unset(jinja2.Undefined):
    """A variable without a value where a template runs (``name`` with no listener's name,
    ``side`` outside ``sides``): false in ``{% if %}``, empty when printed, and every
    printing is recorded on the rendering narrator, which reports it (an error when the
    variable can never be set there, else a warning with the fix)."""

    __slots__ = ("required",)

    def __init__(self, name: str, required: bool) -> None:
        super().__init__(name=name)
        self.required = required

    def __str__(self) -> str:
        rendering_now = RENDERING.narrators
        if rendering_now:
            rendering_now[-1].unset.append((str(self._undefined_name), self.required))
        return ""


def unset_message(name: str, required: bool) -> str:
    """Why printing an unset variable is wrong, and the fix."""
    if required:
        return (f"'{{{{ {name} }}}}' has no value here: {UNSET_WHERE.get(name, 'it is not set')}"
                f"; move the line there or write the words out")
    return (f"'{{{{ {name} }}}}' is empty when the track is built without a {name}; write "
            f"{{% if {name} %}}, {{{{ {name} }}}}{{% endif %}}")


class _Globals(Helpers):
    """The callables templates may call; they act for the narrator rendering."""

    def __init__(self, narrator: Narrator) -> None:
        self.narrator = narrator

    def range(self, *args: int) -> range:
        budget = current_budget()
        r = range(*args)
        budget.range_items += len(r)
        if budget.range_items > MAX_RANGE_ITEMS:
            raise SecurityError(f"range() is limited to {MAX_RANGE_ITEMS} items per phrase")
        return r

    def phrase(self, name: str) -> str:
        return self.narrator.phrase(name)


_ENV: Final = make_env()
"""One sandbox for every narrator: compiled templates are shared (compiling is the slow
part of rendering); each render passes its narrator's ``range`` and ``phrase``."""
_COMPILED: dict[str, jinja2.Template] = {}
MAX_COMPILED: Final = 4096


def clean_text(text: str) -> str:
    """Collapse whitespace, drop control characters and a full stop after a sentence's
    end (a name that ends in one, before the template's own)."""
    text = _WS.sub(" ", _CONTROL.sub("", text)).strip()
    return _DOUBLED.sub(lambda m: m.group(1) or ".", text)


class RenderBudgetError(TemplateError):
    """Every render of a routine's narration together took too long: the expansion
    stops at once (not one error per template left to render)."""


class Narrator:
    """Renders narration text with variables, shared phrases and deterministic variety."""

    def __init__(self, phrases: Mapping[str, str | Sequence[str]],
                 language: str = DEFAULT_LANGUAGE, spent: RenderTime | None = None) -> None:
        self.language = language
        self.spent = spent if spent is not None else RenderTime()
        """Seconds the renders of this narration (and of others sharing it) have taken."""
        """The language of the built-in phrases and of numbers in words."""
        self.phrases: dict[str, str | Sequence[str]] = {
            **get_language(language).phrases, **phrases}
        self.env = _ENV
        self.counters: dict[str, int] = {}  # each wording list's occurrences so far
        self._vars: Mapping[str, Any] = {}
        self._depth = 0
        self.unset: list[tuple[str, bool]] = []
        """Unset variables printed by the render in progress."""
        self.notes: list[str] = []
        """Warnings (``where: message``) from every render, shared with ``with_phrases``."""
        calls = _Globals(self)
        self._globals: dict[str, Any] = {"range": calls.range, "phrase": calls.phrase,
                                         **calls.helpers()}

    def with_phrases(self, phrases: Mapping[str, str | Sequence[str]]) -> Narrator:
        """A narrator sharing this one's variety counters, with extra phrases."""
        if not phrases:
            return self
        other = Narrator({**self.phrases, **phrases}, self.language, self.spent)
        other.counters = self.counters
        other.notes = self.notes
        return other

    def choose(self, variants: str | Sequence[str], key: str) -> str:
        """Pick the wording for this occurrence of ``key``: the first occurrence speaks the
        first-listed (full) wording, later ones rotate through the list in order, so
        consecutive occurrences differ, a short form never comes first, and reruns agree."""
        if isinstance(variants, str):
            return variants
        count = self.counters.get(key, 0)
        self.counters[key] = count + 1
        return variants[count % len(variants)]

    def phrase(self, name: str) -> str:
        """Render shared phrase ``name`` (called from templates as ``phrase('name')``)."""
        if name not in self.phrases:
            shown = name if len(name) <= 40 else name[:37] + "..."  # a name may be any text
            raise TemplateError(f"unknown phrase '{shown}'{suggest(name, self.phrases)}")
        if self._depth >= MAX_PHRASE_DEPTH:
            raise SecurityError("phrases nest too deeply")
        self._depth += 1
        try:
            source = self.choose(self.phrases[name], f"phrase:{name}")
            return self._render_source(source, self._vars)
        finally:
            self._depth -= 1

    def _render_source(self, source: str, variables: Mapping[str, Any]) -> str:
        template = _COMPILED.get(source)
        if template is None:
            if len(_COMPILED) > MAX_COMPILED:
                _COMPILED.clear()
            template = self.env.from_string(source)
            _COMPILED[source] = template
        parts: list[str] = []
        size = 0
        # streamed, so output past the limit is never joined
        for part in template.generate({**variables, **self._globals}):
            size += len(part)
            if size > MAX_RENDERED:
                raise SecurityError(f"rendered text is longer than {MAX_RENDERED} characters")
            parts.append(part)
        return "".join(parts)

    def render(
        self,
        text: str | Sequence[str],
        variables: Mapping[str, Any],
        key: str,
        where: Callable[[], str],
    ) -> str:
        """Render ``text`` (one wording chosen by ``key``) or raise :class:`TemplateError`
        prefixed with ``where()`` (``file:line:col: field``)."""
        source = self.choose(text, key)
        if "{" not in source:  # plain text: nothing to render
            if len(source) > MAX_RENDERED:
                raise TemplateError(f"{where()}: text is longer than {MAX_RENDERED} characters")
            return clean_text(source)
        if self.spent.seconds > TOTAL_RENDER_SECONDS:
            raise RenderBudgetError(f"{where()}: the narration's templates took more than "
                                f"{TOTAL_RENDER_SECONDS:g} s in all to render; keep narration "
                                "templates small")
        self._vars = variables
        budget = Budget()
        self.unset = []
        RENDERING.narrators.append(self)
        started = time.thread_time()
        try:
            with rendering(budget):
                out = self._render_source(source, variables)
        except TemplateError as exc:
            raise TemplateError(f"{where()}: {exc}") from None
        except jinja2.UndefinedError as exc:
            message = str(exc)
            match = re.match(r"'(\w+)' is undefined", message)
            unset = variables.get(match.group(1)) if match else None
            if match and isinstance(unset, Unset):  # used, not printed: `{{ side.upper() }}`
                raise TemplateError(
                    f"{where()}: {unset_message(match.group(1), unset.required)}") from None
            here = sorted(k for k, v in variables.items() if not isinstance(v, Unset)
                          or not v.required)  # not 'side' outside sides
            hint = suggest(match.group(1), here) if match else ""
            raise TemplateError(
                f"{where()}: template uses an undefined variable: {message}{hint};"
                f" available: {', '.join(here)}"
            ) from None
        except Unspeakable as exc:
            raise TemplateError(f"{where()}: template error: {exc}") from None
        except SecurityError as exc:
            raise TemplateError(f"{where()}: template refused by the sandbox: "
                                f"{refusal(str(exc))}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{where()}: template syntax error: "
                                f"{filter_hint(exc.message)}") from None
        except SyntaxError as exc:  # Python's compiler, on the template's code
            raise TemplateError(f"{where()}: template nested too deeply ({exc.msg}); keep "
                                "narration templates small") from None
        except TimeoutError:
            raise TemplateError(
                f"{where()}: template took longer than {budget.seconds:g} s to render; "
                "keep narration templates small"
            ) from None
        except MemoryError:
            raise TemplateError(f"{where()}: template needs too much memory") from None
        except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
            message = "include, import and extends are not allowed in narration" \
                if "no loader" in str(exc) else str(exc)
            raise TemplateError(f"{where()}: template error: {message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{where()}: template error: {exc}") from None
        except RecursionError:
            raise TemplateError(f"{where()}: template recursion too deep") from None
        finally:
            RENDERING.narrators.pop()
            self.spent.seconds += time.thread_time() - started
        used = list(dict.fromkeys(self.unset))
        errors = [unset_message(n, r) for n, r in used if r]
        if errors:
            raise TemplateError(f"{where()}: " + "; ".join(errors))
        self.notes.extend(f"{where()}: {unset_message(n, r)}" for n, r in used)
        return clean_text(out)


def filter_hint(message: str | None) -> str:
    """``message``; for "No filter named 'word'." the filter meant, and the others."""
    named = re.match(r"No filter named '([^']{1,40})'", message or "")
    if named is None:
        return message or ""
    names = sorted(n for n in _ENV.filters if not n.startswith("_"))
    return (f"no filter named '{named.group(1)}'{suggest(named.group(1), names)}; the "
            f"filters are {', '.join(names)}")


def template_problems(doc: Document, params: Iterable[str] = ()) -> list[str]:
    """The templates of a routine's or exercise's file that can render nowhere (a syntax
    error, a variable nothing sets; ``params``: set too), read from the file as written:
    ``validate`` says them with a structure's problems, a build those of branches its
    render did not take."""
    data = doc.data if isinstance(doc.data, dict) else {}
    known = set(NARRATION_VARIABLES) | set(_GLOBALS) | set(params) | _names(data)
    exercises = data.get("exercises")
    for exercise in exercises.values() if isinstance(exercises, dict) else ():
        known |= _names(exercise)
    problems: list[str] = []
    inside = set(UNSET_WHERE) | {"cycle", "cycles", "phase", "exercise"}  # in some steps
    available = (", ".join(sorted(known - _GLOBALS - inside)) + "; in the steps that set "
                 "them: " + ", ".join(sorted(inside)))

    def text(loc: Loc, value: Any, variables: bool = True) -> None:
        for i, source in enumerate(value if isinstance(value, list) else [value]):
            here = (*loc, i) if isinstance(value, list) else loc
            if not isinstance(source, str) or "{" not in source or len(source) > MAX_RENDERED:
                continue
            try:
                names = meta.find_undeclared_variables(_ENV.parse(source))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(doc.problem(here, "template syntax error: "
                                            + filter_hint(exc.message)))
                continue
            except RecursionError:
                problems.append(doc.problem(here, "template recursion too deep"))
                continue
            unknown = sorted(n for n in names - known if not n.startswith(HIDDEN_PREFIX))
            if unknown and variables:  # the first, where a render would stop
                problems.append(doc.problem(here, (
                    f"template uses an undefined variable: '{unknown[0]}' is undefined"
                    f"{suggest(unknown[0], known)}; available: {available}")))

    def walk(node: Any, loc: Loc) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(
            node if isinstance(node, list) else ())
        for key, value in items:
            if key in TEMPLATE_FIELDS and isinstance(value, dict):  # a breath's words
                for phase, words in value.items():
                    text((*loc, key, phase), words)
            elif key in TEMPLATE_FIELDS:
                text((*loc, key), value)
            elif isinstance(value, dict | list):
                walk(value, (*loc, key))

    walk(data.get("steps"), ("steps",))
    walk(exercises, ("exercises",))
    phrases = data.get("phrases")
    for key, value in phrases.items() if isinstance(phrases, dict) else ():
        text(("phrases", key), value, variables=False)  # phrase() gives them their own
    return problems  # said at most 20 at a time by their callers (io.models.capped)


def _names(data: Any) -> set[str]:
    """The parameter names a routine or an exercise (``data``) sets, at any level."""
    d = data if isinstance(data, dict) else {}
    levels = d.get("level_params")
    every = [d.get("params"), *(levels.values() if isinstance(levels, dict) else ())]
    return {k for p in every if isinstance(p, dict) for k in p if isinstance(k, str)}
